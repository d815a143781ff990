//! `fusion up`: a local cluster until Ctrl-C.

use anyhow::Result;
use fusion_cluster::{LocalCluster, store};
use fusion_host::AppManifest;
use fusion_cluster::resolve_setup;
use fusion_project::Workspace;
use fusion_report::text;

use crate::options::{AppArg, BuildArg, PlatformArg};

/// `fusion up`'s options.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    app: AppArg,
    /// all-remote, all-local, a setup shipped with the app or a JSON file.
    #[arg(long, default_value = "all-remote")]
    setup: String,
    #[command(flatten)]
    platform: PlatformArg,
    #[command(flatten)]
    build: BuildArg,
}

/// Starts the cluster, prints its endpoints, and stops every host on Ctrl-C or SIGTERM.
pub async fn run(ws: &Workspace, args: Args) -> Result<()> {
    super::build::unless_skipped(ws, args.build).await?;
    let app = &args.app.app;
    let manifest = AppManifest::load(&ws.app_manifest(app))?;
    let resolved = resolve_setup(ws, &manifest, &args.setup)?;
    let store = store::open(ws).await?;
    eprintln!("store: {}", store.location);
    let cluster = LocalCluster::start(ws, &ws.clusters_dir().join(app), &manifest, &resolved, &args.setup, args.platform.platform, store).await?;
    print!("{}", text::endpoint_table(&cluster.state, &resolved));
    println!("\ntelemetry: {}", cluster.state.telemetry.display());
    println!("setup version {} (try: fusion setup apply all-local --app {app})", cluster.state.setup_version);
    println!("try: fusion load --app {app} --rate 10 --duration 10s   (Ctrl-C here stops every host)");
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
