//! `fusion demo` end to end: a cluster on the embedded store, the optimizer loop measuring,
//! optimizing and hot-swapping, and the HTML report.


use std::process::Command;
use crate::support;

#[test]
fn the_demo_optimizes_iot_and_writes_its_report() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("demo.html");
    let out = Command::new(env!("CARGO_BIN_EXE_fusion"))
        .args(["demo", "--projects", fusion_test_artifacts::project_dir("iot").as_str(), "--duration", "2s", "--max-iterations", "3", "--no-build", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // Iteration rows: number, version, measured p50, …
    let p50s: Vec<f64> = stdout
        .lines()
        .filter(|l| l.split_whitespace().next().is_some_and(|w| w.parse::<usize>().is_ok()))
        .map(|l| l.split_whitespace().nth(2).unwrap().parse().unwrap())
        .collect();
    assert!(p50s.len() >= 2, "the start and at least one optimized setup: {stdout}");
    assert!(p50s[1] < p50s[0] / 2.0, "with Lambda's hop costs, the model's first pick is much faster than all-remote: {stdout}");
    assert!(stdout.contains("best: v"), "{stdout}");
    let html = std::fs::read_to_string(&report).unwrap();
    for chart in ["pareto", "ecdf", "cost", "graph-start", "graph-best"] {
        assert!(html.contains(&format!("id=\"iot-{chart}\"")), "the report has its {chart} chart");
    }
    assert!(html.contains("<b>best</b>"), "the best iteration is marked");
    assert!(stdout.contains("loop recorded: "), "the loop is kept for `fusion report`: {stdout}");
}
