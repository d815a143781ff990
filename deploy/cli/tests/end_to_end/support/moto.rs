//! moto in server mode, the local emulator of AWS's APIs (S3, IAM, the Lambda control plane,
//! DynamoDB) that `fusion deploy aws` is tested against.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fusion_store::aws_api::AwsClient;

const MOTO: &str = "moto[server]==5.2.1";

/// A Python with moto: the one on PATH if it has moto, else a venv with moto from PyPI in the
/// user's toolchain cache.
fn moto_python() -> PathBuf {
    let has_moto = |python: &str| Command::new(python).args(["-c", "import moto.server"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if has_moto("python3") {
        return PathBuf::from("python3");
    }
    super::python_venv("moto", MOTO).join("bin/python")
}

/// A running moto server, stopped when dropped.
pub struct Moto {
    _server: super::Killed,
    /// Holds the stand-in host binary `deploy` packages.
    scratch: tempfile::TempDir,
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Moto {
    /// Starts moto on a free loopback port (through `moto_server.py`, which makes DynamoDB's
    /// conditional writes atomic as they are on AWS) and waits until it listens.
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/end_to_end/support/moto_server.py");
        let child = Command::new(moto_python()).arg(script).args(["127.0.0.1", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let moto = Moto { _server: super::Killed(child), scratch: tempfile::tempdir().unwrap(), url: format!("http://127.0.0.1:{port}") };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto did not start on {}", moto.url);
    }

    /// `fusion deploy aws ARGS` against this moto, in `dir`, with moto's test credentials and a
    /// stand-in host binary (moto stores functions but does not run them); its stdout.
    pub fn deploy(&self, dir: &std::path::Path, args: &[&str]) -> String {
        let out = self.try_deploy(dir, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "fusion deploy aws {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    /// `deploy` in us-east-1, whether it succeeds or not.
    pub fn try_deploy(&self, dir: &std::path::Path, args: &[&str]) -> Output {
        self.deploy_command(dir, args).args(["--region", "us-east-1"]).output().unwrap()
    }

    /// `fusion deploy aws ARGS` as `deploy` runs it, with no region given or configured (no
    /// `--region`, no region variables, no AWS config file).
    pub fn deploy_command(&self, dir: &std::path::Path, args: &[&str]) -> Command {
        let bootstrap = self.scratch.path().join("bootstrap");
        std::fs::write(&bootstrap, "#!/bin/sh\n# a stand-in: moto stores functions but does not run them\n").unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_fusion"));
        command
            .args(["deploy", "aws", "--endpoint", &self.url, "--host-binary"])
            .arg(&bootstrap)
            .args(args)
            .current_dir(dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", self.scratch.path().join("no-config"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION");
        command
    }

    /// A client signing for us-east-1 with moto's test credentials.
    pub fn client(&self) -> AwsClient {
        self.client_in("us-east-1")
    }

    /// A client signing for `region` (moto keeps each region's resources apart, by the region
    /// requests are signed for).
    pub fn client_in(&self, region: &str) -> AwsClient {
        AwsClient::new(SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "test")), region, Duration::from_secs(30)).unwrap()
    }

    /// What Lambda (moto) answers a GET of `path` in us-east-1: the JSON body, None for 404.
    pub async fn lambda_get(&self, path: &str) -> Option<serde_json::Value> {
        self.lambda_get_in("us-east-1", path).await
    }

    /// What Lambda (moto) answers a GET of `path` in `region`: the JSON body, None for 404.
    pub async fn lambda_get_in(&self, region: &str, path: &str) -> Option<serde_json::Value> {
        let answer = self.client_in(region).send("lambda", "GET", &format!("{}{path}", self.url), &[], Vec::new()).await.unwrap();
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

    /// What DynamoDB (moto) answers `action` (`DescribeTable`, …) with `body`: the JSON answer,
    /// None for a ResourceNotFoundException.
    pub async fn dynamodb(&self, action: &str, body: serde_json::Value) -> Option<serde_json::Value> {
        let target = format!("DynamoDB_20120810.{action}");
        let headers = [("content-type", "application/x-amz-json-1.0"), ("x-amz-target", target.as_str())];
        let answer = self.client().send("dynamodb", "POST", &self.url, &headers, serde_json::to_vec(&body).unwrap()).await.unwrap();
        let text = String::from_utf8_lossy(&answer.body);
        match answer.status {
            200 => Some(serde_json::from_slice(&answer.body).unwrap()),
            400 if text.contains("ResourceNotFoundException") => None,
            other => panic!("DynamoDB {action}: {other}: {text}"),
        }
    }

    /// The inline policy `policy` of IAM role `role` as IAM (moto) has it; None if there is none.
    pub async fn role_policy(&self, role: &str, policy: &str) -> Option<serde_json::Value> {
        let form = format!("Action=GetRolePolicy&Version=2010-05-08&RoleName={role}&PolicyName={policy}");
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
        let answer = self.client().send("iam", "POST", &self.url, &headers, form.into_bytes()).await.unwrap();
        let text = String::from_utf8_lossy(&answer.body);
        if answer.status == 404 || text.contains("<Code>NoSuchEntity</Code>") {
            return None;
        }
        assert_eq!(answer.status, 200, "IAM GetRolePolicy: {text}");
        // The document is URL-encoded in the XML: decode it as a query's value.
        let encoded = text.split("<PolicyDocument>").nth(1).and_then(|rest| rest.split("</PolicyDocument>").next()).expect("a PolicyDocument");
        let query = reqwest::Url::parse(&format!("http://decode/?document={}", encoded.trim())).unwrap();
        let document = query.query_pairs().next().expect("the document").1.into_owned();
        Some(serde_json::from_str(&document).unwrap())
    }
}
