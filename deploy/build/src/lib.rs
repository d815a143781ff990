//! `fusion build`: turns every task into a component and collects the components in one
//! directory. Rust tasks are crates built by cargo for wasm32-wasip2; Python and JavaScript
//! tasks are folders with a `task.py` or `task.js`, built by componentize-py and
//! componentize-js against the same `wit/`.

mod built;
mod command;
mod guests;
mod language;
mod rust;
mod toolchain;

use anyhow::Result;
use fusion_project::{Reporter, Workspace};

pub use built::Built;
pub use command::run;
pub use language::Language;
pub use rust::TARGET;

/// Builds all tasks; `reporter` hears about each component as it is finished, and about
/// toolchains being installed.
pub fn build(ws: &Workspace, reporter: &dyn Reporter) -> Result<Vec<Built>> {
    std::fs::create_dir_all(ws.components_dir())?;
    let mut built = rust::build(ws, reporter)?;
    built.extend(guests::build(ws, reporter)?);
    Ok(built)
}
