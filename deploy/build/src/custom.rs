//! Tasks built by a command of the project's own: any toolchain that makes a component (C with
//! wit-bindgen, TinyGo, a component a colleague hands over). Fusion runs the command in the
//! project folder and takes the component it names; it is checked like any other before it runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use fusion_project::Reporter;

use crate::built::{Built, install};
use crate::language::Language;

/// A task built by `build`, leaving `component`.
pub(crate) struct CommandTask {
    pub task: String,
    pub build: String,
    pub component: PathBuf,
    pub out: PathBuf,
}

/// Runs each task's command in `root` and installs the component it produced.
pub(crate) fn build(root: &Path, tasks: &[CommandTask], reporter: &dyn Reporter) -> Result<Vec<Built>> {
    let mut built = Vec::new();
    for task in tasks {
        reporter.note(&format!("building {} with `{}`", task.task, task.build));
        let output = Command::new("sh").arg("-c").arg(&task.build).current_dir(root).output().with_context(|| format!("cannot run sh for task '{}'", task.task))?;
        if !output.status.success() {
            bail!(
                "the build command of task '{}' failed ({}): `{}`\n{}{}",
                task.task,
                output.status,
                task.build,
                String::from_utf8_lossy(&output.stdout).trim_end(),
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
        if !task.component.is_file() {
            bail!("the build command of task '{}' succeeded but left no component at {}", task.task, task.component.display());
        }
        install(&task.component, &task.out)?;
        let component = Built { task: task.task.clone(), bytes: std::fs::metadata(&task.out)?.len(), path: task.out.clone(), language: Language::Other };
        component.report_to(reporter);
        built.push(component);
    }
    Ok(built)
}
