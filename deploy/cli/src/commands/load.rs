//! `fusion load`: an open-loop workload against the app's running cluster, or a fresh cluster
//! per setup, and what its telemetry says.

use std::time::Duration;

use anyhow::Result;
use fusion_cluster::{ClusterState, LocalCluster, store};
use fusion_measure::load::{LoadSpec, Profile};
use fusion_measure::mix::Mix;
use fusion_measure::{LoadResult, measure};
use fusion_optimizer::pricing::Pricing;
use fusion_cluster::resolve_setup;
use fusion_project::Project;
use fusion_report::text;

use crate::options::{BuildArg, PayloadArgs, PlatformArg, PricingArg, parse_duration};
use crate::output::{draws_progress, progress_bar};

/// `fusion load`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// Setups to measure, comma-separated, each on a fresh cluster. Without it, the running
    /// `fusion up` cluster of the app is used, or all-remote.
    #[arg(long, value_delimiter = ',')]
    setup: Vec<String>,
    /// Requests per second (the peak rate for the bursty profile).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// How long to send: 30s, 2m, 500ms.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// The workload's shape: steady, bursty or cold.
    #[arg(long, default_value = "steady")]
    profile: Profile,
    #[command(flatten)]
    platform: PlatformArg,
    #[command(flatten)]
    payload: PayloadArgs,
    /// Replay a weighted mix of requests instead of one payload: a JSON file
    /// `[{"weight": 8, "payload": {...}}, ...]`.
    #[arg(long, value_name = "FILE", conflicts_with = "payload")]
    mix: Option<std::path::PathBuf>,
    #[command(flatten)]
    pricing: PricingArg,
    #[command(flatten)]
    build: BuildArg,
}

/// Measures the running cluster, or each setup on a cluster of its own.
pub async fn run(project: &Project, args: Args) -> Result<()> {
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let payload = match &args.mix {
        Some(file) => Mix::load(file)?,
        None => Mix::single(args.payload.body()?),
    };
    let spec = LoadSpec { rate: args.rate, duration: args.duration, profile: args.profile, payload };
    let pricing = args.pricing.pricing;
    if let (true, Some(state)) = (args.setup.is_empty(), ClusterState::running(&project.cluster_dir())) {
        print!("{}", text::load_summary(&measured(&state, &spec, pricing).await?));
        return Ok(());
    }
    super::build::unless_skipped(project, args.build).await?;
    let setups = if args.setup.is_empty() { vec!["all-remote".to_string()] } else { args.setup };
    let mut results = Vec::new();
    for label in &setups {
        let resolved = resolve_setup(project, label)?;
        let dir = project.runs_dir().join(label.replace(['/', '.'], "_"));
        let cluster = LocalCluster::start(project, &dir, &resolved, label, args.platform.platform, store::open(project).await?).await?;
        let result = measured(&cluster.state, &spec, pricing).await;
        cluster.stop();
        let result = result?;
        print!("{}", text::load_summary(&result));
        results.push(result);
    }
    if results.len() > 1 {
        print!("\n{}", text::comparison(&results));
    }
    Ok(())
}

/// The measurement with a progress bar.
async fn measured(cluster: &ClusterState, spec: &LoadSpec, pricing: Pricing) -> Result<LoadResult> {
    let result = measure(cluster, spec, pricing, progress_bar(spec.duration)).await;
    if draws_progress() {
        // Off the bar's line.
        eprintln!();
    }
    result
}
