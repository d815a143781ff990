//! `fusion build`.

use anyhow::Result;
use fusion_project::Workspace;

use crate::options::BuildArg;
use crate::output::Terminal;

/// Builds every task of the checkout.
pub async fn run(ws: &Workspace) -> Result<()> {
    let built = tokio::task::block_in_place(|| fusion_build::build(ws, &Terminal::Progress))?;
    eprintln!("{} components in {}", built.len(), ws.components_dir().display());
    Ok(())
}

/// Builds first unless `--no-build` says not to.
pub async fn unless_skipped(ws: &Workspace, arg: BuildArg) -> Result<()> {
    if arg.no_build { Ok(()) } else { run(ws).await }
}
