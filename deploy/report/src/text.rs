//! What the CLI prints: endpoint tables, progress, load summaries, setup comparisons and
//! extracted call graphs.

use std::fmt::Write;
use std::time::Duration;

use fusion_host::FusionSetup;
use fusion_host::router::group;

use fusion_cluster::ClusterState;
use fusion_measure::extract::{RequestReport, VersionReport};
use fusion_measure::stats::Summary;
use fusion_measure::LoadResult;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A time of a request, µs: its latency or its completion time.
type Micros = fn(&RequestReport) -> u64;

/// The percentiles of `us` over `requests`.
fn summary<'a>(requests: impl IntoIterator<Item = &'a RequestReport>, us: Micros) -> Option<Summary> {
    Summary::of(&requests.into_iter().map(|r| Duration::from_micros(us(r))).collect::<Vec<_>>())
}

/// The cluster's functions: memory size, URL and the tasks each runs under `setup`.
pub fn endpoint_table(state: &ClusterState, setup: &FusionSetup) -> String {
    let mut out = format!("app {} · setup {} ({}) · platform {}\n", state.app, state.setup, state.groups, state.platform);
    let _ = writeln!(out, "{:<22} {:>7}  {:<26} TASKS", "FUNCTION", "MEMORY", "URL");
    for (function, url) in &state.endpoints {
        let tasks: Vec<String> = group(setup, function).into_iter().collect();
        let _ = writeln!(out, "{function:<22} {:>4} MB  {url:<26} {}", setup.function(function).memory_mb, tasks.join(","));
    }
    out
}

/// A load run in a few lines: requests, latency and completion percentiles, cost, invocations,
/// cold starts.
pub fn load_summary(r: &LoadResult) -> String {
    // The cluster's starting setup names the run only if that version served all of it: after a
    // hot swap the versions that served say what ran.
    let started_with = r.cluster.setup_version;
    let setup = if r.versions.iter().all(|v| v.setup_version == started_with) {
        format!("{} ({})", r.cluster.setup, r.cluster.groups)
    } else {
        let versions: Vec<String> = r.versions.iter().map(|v| format!("v{}", v.setup_version)).collect();
        format!("setup {} (swapped since it started with {} v{started_with})", versions.join(", "), r.cluster.setup)
    };
    let mut out = format!(
        "{} · {} · {}: {} requests, {:?} at {}/s, {} failed\n",
        r.cluster.app,
        setup,
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
    // Until all of a request's work (async included) ended, as its telemetry says.
    if let Some(s) = summary(r.versions.iter().flat_map(|v| &v.requests), |q| q.completion_us) {
        let _ = writeln!(out, "  completion   p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms", ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max));
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
    let times: [(&str, Micros); 2] = [("latency (first start → root end)", |r| r.latency_us), ("completion (first start → last end)", |r| r.completion_us)];
    for (label, us) in times {
        if let Some(s) = summary(&v.requests, us) {
            let _ = writeln!(out, "  {label:<35}  p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms", ms(s.p50), ms(s.p95), ms(s.p99));
        }
    }
    let _ = writeln!(
        out,
        "  per request  cost ${:.3e}  invocations {:.2}  cold starts {:.2}  failed {}",
        v.mean(|r| r.cost),
        v.mean(|r| r.invocations as f64),
        v.mean(|r| r.cold_starts as f64),
        v.requests.iter().filter(|r| r.failed).count()
    );
    let _ = writeln!(out, "  {:<20} {:>10} {:>12} {:>12} {:>12} {:>14}", "MEMORY BY FUNCTION", "SIZE MB", "INVOCATIONS", "MAX USED MB", "P95 USED MB", "OUT OF MEMORY");
    for m in &v.memory {
        let _ = writeln!(out, "  {:<20} {:>10} {:>12} {:>12} {:>12} {:>14}", m.function, m.memory_mb, m.invocations, m.max_mb, m.p95_mb, m.out_of_memory);
    }
    out
}
