//! The `fusion-host` binary refuses bad input with a clear message and exit code 2.

use std::process::Command;

fn fusion_host(dir: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fusion-host"))
        .args(["run", "--app", "app.json", "--components", ".", "--artifacts", "artifacts"])
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("fusion-host runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn app_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.json"), r#"{"app":"demo","entry":"A","tasks":{"A":"a"}}"#).unwrap();
    dir
}

#[test]
fn a_file_that_is_not_a_component_is_named_in_the_error() {
    let dir = app_dir();
    std::fs::write(dir.path().join("a.wasm"), b"definitely not wasm").unwrap();
    let (code, stderr) = fusion_host(dir.path(), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("a.wasm") && stderr.contains("not a WebAssembly file"), "{stderr}");
}

#[test]
fn a_missing_component_is_reported_before_anything_runs() {
    let dir = app_dir();
    let (code, stderr) = fusion_host(dir.path(), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("component of task 'A' is missing"), "{stderr}");
}

#[test]
fn a_bad_setup_is_refused() {
    let dir = app_dir();
    std::fs::write(dir.path().join("setup.json"), r#"{"app":"demo","functions":{"A":{"inline":["B"]}}}"#).unwrap();
    let (code, stderr) = fusion_host(dir.path(), &["--setup", "setup.json"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("inlines unknown task 'B'"), "{stderr}");
}
