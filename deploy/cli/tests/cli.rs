//! The `fusion` binary end to end: build, run an application, print latencies and a call tree.

use std::process::Command;

use fusion_test_artifacts::project_dir;

fn fusion(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fusion")).args(args).output().expect("fusion runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn fusion_run_prints_a_summary_and_the_call_tree() {
    let (ok, stdout, stderr) = fusion(&["run", "-f", project_dir("tree").as_str(), "--setup", "fusionize-optimum", "--requests", "2", "--size", "small"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("2 requests, 0 errors"), "{stdout}");
    // A, B, D, E share F(A); C, F and G each run in their own function.
    for line in ["A sync new invocation of F(A)", "B sync in F(A)", "D sync in F(A)", "E sync in F(A)", "C async new invocation of F(C)", "G async new invocation of F(G)"] {
        assert!(stdout.contains(line), "missing '{line}' in\n{stdout}");
    }
}

#[test]
fn fusion_run_refuses_an_unknown_setup() {
    let (ok, _, stderr) = fusion(&["run", "-f", project_dir("iot").as_str(), "--setup", "no-such-setup", "--no-build"]);
    assert!(!ok);
    assert!(stderr.contains("'no-such-setup' is neither all-remote, all-local"), "{stderr}");
}
