//! `fusion push`: the app's components into the store.

use anyhow::Result;
use fusion_cluster::{publish, store};
use fusion_project::Workspace;

use crate::options::{AppArg, BuildArg};

/// `fusion push`'s options.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    app: AppArg,
    #[command(flatten)]
    build: BuildArg,
}

/// Uploads what changed and prints every component's digest.
pub async fn run(ws: &Workspace, args: Args) -> Result<()> {
    super::build::unless_skipped(ws, args.build).await?;
    let open = store::open(ws).await?;
    eprintln!("store: {}", open.location);
    let app = &args.app.app;
    for (task, pushed) in publish::upload(ws, &open.store, app).await? {
        println!("{app:<8} {task:<22} {}  {}", pushed.digest, if pushed.uploaded { "uploaded" } else { "unchanged" });
    }
    Ok(())
}
