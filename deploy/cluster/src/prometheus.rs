//! A Prometheus configuration that scrapes every host of a running cluster (`fusion up
//! --prometheus FILE`): `prometheus --config.file FILE` then has the cluster's metrics.

use std::fmt::Write;

use crate::state::ClusterState;

/// How often Prometheus scrapes the hosts: often, since a local cluster is cheap to scrape and
/// short runs should still show in `rate()` windows.
pub const SCRAPE_INTERVAL: &str = "2s";

/// The configuration: one job for the app, a target per host (each serves `/metrics` on its
/// call listener), labelled with the app; every metric already has a `function` label.
pub fn scrape_config(state: &ClusterState) -> String {
    let mut yaml = format!(
        "# Written by `fusion up` for app {app}: scrapes every host of its running cluster.\n\
         global:\n  scrape_interval: {SCRAPE_INTERVAL}\n  evaluation_interval: {SCRAPE_INTERVAL}\n\
         scrape_configs:\n  - job_name: fusion-{app}\n    metrics_path: /metrics\n    static_configs:\n      - labels: {{fusion_app: \"{app}\"}}\n        targets:\n",
        app = state.app
    );
    for url in state.endpoints.values() {
        let _ = writeln!(yaml, "          - \"{}\"", url.trim_start_matches("http://").trim_end_matches('/'));
    }
    yaml
}
