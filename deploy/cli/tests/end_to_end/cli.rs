//! The `fusion` binary end to end: build, run an application, print latencies and a call tree.

use crate::support;

use fusion_test_artifacts::project_dir;
use support::{failed, fusion, ok};

#[test]
fn fusion_run_prints_a_summary_and_the_call_tree() {
    let _machine = support::shared();
    let stdout = ok(&fusion(&["run", "-f", project_dir("tree").as_str(), "--setup", "fusionize-optimum", "--requests", "2", "--size", "small"]));
    assert!(stdout.contains("2 requests, 0 errors"), "{stdout}");
    // A, B, D, E share F(A); C, F and G each run in their own function.
    for line in ["A sync new invocation of F(A)", "B sync in F(A)", "D sync in F(A)", "E sync in F(A)", "C async new invocation of F(C)", "G async new invocation of F(G)"] {
        assert!(stdout.contains(line), "missing '{line}' in\n{stdout}");
    }
}

#[test]
fn fusion_run_refuses_an_unknown_setup() {
    let _machine = support::shared();
    let stderr = failed(&fusion(&["run", "-f", project_dir("iot").as_str(), "--setup", "no-such-setup", "--no-build"]));
    assert!(stderr.contains("'no-such-setup' is neither all-remote, all-local"), "{stderr}");
}

#[test]
fn fusion_run_stops_at_a_timeout_instead_of_waiting_it_out_for_every_request() {
    let _machine = support::shared();
    // A project of one runaway task (the testkit's `spin`, built) whose function times out after 1 s.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fusion.toml"), "name = \"runaway\"\nentry = \"spin\"\n\n[tasks.spin]\nrust = \"spin\"\ntimeout_s = 1\n").unwrap();
    let components = dir.path().join(".fusion/components");
    std::fs::create_dir_all(&components).unwrap();
    std::fs::copy(format!("{}/.fusion/components/spin.wasm", project_dir("testkit")), components.join("spin.wasm")).unwrap();
    let stdout = ok(&fusion(&["run", "-f", dir.path().to_str().unwrap(), "--no-build", "--requests", "5"]));
    assert!(stdout.contains("1 requests, 1 errors"), "{stdout}");
    assert!(stdout.contains("error: timeout: task 'spin' ran past its function's timeout of 1s"), "{stdout}");
    assert!(stdout.contains("stopped after a timeout: 4 more requests not sent"), "{stdout}");
}
