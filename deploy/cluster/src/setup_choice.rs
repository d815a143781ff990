//! Which setup a name on the command line means: a preset, a setup shipped with the app, or a
//! JSON file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fusion_host::{FusionSetup, Preset};
use fusion_project::Project;

use crate::app_manifest::app_manifest;
use crate::policy::project_policy;

/// The setup `choice` names for the project's app, validated against its tasks, under the
/// project's policy.
pub fn resolve_setup(project: &Project, choice: &str) -> Result<FusionSetup> {
    let manifest = app_manifest(project);
    let tasks = manifest.task_names();
    let policy = project_policy(project)?;
    if let Ok(preset) = choice.parse::<Preset>() {
        return Ok(FusionSetup { policy, ..FusionSetup::preset(preset, &manifest.app, &tasks, &manifest.entry) });
    }
    let shipped = project.setups_dir().join(format!("{choice}.json"));
    let path = if Path::new(choice).is_file() { PathBuf::from(choice) } else { shipped };
    let setup = FusionSetup::load(&path).with_context(|| {
        format!("'{choice}' is neither all-remote, all-local, a setup of app '{}' nor a readable file", manifest.app)
    })?;
    setup.validate(&manifest.app, &tasks).with_context(|| format!("setup {} is invalid", path.display()))?;
    Ok(FusionSetup { policy, ..setup })
}
