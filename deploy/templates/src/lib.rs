//! `fusion new` and `fusion add`: a project that builds, runs and optimizes with no edit, and new
//! tasks wired into its manifest.
//!
//! A project depends on the guest SDKs through copies in its own `sdk/` folder, written from the
//! SDKs this binary was built with: `sdk/rust` (the `fusion-guest` crate with its WIT), `sdk/js`.
//! Python tasks need no copy: the builder puts the SDK on their path. Once the SDKs are
//! published, a Rust task's `fusion-guest = { path = "../../sdk/rust" }` becomes
//! `fusion-guest = "0.1"` and the JavaScript import a package name.

mod files;
mod language;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use fusion_project::{MANIFEST_FILE, Manifest, Project};

pub use language::Lang;

/// What `fusion new` can start from: three tasks, `main` (the entry) calling `check`
/// synchronously and `archive` asynchronously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Every task in Rust.
    Rust,
    /// Every task in Python.
    Python,
    /// Every task in JavaScript.
    Js,
    /// `main` in Rust, `check` in Python, `archive` in JavaScript.
    Mixed,
}

impl Template {
    /// Every template with its name on the command line.
    pub const NAMED: [(&'static str, Template); 4] = [("rust", Template::Rust), ("python", Template::Python), ("js", Template::Js), ("mixed", Template::Mixed)];

    fn languages(self) -> [Lang; 3] {
        match self {
            Template::Rust => [Lang::Rust; 3],
            Template::Python => [Lang::Python; 3],
            Template::Js => [Lang::Js; 3],
            Template::Mixed => [Lang::Rust, Lang::Python, Lang::Js],
        }
    }
}

impl std::str::FromStr for Template {
    type Err = String;

    fn from_str(name: &str) -> Result<Template, String> {
        Template::NAMED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).ok_or_else(|| format!("unknown template '{name}' (rust, python, js, mixed)"))
    }
}

/// Writes a new project named after the last part of `dir` into `dir` (which must not exist or be
/// empty); returns it.
pub fn new_project(dir: &Path, template: Template) -> Result<Project> {
    let name = dir.file_name().and_then(|n| n.to_str()).context("the project needs a folder name")?.to_string();
    if dir.exists() {
        ensure!(dir.read_dir()?.next().is_none(), "{} exists and is not empty", dir.display());
    }
    let manifest = format!("# A Fusion project: `fusion build`, `fusion run`, `fusion up` here.\nname = \"{name}\"\nentry = \"main\"\n");
    Manifest::parse(&format!("{manifest}[tasks.main]\nrust = \".\"\n")).with_context(|| format!("'{name}' cannot name a Fusion app"))?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MANIFEST_FILE), manifest)?;
    std::fs::write(dir.join(".gitignore"), ".fusion/\ntarget/\n")?;
    for (task, lang) in ["main", "check", "archive"].into_iter().zip(template.languages()) {
        write_task(dir, &name, task, lang)?;
    }
    Project::open(dir)
}

/// Adds `task` in `lang` to `project`: its files from the language's template, its entry in
/// `fusion.toml`, and (for Rust) the crate in the project's cargo workspace. Returns its folder.
pub fn add_task(project: &Project, task: &str, lang: Lang) -> Result<PathBuf> {
    ensure!(!project.manifest.tasks.contains_key(task), "the project already has a task '{task}'");
    let folder = project.root.join("tasks").join(task);
    ensure!(!folder.exists(), "{} exists already", folder.display());
    // Checked before anything is written: a bad name leaves the project as it was.
    let mut text = std::fs::read_to_string(project.manifest_file())?;
    text.push_str(&manifest_entry(task, lang));
    Manifest::parse(&text).with_context(|| format!("task '{task}' cannot be added"))?;
    write_task(&project.root, project.name(), task, lang)?;
    Ok(folder)
}

/// Writes one task from its language's template and wires it into the manifest and workspace.
fn write_task(root: &Path, app: &str, task: &str, lang: Lang) -> Result<()> {
    let folder = root.join("tasks").join(task);
    std::fs::create_dir_all(&folder)?;
    for (file, content) in files::task(app, task, lang) {
        let path = folder.join(file);
        std::fs::create_dir_all(path.parent().expect("a file in the task folder"))?;
        std::fs::write(&path, content)?;
    }
    files::vendor_sdk(root, lang)?;
    if lang == Lang::Rust {
        add_workspace_member(root, &format!("tasks/{task}"))?;
    }
    let manifest = root.join(MANIFEST_FILE);
    let mut text = std::fs::read_to_string(&manifest)?;
    text.push_str(&manifest_entry(task, lang));
    std::fs::write(&manifest, text)?;
    Ok(())
}

fn manifest_entry(task: &str, lang: Lang) -> String {
    let source = match lang {
        Lang::Rust => format!("rust = \"tasks/{task}\""),
        Lang::Python => format!("python = \"tasks/{task}/task.py\""),
        Lang::Js => format!("js = \"tasks/{task}/task.js\""),
    };
    format!("\n[tasks.{task}]\n{source}\n")
}

/// The project's cargo workspace (`Cargo.toml` at its root) with `member` in it.
fn add_workspace_member(root: &Path, member: &str) -> Result<()> {
    let path = root.join("Cargo.toml");
    let mut members: Vec<String> = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let parsed: toml::Value = toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
            let Some(list) = parsed.get("workspace").and_then(|w| w.get("members")).and_then(|m| m.as_array()) else {
                bail!("{} has no [workspace] members list to add {member} to", path.display());
            };
            list.iter().filter_map(|m| m.as_str().map(str::to_string)).collect()
        }
        Err(_) => Vec::new(),
    };
    members.push(member.to_string());
    std::fs::write(&path, files::workspace(&members))?;
    Ok(())
}
