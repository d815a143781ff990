//! `fusion build`.

use anyhow::Result;
use fusion_project::Project;

use crate::options::BuildArg;
use crate::output::Terminal;

/// Builds every task of the project and checks each component against the world.
pub async fn run(project: &Project) -> Result<()> {
    let built = tokio::task::block_in_place(|| {
        let built = fusion_build::build(project, &Terminal::Progress)?;
        fusion_cluster::check_components(project)?;
        anyhow::Ok(built)
    })?;
    eprintln!("{} components in {}, each checked against the fusion:task world", built.len(), project.components_dir().display());
    Ok(())
}

/// Builds first unless `--no-build` says not to.
pub async fn unless_skipped(project: &Project, arg: BuildArg) -> Result<()> {
    if arg.no_build { Ok(()) } else { run(project).await }
}
