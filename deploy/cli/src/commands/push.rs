//! `fusion push`: the app's components into the store.

use anyhow::Result;
use fusion_cluster::{publish, store};
use fusion_project::Project;

use crate::options::{BuildArg};

/// `fusion push`'s options.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    build: BuildArg,
}

/// Uploads what changed and prints every component's digest.
pub async fn run(project: &Project, args: Args) -> Result<()> {
    super::build::unless_skipped(project, args.build).await?;
    let open = store::open(project).await?;
    eprintln!("store: {}", open.location);
    let app = project.name();
    for (task, pushed) in publish::upload(project, &open.store).await? {
        println!("{app:<8} {task:<22} {}  {}", pushed.digest, if pushed.uploaded { "uploaded" } else { "unchanged" });
    }
    Ok(())
}
