//! `fusion build`: turns every task of a project into a component in its `.fusion/components`,
//! `<task>.wasm`. Rust tasks are crates built by cargo for wasm32-wasip2; Python and JavaScript
//! tasks are a `task.py` or `task.js` built by componentize-py and componentize-js; any other
//! toolchain gets in through a `build` command of the project's. Every source is checked to exist
//! before anything is built, so a bad manifest leaves nothing half-built.

mod built;
mod cache;
mod command;
mod custom;
mod guests;
mod language;
mod rust;
pub mod sdk;
mod toolchain;

use std::path::Path;

use anyhow::{Result, ensure};
use fusion_project::{Project, Reporter, TaskSource};

pub use built::Built;
pub use command::run;
pub use language::Language;
pub use rust::TARGET;

use custom::CommandTask;
use guests::GuestTask;
use language::Guest;
use rust::RustTask;

/// Builds every task of `project`; `reporter` hears about each component as it is finished, and
/// about toolchains being installed.
pub fn build(project: &Project, reporter: &dyn Reporter) -> Result<Vec<Built>> {
    let out_dir = project.components_dir();
    let (mut rust, mut guests, mut commands) = (Vec::new(), Vec::new(), Vec::new());
    for (task, source) in &project.manifest.tasks {
        let out = out_dir.join(format!("{task}.wasm"));
        let task = task.clone();
        match source {
            TaskSource::Rust(dir) => {
                let crate_dir = project.path(dir);
                ensure!(crate_dir.join("Cargo.toml").is_file(), "task '{task}': {} holds no Cargo.toml", crate_dir.display());
                rust.push(RustTask { task, crate_dir, out });
            }
            TaskSource::Python(file) => guests.push(guest_task(project, task, Guest::Python, file, out)?),
            TaskSource::JavaScript(file) => guests.push(guest_task(project, task, Guest::JavaScript, file, out)?),
            TaskSource::Command { build, component } => commands.push(CommandTask { task, build: build.clone(), component: project.path(component), out }),
        }
    }
    std::fs::create_dir_all(&out_dir)?;
    let mut built = rust::build(&rust, reporter)?;
    built.extend(guests::build(project, guests, reporter)?);
    built.extend(custom::build(project, &commands, reporter)?);
    Ok(built)
}

/// Builds one Rust crate into the component at `out` (a test's stand-alone component, say).
pub fn build_rust_crate(crate_dir: &Path, out: &Path, reporter: &dyn Reporter) -> Result<Built> {
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))?;
    let task = RustTask { task: out.file_stem().unwrap_or_default().to_string_lossy().into_owned(), crate_dir: crate_dir.to_path_buf(), out: out.to_path_buf() };
    Ok(rust::build(std::slice::from_ref(&task), reporter)?.remove(0))
}

/// A Python or JavaScript task, its source checked to exist and to be of its language.
fn guest_task(project: &Project, task: String, guest: Guest, file: &Path, out: std::path::PathBuf) -> Result<GuestTask> {
    let source = project.path(file);
    ensure!(source.is_file(), "task '{task}': {} does not exist", source.display());
    ensure!(source.extension().is_some_and(|e| e == guest.extension()), "task '{task}': {} is not a .{} file", file.display(), guest.extension());
    Ok(GuestTask { task, guest, source, out })
}
