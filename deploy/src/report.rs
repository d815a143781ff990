//! What the CLI prints: endpoint tables, progress, load summaries, setup comparisons and
//! extracted call graphs.

use std::fmt::Write;
use std::time::Duration;

use fusion_host::FusionSetup;
use fusion_host::router::group;

use crate::cluster::ClusterState;
use crate::extract::{self, RequestReport, VersionReport};
use crate::loadgen::{Outcome, Profile, Progress};
use crate::stats::Summary;

/// A load run and what was extracted from its telemetry.
pub struct LoadResult {
    pub cluster: ClusterState,
    pub profile: Profile,
    pub rate: f64,
    pub outcomes: Vec<Outcome>,
    pub versions: Vec<VersionReport>,
}

impl LoadResult {
    pub fn latency(&self) -> Option<Summary> {
        let ok: Vec<Duration> = self.outcomes.iter().filter(|o| o.error.is_none()).map(|o| o.latency).collect();
        Summary::of(&ok)
    }

    pub fn errors(&self) -> usize {
        self.outcomes.iter().filter(|o| o.error.is_some()).count()
    }

    /// Mean over every extracted request of the run.
    pub fn per_request(&self, f: impl Fn(&RequestReport) -> f64) -> f64 {
        extract::mean(self.versions.iter().flat_map(|v| &v.requests), f)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn endpoint_table(state: &ClusterState, setup: &FusionSetup) -> String {
    let mut out = format!("app {} · setup {} ({}) · platform {}\n", state.app, state.setup, state.groups, state.platform);
    let _ = writeln!(out, "{:<22} {:>7}  {:<26} {}", "FUNCTION", "MEMORY", "URL", "TASKS");
    for (function, url) in &state.endpoints {
        let tasks: Vec<String> = group(setup, function).into_iter().collect();
        let _ = writeln!(out, "{function:<22} {:>4} MB  {url:<26} {}", setup.function(function).memory_mb, tasks.join(","));
    }
    out
}

/// One line, redrawn in place on stderr.
pub fn progress_bar(p: &Progress, total: Duration) {
    const WIDTH: usize = 30;
    let filled = ((p.elapsed.as_secs_f64() / total.as_secs_f64().max(1e-9)).min(1.0) * WIDTH as f64) as usize;
    eprint!(
        "\r[{}{}] {:>5.1}/{:.0} s  sent {:>5}  answered {:>5}  failed {:>3}",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled),
        p.elapsed.as_secs_f64(),
        total.as_secs_f64(),
        p.sent,
        p.done,
        p.failed
    );
}

pub fn load_summary(r: &LoadResult) -> String {
    let mut out = format!(
        "{} · {} ({}) · {}: {} requests, {:?} at {}/s, {} failed\n",
        r.cluster.app,
        r.cluster.setup,
        r.cluster.groups,
        r.cluster.platform,
        r.outcomes.len(),
        r.profile,
        r.rate,
        r.errors()
    );
    let served: Vec<String> = r.versions.iter().map(|v| format!("v{} ({} requests)", v.setup_version, v.requests.len())).collect();
    let _ = writeln!(out, "  setup        {}", served.join(", "));
    if let Some(s) = r.latency() {
        let _ = writeln!(out, "  latency      p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms", ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max));
    }
    let _ = writeln!(
        out,
        "  per request  cost ${:.3e}  invocations {:.2}  cold starts {:.2}",
        r.per_request(|q| q.cost),
        r.per_request(|q| q.invocations as f64),
        r.per_request(|q| q.cold_starts as f64)
    );
    for error in r.outcomes.iter().filter_map(|o| o.error.as_ref()).take(3) {
        let _ = writeln!(out, "  error: {error}");
    }
    out
}

/// A Markdown table comparing setups, as pasted into the README.
pub fn comparison(results: &[LoadResult]) -> String {
    let mut out = String::from("| setup | groups | p50 ms | p99 ms | cost per request | invocations | cold starts | failed |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        let (p50, p99) = r.latency().map_or((f64::NAN, f64::NAN), |s| (ms(s.p50), ms(s.p99)));
        let _ = writeln!(
            out,
            "| {} | {} | {p50:.1} | {p99:.1} | ${:.3e} | {:.2} | {:.2} | {} |",
            r.cluster.setup,
            r.cluster.groups,
            r.per_request(|q| q.cost),
            r.per_request(|q| q.invocations as f64),
            r.per_request(|q| q.cold_starts as f64),
            r.errors()
        );
    }
    out
}

/// The call graph and request statistics of one setup version.
pub fn version(v: &VersionReport) -> String {
    let mut out = format!("setup version {}: {} requests\n", v.setup_version, v.requests.len());
    let _ = writeln!(out, "  {:<40} {:>6} {:>6} {:>8} {:>11} {:>11}", "EDGE", "MODE", "HOP", "COUNT", "MEAN ms", "CPU ms");
    for e in &v.edges {
        let _ = writeln!(
            out,
            "  {:<40} {:>6} {:>6} {:>8} {:>11.2} {:>11.2}",
            format!("{} → {}", e.caller, e.callee),
            e.mode.as_str(),
            if e.remote { "remote" } else { "local" },
            e.count,
            e.mean_duration_us / 1000.0,
            e.mean_cpu_us / 1000.0
        );
    }
    let latencies: Vec<Duration> = v.requests.iter().map(|r| Duration::from_micros(r.latency_us)).collect();
    if let Some(s) = Summary::of(&latencies) {
        let _ = writeln!(out, "  latency (first start → root end)  p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms", ms(s.p50), ms(s.p95), ms(s.p99));
    }
    let _ = writeln!(
        out,
        "  per request  cost ${:.3e}  invocations {:.2}  cold starts {:.2}  failed {}",
        v.mean(|r| r.cost),
        v.mean(|r| r.invocations as f64),
        v.mean(|r| r.cold_starts as f64),
        v.requests.iter().filter(|r| r.failed).count()
    );
    out
}
