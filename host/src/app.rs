//! Application manifests: which tasks an application has, which component implements each one,
//! and which task takes requests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};

/// `tasks/<app>/app.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppManifest {
    /// The application's name; a setup for it must name the same app.
    pub app: String,
    /// The task that receives external requests.
    pub entry: String,
    /// Task name → component file stem (`<stem>.wasm` in the components directory).
    pub tasks: BTreeMap<String, String>,
}

impl AppManifest {
    /// Reads and checks the manifest at `path`: its entry must be one of its tasks.
    pub fn load(path: &Path) -> Result<AppManifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read app manifest {}", path.display()))?;
        let manifest: AppManifest = serde_json::from_str(&text)
            .with_context(|| format!("malformed app manifest {}", path.display()))?;
        ensure!(
            manifest.tasks.contains_key(&manifest.entry),
            "app manifest {}: entry task '{}' is not among its tasks",
            path.display(),
            manifest.entry
        );
        Ok(manifest)
    }

    /// Every task of the application, by name.
    pub fn task_names(&self) -> BTreeSet<String> {
        self.tasks.keys().cloned().collect()
    }

    /// Where the component of `task` lives under `dir`.
    pub fn component_path(&self, dir: &Path, task: &str) -> Option<PathBuf> {
        self.tasks.get(task).map(|stem| dir.join(format!("{stem}.wasm")))
    }
}
