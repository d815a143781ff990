//! `fusion demo`: the main job on the embedded default. Per app, a cluster starts all-remote on
//! the embedded store; the optimizer loop measures, optimizes and hot-swaps until nothing
//! improves. Each loop is recorded in its project's `.fusion/loops/`, and the HTML report (what
//! `fusion report` renders) shows them all.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use fusion_cluster::{LocalCluster, store};
use fusion_host::{FusionSetup, Preset};
use fusion_optimizer::objective::Goal;
use fusion_project::Project;
use fusion_tune::{Request, Strategy, record, tuning_loop};

use crate::options::{BuildArg, PricingArg, SteadyLoadArgs};
use crate::output::Terminal;

/// `fusion demo`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// The projects to optimize, one after the other (default: this repository's IoT and Tree).
    #[arg(long, value_delimiter = ',', default_value = "tasks/iot,tasks/tree")]
    projects: Vec<PathBuf>,
    /// lambda: adds Lambda's hop and init delays; raw: Fusion's own overheads only.
    #[arg(long, default_value = "lambda")]
    platform: fusion_host::platform::Platform,
    /// What the pick optimizes: balanced, cost, latency or completion.
    #[arg(long, default_value = "balanced")]
    objective: fusion_optimizer::objective::Objective,
    #[command(flatten)]
    load: SteadyLoadArgs,
    /// The loop's iterations at most, per app.
    #[arg(long, default_value_t = 5)]
    max_iterations: usize,
    #[command(flatten)]
    pricing: PricingArg,
    /// Where the HTML report goes (default: .fusion/demo.html in the current folder).
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    build: BuildArg,
}

/// Runs the loop for every project and writes the report.
pub async fn run(args: Args) -> Result<()> {
    let projects = args.projects.iter().map(|p| Project::open(p)).collect::<Result<Vec<_>>>()?;
    let report_path = args.report.unwrap_or_else(|| PathBuf::from(".fusion/demo.html"));
    let load = args.load.spec(Duration::from_secs(8))?;
    let platform = args.platform;
    let mut reports = Vec::new();
    for project in &projects {
        super::build::unless_skipped(project, args.build).await?;
        let app = project.name();
        let manifest = fusion_cluster::app_manifest(project);
        let start = FusionSetup::preset(Preset::AllRemote, app, &manifest.task_names(), &manifest.entry);
        let cluster = LocalCluster::start(project, &project.cluster_dir(), &start, "all-remote", platform, store::open(project).await?).await?;
        println!(
            "\n{app}: {} hosts up, all-remote, platform {platform}; optimizing at {} req/s, {:.0} s per measurement",
            cluster.state.endpoints.len(),
            load.rate,
            load.duration.as_secs_f64()
        );
        let request = Request {
            strategy: Strategy::Model,
            goal: Goal::of(args.objective),
            version: None,
            platform: None,
            pricing: args.pricing.pricing,
            traffic: None,
            apply: true,
        };
        let report = tuning_loop::run(project, cluster.store(), &request, &load, args.max_iterations, &Terminal::Results).await;
        cluster.stop();
        let report = report?;
        super::optimize::print_best(&report);
        super::optimize::print_recorded(&record::save(project, &report)?);
        reports.push(report);
    }
    super::report::write(&report_path, &reports)?;
    println!("\nreport: {}", report_path.display());
    Ok(())
}
