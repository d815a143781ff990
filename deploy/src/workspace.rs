//! Where things live in a Fusion checkout: task sources, app manifests, built components and the
//! artifact cache.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    /// The checkout containing the current directory, or the one this binary was built from.
    pub fn locate() -> Result<Workspace> {
        let cwd = std::env::current_dir()?;
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf);
        for start in std::iter::once(cwd.clone()).chain(built_from) {
            if let Some(root) = start.ancestors().find(|dir| Self::is_root(dir)) {
                return Ok(Workspace { root: root.to_path_buf() });
            }
        }
        bail!("no Fusion checkout (with wit/ and tasks/Cargo.toml) above {}", cwd.display())
    }

    fn is_root(dir: &Path) -> bool {
        dir.join("wit").is_dir() && dir.join("tasks/Cargo.toml").is_file()
    }

    pub fn tasks_dir(&self) -> PathBuf {
        self.root.join("tasks")
    }

    pub fn fusion_dir(&self) -> PathBuf {
        self.root.join("target/fusion")
    }

    /// One directory per app with a `fusion up` cluster: its state file and telemetry.
    pub fn clusters_dir(&self) -> PathBuf {
        self.fusion_dir().join("clusters")
    }

    /// Built components, `<stem>.wasm`.
    pub fn components_dir(&self) -> PathBuf {
        self.fusion_dir().join("components")
    }

    /// Precompiled artifacts, per engine fingerprint.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.fusion_dir().join("artifacts")
    }

    pub fn app_manifest(&self, app: &str) -> PathBuf {
        self.tasks_dir().join(app).join("app.json")
    }
}
