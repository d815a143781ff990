//! Rust tasks: every crate of `tasks/Cargo.toml`, built by cargo into a wasm32-wasip2 component.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use fusion_project::{Reporter, Workspace};

use crate::built::Built;
use crate::language::Language;

/// The target Rust tasks are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// Builds the task crates; `reporter` hears about each component as cargo finishes it.
pub(crate) fn build(ws: &Workspace, reporter: &dyn Reporter) -> Result<Vec<Built>> {
    ensure_target(reporter)?;
    let out_dir = ws.components_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["build", "--release", "--target", TARGET, "--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(ws.tasks_dir().join("Cargo.toml"))
        // A host build's flags (coverage, sanitizers) must not leak into the guest build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run cargo to build the tasks")?;
    let mut built = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let Ok(message) = serde_json::from_str::<CargoMessage>(&line?) else { continue };
        if message.reason != "compiler-artifact" {
            continue;
        }
        for file in message.filenames.iter().filter(|f| f.extension().is_some_and(|e| e == "wasm")) {
            let name = file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            let dest = out_dir.join(file.file_name().expect("a file name"));
            let tmp = dest.with_extension("wasm.tmp");
            std::fs::copy(file, &tmp).with_context(|| format!("copying {}", file.display()))?;
            std::fs::rename(&tmp, &dest)?;
            let component = Built { name, bytes: std::fs::metadata(&dest)?.len(), path: dest, language: Language::Rust };
            component.report_to(reporter);
            built.push(component);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("building the tasks failed ({status}); cargo's messages are above");
    }
    Ok(built)
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    filenames: Vec<PathBuf>,
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
