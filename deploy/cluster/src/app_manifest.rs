//! The app as a host sees it ([`AppManifest`]: its name, entry and each task's component file),
//! made from the project's `fusion.toml`, and written to `.fusion/app.json` for host processes
//! that load components from files.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fusion_host::AppManifest;
use fusion_project::Project;

/// The host's view of `project`: every task's component is `<task>.wasm`.
pub fn app_manifest(project: &Project) -> AppManifest {
    let manifest = &project.manifest;
    AppManifest { app: manifest.name.clone(), entry: manifest.entry.clone(), tasks: manifest.tasks.keys().map(|t| (t.clone(), t.clone())).collect() }
}

/// Writes the host's view of `project` to its state folder; returns the file.
pub fn write_app_manifest(project: &Project) -> Result<PathBuf> {
    let path = project.host_manifest_file();
    let text = serde_json::to_string_pretty(&app_manifest(project))?;
    if std::fs::read_to_string(&path).is_ok_and(|on_disk| on_disk == text) {
        return Ok(path);
    }
    // Whole or not at all: a host starting meanwhile (another command, a test beside this one)
    // reads the file this replaces.
    let dir = project.state_dir();
    std::fs::create_dir_all(&dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(&path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
