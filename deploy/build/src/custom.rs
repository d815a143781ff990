//! Tasks built by a command of the project's own: any toolchain that makes a component (C with
//! wit-bindgen, TinyGo, a component a colleague hands over). Fusion runs the command in the
//! project folder and takes the component it names; it is checked like any other before it runs.
//! The command sees `FUSION_WIT`, the folder holding the `fusion:task` WIT this binary carries (for
//! a bindings generator), and `FUSION_TASK`, the task's name.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use fusion_project::{Project, Reporter};

use crate::built::{Built, install};
use crate::language::Language;
use crate::sdk;

/// A task built by `build`, leaving `component`.
pub(crate) struct CommandTask {
    pub task: String,
    pub build: String,
    pub component: PathBuf,
    pub out: PathBuf,
}

/// Runs each task's command in the project folder and installs the component it produced.
pub(crate) fn build(project: &Project, tasks: &[CommandTask], reporter: &dyn Reporter) -> Result<Vec<Built>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let wit = sdk::wit_dir(&project.state_dir())?;
    let mut built = Vec::new();
    for task in tasks {
        reporter.note(&format!("building {} with `{}`", task.task, task.build));
        let output = Command::new("sh")
            .arg("-c")
            .arg(&task.build)
            .current_dir(&project.root)
            .env("FUSION_WIT", &wit)
            .env("FUSION_TASK", &task.task)
            .output()
            .with_context(|| format!("cannot run sh for task '{}'", task.task))?;
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
        let component = Built::at(&task.task, &task.out, Language::Other, false)?;
        component.report_to(reporter);
        built.push(component);
    }
    Ok(built)
}
