//! `fusion run`: requests against an app in one process.

use anyhow::Result;
use fusion_measure::calltree;
use fusion_measure::in_process::{self, RunReport};
use fusion_measure::stats::Summary;
use fusion_cluster::resolve_setup;
use fusion_project::Project;

use crate::options::{BuildArg, PayloadArgs};
use crate::output::ms;

/// `fusion run`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// all-remote, all-local, a setup shipped with the app (e.g. fusionize-optimum) or a JSON file.
    #[arg(long, default_value = "all-local")]
    setup: String,
    /// Requests to send, one after the other (one that times out ends the run).
    #[arg(long, default_value_t = 10)]
    requests: usize,
    #[command(flatten)]
    payload: PayloadArgs,
    #[command(flatten)]
    build: BuildArg,
}

/// Runs the requests and prints latencies, the last response and its call tree.
pub async fn run(project: &Project, args: Args) -> Result<()> {
    super::build::unless_skipped(project, args.build).await?;
    let payload = args.payload.body()?;
    let app = project.name();
    let manifest = fusion_cluster::app_manifest(project);
    let setup = resolve_setup(project, &args.setup)?;
    println!("app {app}: {} tasks, setup {} ({})", manifest.tasks.len(), setup.created_by, setup.describe());
    let report = in_process::run(project, setup, fusion_host::RuntimeConfig::default(), args.requests, &payload).await?;
    print_report(&report);
    Ok(())
}

fn print_report(report: &RunReport) {
    if let Some(s) = Summary::of(&report.latencies) {
        println!(
            "{} requests, {} errors: p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            s.count,
            report.errors.len(),
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            ms(s.max)
        );
    }
    for err in report.errors.iter().take(3) {
        println!("  error: {err}");
    }
    if report.not_sent > 0 {
        println!("stopped after a timeout: {} more requests not sent, each would wait as long (`timeout_s` in fusion.toml)", report.not_sent);
    }
    if let Some(response) = &report.last_response {
        let text = String::from_utf8_lossy(response);
        let cut: String = text.chars().take(400).collect();
        println!("response: {cut}{}", if cut.len() < text.len() { "…" } else { "" });
    }
    if let Some(trace) = report.trace_ids.last() {
        println!("\ncall tree of the last request (trace {trace}):");
        print!("{}", calltree::render(&report.records, trace));
    }
}
