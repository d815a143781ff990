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
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("fusion runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_apply_history_and_rollback_through_the_cli() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let s3 = EmbeddedS3::start(dir.path(), "127.0.0.1:0", "cli-key", "cli-secret").await.unwrap();

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
