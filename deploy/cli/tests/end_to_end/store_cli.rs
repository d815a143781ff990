//! `fusion push` and `fusion setup …` against a real S3 endpoint (an embedded server owned by the
//! test), reached the way a user reaches AWS: FUSION_S3_* plus the standard AWS credential
//! variables.


use std::process::Command;

use fusion_test_artifacts::project_dir;
use fusion_store::embedded::EmbeddedS3;
use crate::support;

fn fusion(s3: &EmbeddedS3, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fusion"))
        .args(args)
        .env("FUSION_S3_BUCKET", "cli-test")
        .env("FUSION_S3_ENDPOINT", &s3.endpoint)
        .env("AWS_ACCESS_KEY_ID", &s3.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
        .env("AWS_REGION", "eu-west-2")
        .output()
        .expect("fusion runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_apply_history_and_rollback_through_the_cli() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    // In a region other than the default: the CLI signs for the one the environment names.
    let s3 = EmbeddedS3::start(dir.path(), "127.0.0.1:0", "cli-key", "cli-secret", "eu-west-2").await.unwrap();

    let (ok, out) = fusion(&s3, &["setup", "apply", "all-remote", "-f", project_dir("tree").as_str()]);
    assert!(!ok && out.contains("run `fusion push` first"), "a setup needs pushed components: {out}");

    let (ok, out) = fusion(&s3, &["push", "-f", project_dir("tree").as_str(), "--no-build"]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("uploaded").count(), 7, "{out}");
    let (ok, out) = fusion(&s3, &["push", "-f", project_dir("tree").as_str(), "--no-build"]);
    assert!(ok && out.matches("unchanged").count() == 7, "pushing again uploads nothing: {out}");

    assert!(fusion(&s3, &["setup", "apply", "all-remote", "-f", project_dir("tree").as_str()]).0);
    let (ok, out) = fusion(&s3, &["setup", "apply", "fusionize-optimum", "-f", project_dir("tree").as_str()]);
    assert!(ok && out.contains("setup version 2 is current ({A,B,D,E})"), "{out}");
    let (ok, out) = fusion(&s3, &["setup", "rollback", "-f", project_dir("tree").as_str()]);
    assert!(ok && out.contains("setup version 1 is current again"), "{out}");
    let (ok, out) = fusion(&s3, &["setup", "history", "-f", project_dir("tree").as_str()]);
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("* v1") && lines[1].starts_with("  v2"), "{out}");
    let (ok, out) = fusion(&s3, &["setup", "show", "-f", project_dir("tree").as_str()]);
    let shown: serde_json::Value = serde_json::from_str(&out).expect("the setup as JSON");
    assert!(ok && shown["version"] == 1 && shown["components"]["G"].as_str().unwrap().starts_with("sha256:"), "{out}");
    let (ok, out) = fusion(&s3, &["setup", "apply", "no-such-setup", "-f", project_dir("tree").as_str()]);
    assert!(!ok && out.contains("no-such-setup"), "{out}");

    // Oversized documents and fields are refused before anything is stored.
    let huge = dir.path().join("huge.json");
    let padding = " ".repeat(10 << 20);
    std::fs::write(&huge, format!(r#"{{"app":"tree","functions":{{}}{padding}}}"#)).unwrap();
    let (ok, out) = fusion(&s3, &["setup", "apply", huge.to_str().unwrap(), "-f", project_dir("tree").as_str()]);
    assert!(!ok && out.contains("at most 262144 are accepted"), "{out}");
    let chatty = dir.path().join("chatty.json");
    std::fs::write(&chatty, format!(r#"{{"app":"tree","created_by":"{}","functions":{{}}}}"#, "x".repeat(10_000))).unwrap();
    let (ok, out) = fusion(&s3, &["setup", "apply", chatty.to_str().unwrap(), "-f", project_dir("tree").as_str()]);
    assert!(!ok && out.contains("created_by is 10000 characters"), "{out}");
    let (ok, out) = fusion(&s3, &["setup", "history", "-f", project_dir("tree").as_str()]);
    assert!(ok && out.lines().count() == 2 && out.len() < 1000, "nothing was added: {out}");
}

/// Without keys in the environment, the CLI takes credentials from the rest of AWS's standard
/// chain: here the container credentials endpoint (as on ECS), served by
/// the test, fetched through Fusion's own HTTP client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_the_standard_chain_when_no_keys_are_set() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let s3 = EmbeddedS3::start(dir.path(), "127.0.0.1:0", "role-key", "role-secret", "us-east-1").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/credentials", listener.local_addr().unwrap());
    let body = r#"{"AccessKeyId":"role-key","SecretAccessKey":"role-secret","Token":"session","Expiration":"2099-01-01T00:00:00Z"}"#;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let served = tokio::spawn(serve_credentials(listener, body, stopped));
    let (ok, out) = push_with_the_chain(dir.path(), &s3.endpoint, &endpoint).await;
    assert!(ok && out.matches("uploaded").count() == 7, "{out}");
    stop.send(()).unwrap();
    let requests = served.await.unwrap();
    // Fetched once and kept until they are about to expire, not fetched for every signed request.
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].contains("container-token"), "the chain sends the container's token: {requests:?}");

    // A chain with nothing to offer (the endpoint is gone) fails with the reason, uploading nothing.
    let (ok, out) = push_with_the_chain(dir.path(), &s3.endpoint, "http://127.0.0.1:9/credentials").await;
    assert!(!ok && out.contains("credentials") && !out.contains("uploaded"), "{out}");
}

/// `fusion push` of Tree to the store at `s3`, with no AWS keys or profile in its environment and
/// the container credentials endpoint at `credentials`.
async fn push_with_the_chain(home: &std::path::Path, s3: &str, credentials: &str) -> (bool, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fusion"));
    command.args(["push", "-f", project_dir("tree").as_str(), "--no-build"]);
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
        command.env_remove(name);
    }
    let out = command
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", credentials)
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token")
        .env("FUSION_S3_BUCKET", "chain-test")
        .env("FUSION_S3_ENDPOINT", s3)
        .env("AWS_REGION", "us-east-1")
        .output()
        .await
        .expect("fusion runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Answers every request on `listener` with the credentials `body` until `stop`; returns the
/// requests' heads.
async fn serve_credentials(listener: tokio::net::TcpListener, body: &'static str, mut stop: tokio::sync::oneshot::Receiver<()>) -> Vec<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut heads = Vec::new();
    loop {
        let mut socket = tokio::select! {
            _ = &mut stop => return heads,
            accepted = listener.accept() => accepted.unwrap().0,
        };
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        heads.push(String::from_utf8_lossy(&head).into_owned());
        let answer = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        let _ = socket.write_all(answer.as_bytes()).await;
    }
}
