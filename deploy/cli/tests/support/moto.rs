//! moto in server mode, the local emulator of AWS's APIs (S3, IAM, the Lambda control plane)
//! that `fusion deploy aws` is tested against.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fusion_lambda::aws_api::AwsClient;

const MOTO: &str = "moto[server]==5.2.1";

/// moto's server, from PATH or installed from PyPI into the user's toolchain cache.
fn moto_server() -> PathBuf {
    if Command::new("moto_server").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success()) {
        return PathBuf::from("moto_server");
    }
    let venv = fusion_project::toolchains_dir().join("moto");
    let program = venv.join("bin/moto_server");
    if !program.is_file() {
        assert!(Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap().success(), "python3 -m venv");
        let pip = Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", MOTO]).status().unwrap();
        assert!(pip.success(), "pip install {MOTO}");
    }
    program
}

/// A running moto server, stopped when dropped.
pub struct Moto {
    child: Child,
    /// Holds the stand-in host binary `deploy` packages.
    scratch: tempfile::TempDir,
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it listens.
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(moto_server()).args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let moto = Moto { child, scratch: tempfile::tempdir().unwrap(), url: format!("http://127.0.0.1:{port}") };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto_server did not start on {}", moto.url);
    }

    /// `fusion deploy aws ARGS` against this moto, in `dir`, with moto's test credentials and a
    /// stand-in host binary (moto stores functions but does not run them); its stdout.
    pub fn deploy(&self, dir: &std::path::Path, args: &[&str]) -> String {
        let bootstrap = self.scratch.path().join("bootstrap");
        std::fs::write(&bootstrap, "#!/bin/sh\n# a stand-in: moto stores functions but does not run them\n").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_fusion"))
            .args(["deploy", "aws", "--region", "us-east-1", "--endpoint", &self.url, "--host-binary"])
            .arg(&bootstrap)
            .args(args)
            .current_dir(dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "fusion deploy aws {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    /// What Lambda (moto) answers a GET of `path`: the JSON body, None for 404.
    pub async fn lambda_get(&self, path: &str) -> Option<serde_json::Value> {
        let client = AwsClient::new(SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "test")), "us-east-1", Duration::from_secs(30)).unwrap();
        let answer = client.send("lambda", "GET", &format!("{}{path}", self.url), &[], Vec::new()).await.unwrap();
        match answer.status {
            // moto answers GetFunctionUrlConfig with 201.
            200 | 201 => Some(serde_json::from_slice::<serde_json::Value>(&answer.body).unwrap()),
            404 => None,
            other => panic!("GET {path}: {other}: {}", String::from_utf8_lossy(&answer.body)),
        }
    }

    /// A function's configuration as Lambda (moto) reports it; None once it is gone.
    pub async fn configuration(&self, name: &str) -> Option<serde_json::Value> {
        self.lambda_get(&format!("/2015-03-31/functions/{name}")).await.map(|f| f["Configuration"].clone())
    }
}
