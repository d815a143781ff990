//! `fusion build`: turns every task into a component and collects the components in one
//! directory. Rust tasks are crates built by cargo for wasm32-wasip2; Python and JavaScript
//! tasks are folders with a `task.py` or `task.js`, built by componentize-py and
//! componentize-js against the same `wit/`.

mod guests;
mod rust;
mod toolchain;

use std::path::PathBuf;

use anyhow::Result;

use crate::workspace::Workspace;

pub use rust::TARGET;
pub(crate) use toolchain::run;

/// The languages a task can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
        }
    }
}

/// One component that came out of a build.
#[derive(Debug, Clone)]
pub struct Built {
    pub name: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// The language its task is written in.
    pub language: Language,
}

/// Builds all tasks; `progress` hears about each component as it is finished.
pub fn build(ws: &Workspace, mut progress: impl FnMut(&Built)) -> Result<Vec<Built>> {
    std::fs::create_dir_all(ws.components_dir())?;
    let mut built = rust::build(ws, &mut progress)?;
    built.extend(guests::build(ws, &mut progress)?);
    Ok(built)
}
