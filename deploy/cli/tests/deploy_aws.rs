//! `fusion deploy aws` against moto in server mode, a local emulator of AWS's APIs (S3, IAM and
//! the Lambda control plane), run as a user runs it: created once, unchanged on a second run, a
//! new setup changes only the memory it names, and `--destroy` removes everything.
//!
//! moto stores functions but does not run them, so the package holds a stand-in `bootstrap`;
//! that unmodified hosts serve and call each other in Lambda mode is `lambda.rs`'s part.


use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fusion_test_artifacts::project_dir;
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

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(moto_server()).args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Moto { child, url };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("moto_server did not start on {url}");
}

/// `fusion deploy aws …` against moto; its stdout.
fn deploy(moto: &Moto, bootstrap: &std::path::Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fusion"))
        .args(["deploy", "aws", "-f", project_dir("iot").as_str(), "--bucket", "fusion-deploy-test", "--region", "us-east-1", "--no-build"])
        .args(["--endpoint", &moto.url, "--host-binary"])
        .arg(bootstrap)
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "fusion deploy aws {extra:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn line_of<'a>(stdout: &'a str, function: &str) -> &'a str {
    stdout.lines().find(|l| l.trim_start().starts_with(&format!("{function} "))).unwrap_or_else(|| panic!("no line for {function}:\n{stdout}"))
}

/// What Lambda (moto) answers a GET of `path`: the JSON body, None for 404.
async fn lambda_get(moto: &Moto, path: &str) -> Option<serde_json::Value> {
    let client = AwsClient::new(SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "test")), "us-east-1", Duration::from_secs(30)).unwrap();
    let answer = client.send("lambda", "GET", &format!("{}{path}", moto.url), &[], Vec::new()).await.unwrap();
    match answer.status {
        // moto answers GetFunctionUrlConfig with 201.
        200 | 201 => Some(serde_json::from_slice::<serde_json::Value>(&answer.body).unwrap()),
        404 => None,
        other => panic!("GET {path}: {other}: {}", String::from_utf8_lossy(&answer.body)),
    }
}

/// A function's configuration as Lambda (moto) reports it; None once it is gone.
async fn configuration(moto: &Moto, name: &str) -> Option<serde_json::Value> {
    lambda_get(moto, &format!("/2015-03-31/functions/{name}")).await.map(|f| f["Configuration"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_creates_then_changes_only_what_differs_and_destroy_removes_it_all() {
    let moto = start_moto();
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = dir.path().join("bootstrap");
    std::fs::write(&bootstrap, "#!/bin/sh\n# a stand-in: moto stores functions but does not run them\n").unwrap();
    let tasks = ["I", "CW", "SE", "CT", "CS", "CA", "CSL", "CSA", "DJ", "AS"];

    let first = deploy(&moto, &bootstrap, &["--setup", "all-remote"]);
    assert!(first.contains("role fusion-iot-role: created"), "{first}");
    for task in tasks {
        assert!(line_of(&first, &format!("fusion-iot-{task}")).ends_with("created"), "{first}");
        let config = configuration(&moto, &format!("fusion-iot-{task}")).await.expect("the function exists");
        assert_eq!(config["Runtime"], "provided.al2023");
        assert_eq!(config["Handler"], "bootstrap");
        let env = &config["Environment"]["Variables"];
        assert_eq!((env["FUSION_APP"].as_str(), env["FUSION_FUNCTION"].as_str()), (Some("iot"), Some(task)), "{config}");
        assert_eq!(env["FUSION_STORE"], "s3://fusion-deploy-test/fusion/iot");
        assert_eq!(env["FUSION_ARTIFACT_KEY"].as_str().map(str::len), Some(64), "{config}");
    }
    let key = configuration(&moto, "fusion-iot-I").await.unwrap()["Environment"]["Variables"]["FUSION_ARTIFACT_KEY"].clone();

    // Idempotent: nothing differs, nothing changes, the artifact key is kept. The entry function
    // gets a public Function URL, the app's front door, and the permission anyone needs to call it.
    let second = deploy(&moto, &bootstrap, &["--url", "none"]);
    for task in tasks {
        assert!(line_of(&second, &format!("fusion-iot-{task}")).ends_with("unchanged"), "{second}");
    }
    let url = lambda_get(&moto, "/2021-10-31/functions/fusion-iot-I/url").await.expect("the entry function has a URL");
    assert_eq!(url["AuthType"], "NONE", "{url}");
    assert!(second.contains(&format!("front door: {}", url["FunctionUrl"].as_str().unwrap())), "{second}");
    let policy = lambda_get(&moto, "/2015-03-31/functions/fusion-iot-I/policy").await.expect("a resource policy");
    assert!(policy.to_string().contains("lambda:InvokeFunctionUrl"), "public invoke allowed: {policy}");
    assert!(lambda_get(&moto, "/2021-10-31/functions/fusion-iot-CW/url").await.is_none(), "only the entry function has a front door");
    assert_eq!(configuration(&moto, "fusion-iot-I").await.unwrap()["Environment"]["Variables"]["FUSION_ARTIFACT_KEY"], key);

    // A new setup: the functions whose memory it changes are reconfigured, no code is uploaded.
    let setup = dir.path().join("setup.json");
    std::fs::write(&setup, r#"{"app":"iot","functions":{"I":{"inline":["CW","SE"],"memory_mb":512},"CS":{"memory_mb":2048}}}"#).unwrap();
    let third = deploy(&moto, &bootstrap, &["--setup", setup.to_str().unwrap()]);
    for task in tasks {
        let expected = if matches!(task, "I" | "CS") { "updated (configuration)" } else { "unchanged" };
        assert!(line_of(&third, &format!("fusion-iot-{task}")).ends_with(expected), "{task}: {third}");
    }
    assert_eq!(configuration(&moto, "fusion-iot-I").await.unwrap()["MemorySize"], 512);
    assert_eq!(configuration(&moto, "fusion-iot-CS").await.unwrap()["MemorySize"], 2048);

    // --destroy removes the functions, the role and the store; a second one finds nothing.
    let destroyed = deploy(&moto, &bootstrap, &["--destroy"]);
    assert!(destroyed.contains("removed 10 functions, its role"), "{destroyed}");
    for task in tasks {
        assert!(configuration(&moto, &format!("fusion-iot-{task}")).await.is_none(), "{task} is gone");
    }
    assert!(lambda_get(&moto, "/2021-10-31/functions/fusion-iot-I/url").await.is_none(), "and the front door with it");
    let again = deploy(&moto, &bootstrap, &["--destroy"]);
    assert!(again.contains("removed 0 functions, no role, 0 objects"), "{again}");
}
