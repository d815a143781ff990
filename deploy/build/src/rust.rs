//! Rust tasks: crates built by cargo into wasm32-wasip2 components. Crates of one cargo workspace
//! are built by one cargo invocation, so their shared dependencies compile once.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use fusion_project::Reporter;
use serde::Deserialize;

use crate::built::{Built, install};
use crate::language::Language;

/// The target Rust tasks are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// A Rust task to build: its crate and where its component goes.
pub(crate) struct RustTask {
    pub task: String,
    pub crate_dir: PathBuf,
    pub out: PathBuf,
}

/// Builds the crates of `tasks`, a cargo invocation per workspace; `reporter` hears about each
/// component as it is finished.
pub(crate) fn build(tasks: &[RustTask], reporter: &dyn Reporter) -> Result<Vec<Built>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    ensure_target(reporter)?;
    let mut by_workspace: BTreeMap<PathBuf, Vec<(&RustTask, String)>> = BTreeMap::new();
    for task in tasks {
        let manifest = task.crate_dir.join("Cargo.toml");
        let package = package_name(&manifest).with_context(|| format!("task '{}': {} is not a crate", task.task, task.crate_dir.display()))?;
        by_workspace.entry(workspace_of(&manifest)?).or_default().push((task, package));
    }
    let mut built = Vec::new();
    for (workspace, members) in by_workspace {
        built.extend(build_workspace(&workspace, &members, reporter)?);
    }
    Ok(built)
}

/// One cargo invocation for the members of one workspace.
fn build_workspace(workspace: &Path, members: &[(&RustTask, String)], reporter: &dyn Reporter) -> Result<Vec<Built>> {
    let mut command = cargo();
    command.args(["build", "--release", "--target", TARGET, "--message-format", "json-render-diagnostics", "--manifest-path"]).arg(workspace);
    for (_, package) in members {
        command.args(["-p", package]);
    }
    let mut child = command.stdout(Stdio::piped()).spawn().context("cannot run cargo to build the Rust tasks")?;
    let mut built = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let Ok(message) = serde_json::from_str::<CargoMessage>(&line?) else { continue };
        if message.reason != "compiler-artifact" {
            continue;
        }
        let Some(wasm) = message.filenames.iter().find(|f| f.extension().is_some_and(|e| e == "wasm")) else { continue };
        for (task, _) in members.iter().filter(|(t, _)| same_file(&t.crate_dir.join("Cargo.toml"), &message.manifest_path)) {
            install(wasm, &task.out)?;
            let component = Built::at(&task.task, &task.out, Language::Rust, false)?;
            component.report_to(reporter);
            built.push(component);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("building the Rust tasks of {} failed ({status}); cargo's messages are above", workspace.display());
    }
    for (task, package) in members {
        if !built.iter().any(|b| b.task == task.task) {
            bail!("cargo built no component for task '{}': is {package} a `cdylib` crate?", task.task);
        }
    }
    Ok(built)
}

/// Cargo for the guest build: a host build's flags (coverage, sanitizers) must not leak into it.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.env_remove("RUSTFLAGS").env_remove("CARGO_ENCODED_RUSTFLAGS").env_remove("CARGO_BUILD_TARGET");
    command
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    manifest_path: PathBuf,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct CrateManifest {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    name: String,
}

fn package_name(manifest: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    let parsed: CrateManifest = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
    Ok(parsed.package.name)
}

/// The `Cargo.toml` of the workspace the crate at `manifest` belongs to (its own if none).
fn workspace_of(manifest: &Path) -> Result<PathBuf> {
    let out = cargo()
        .args(["locate-project", "--workspace", "--message-format", "plain", "--manifest-path"])
        .arg(manifest)
        .output()
        .context("cannot run cargo locate-project")?;
    if !out.status.success() {
        bail!("cargo cannot place {}: {}", manifest.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// Installs the wasm32-wasip2 target through rustup when it is missing.
fn ensure_target(reporter: &dyn Reporter) -> Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET) => Ok(()),
        Ok(_) => {
            reporter.note(&format!("installing the {TARGET} target with rustup"));
            let status = Command::new("rustup").args(["target", "add", TARGET]).status()?;
            anyhow::ensure!(status.success(), "`rustup target add {TARGET}` failed");
            Ok(())
        }
        // No rustup: trust the toolchain to have the target, cargo will say if not.
        Err(_) => Ok(()),
    }
}
