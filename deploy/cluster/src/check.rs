//! Components are checked against the `fusion:task` world before anything runs them: compiled
//! and linked against exactly the imports a host provides, so a foreign world, a core module, or
//! a component importing anything else is refused, naming the import. The compiled code is kept
//! in the project's artifact cache, where the project's hosts find it.

use anyhow::{Context, Result};
use fusion_host::{Runtime, RuntimeConfig};
use fusion_project::Project;

use crate::app_manifest::app_manifest;

/// Checks every task's built component; a refused one is removed so it cannot run, and the error
/// names the task and what is wrong with it.
pub fn check_components(project: &Project) -> Result<()> {
    let runtime = Runtime::new(&project.artifacts_dir(), RuntimeConfig { warm_instances: 0, ..RuntimeConfig::default() })?;
    let manifest = app_manifest(project);
    for task in manifest.task_names() {
        let path = manifest.component_path(&project.components_dir(), &task).context("a task of the manifest")?;
        anyhow::ensure!(path.is_file(), "the component of task '{task}' is missing: {} (run `fusion build`)", path.display());
        if let Err(err) = runtime.load(&task, &path) {
            let _ = std::fs::remove_file(&path);
            return Err(err.context(format!("the component of task '{task}' was refused and removed")));
        }
    }
    Ok(())
}
