//! `fusion up`: a local cluster until Ctrl-C.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fusion_cluster::{LocalCluster, prometheus, store};
use fusion_cluster::resolve_setup;
use fusion_project::Project;
use fusion_report::text;

use crate::options::{BuildArg, PlatformArg};

/// `fusion up`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// all-remote, all-local, a setup shipped with the app or a JSON file.
    #[arg(long, default_value = "all-remote")]
    setup: String,
    #[command(flatten)]
    platform: PlatformArg,
    #[command(flatten)]
    build: BuildArg,
    /// Write a Prometheus configuration that scrapes every host to this file (then run
    /// `prometheus --config.file FILE`).
    #[arg(long, value_name = "FILE")]
    prometheus: Option<PathBuf>,
}

/// Starts the cluster, prints its endpoints, and stops every host on Ctrl-C or SIGTERM.
pub async fn run(project: &Project, args: Args) -> Result<()> {
    super::build::unless_skipped(project, args.build).await?;
    let resolved = resolve_setup(project, &args.setup)?;
    let store = store::open(project).await?;
    eprintln!("store: {}", store.location);
    let cluster = LocalCluster::start(project, &project.cluster_dir(), &resolved, &args.setup, args.platform.platform, store).await?;
    print!("{}", text::endpoint_table(&cluster.state, &resolved));
    if let Some(door) = &cluster.state.front_door {
        println!("\nfront door: {door}  (POST a JSON request: it runs {}, no signature needed)", cluster.state.entry);
    }
    if let Some(path) = &args.prometheus {
        std::fs::write(path, prometheus::scrape_config(&cluster.state)).with_context(|| format!("cannot write {}", path.display()))?;
        println!("\nprometheus: prometheus --config.file {}", path.display());
    }
    println!("\ntelemetry: {}", cluster.state.telemetry.display());
    println!("setup version {} (try: fusion setup apply all-local)", cluster.state.setup_version);
    println!("try: fusion load --rate 10 --duration 10s   (Ctrl-C here stops every host)");
    until_stopped().await?;
    eprintln!("stopping {} hosts…", cluster.state.endpoints.len());
    cluster.stop();
    Ok(())
}

/// Returns on Ctrl-C or SIGTERM.
async fn until_stopped() -> Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}
