//! `fusion up`: a local cluster until Ctrl-C.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fusion_cluster::{LocalCluster, prometheus, store};
use fusion_cluster::resolve_setup;
use fusion_host::FusionSetup;
use fusion_project::Project;
use fusion_report::text;

use crate::options::{BuildArg, PlatformArg};

/// `fusion up`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// all-remote, all-local, a setup shipped with the app or a JSON file. Default: the store's
    /// current setup, on the components just built (all-remote when there is none).
    #[arg(long)]
    setup: Option<String>,
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
    // A setup named on the command line is checked before anything starts.
    let chosen = args.setup.map(|choice| resolve_setup(project, &choice).map(|setup| (setup, choice))).transpose()?;
    let store = store::open(project).await?;
    eprintln!("store: {}", store.location);
    let (resolved, label) = match chosen {
        Some(chosen) => chosen,
        None => match store.store.current_setup(project.name()).await? {
            // Where the last cluster (or `fusion setup apply`, or the optimizer) left the app.
            Some(current) => {
                let created_by = format!("fusion up: setup version {} on the components built since", current.version);
                (FusionSetup { version: 0, parent: None, created_by, ..current }, "current".to_string())
            }
            None => (resolve_setup(project, "all-remote")?, "all-remote".to_string()),
        },
    };
    let cluster = LocalCluster::start(project, &project.cluster_dir(), &resolved, &label, args.platform.platform, store).await?;
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
