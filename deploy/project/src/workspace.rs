//! Where things live in a Fusion checkout: task sources, app manifests and their shipped setups,
//! and the one folder of state Fusion keeps for them (built components, the artifact cache,
//! clusters, the embedded store and its keys). Guest toolchains are cached once per user.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// A Fusion checkout: the folder holding `wit/` and `tasks/Cargo.toml`.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The checkout's top folder.
    pub root: PathBuf,
}

impl Workspace {
    /// The checkout containing the current directory, or the one this binary was built from.
    pub fn locate() -> Result<Workspace> {
        let cwd = std::env::current_dir()?;
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf);
        for start in std::iter::once(cwd.clone()).chain(built_from) {
            if let Some(root) = start.ancestors().find(|dir| Self::is_root(dir)) {
                return Ok(Workspace { root: root.to_path_buf() });
            }
        }
        bail!("no Fusion checkout (with wit/ and tasks/Cargo.toml) above {}", cwd.display())
    }

    /// The checkout at `root`, if it is one.
    pub fn at(root: &Path) -> Result<Workspace> {
        if !Self::is_root(root) {
            bail!("{} is not a Fusion checkout (no wit/ and tasks/Cargo.toml)", root.display());
        }
        Ok(Workspace { root: root.to_path_buf() })
    }

    fn is_root(dir: &Path) -> bool {
        dir.join("wit").is_dir() && dir.join("tasks/Cargo.toml").is_file()
    }

    /// The task sources: one folder per app.
    pub fn tasks_dir(&self) -> PathBuf {
        self.root.join("tasks")
    }

    /// The WIT contract the tasks are built against.
    pub fn wit_dir(&self) -> PathBuf {
        self.root.join("wit")
    }

    /// The one folder of state Fusion keeps for the checkout (ignored by git).
    pub fn fusion_dir(&self) -> PathBuf {
        self.root.join(".fusion")
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

    /// The embedded S3 store's objects.
    pub fn store_dir(&self) -> PathBuf {
        self.fusion_dir().join("s3")
    }

    /// The embedded store's keys and the artifact sealing key.
    pub fn keys_file(&self) -> PathBuf {
        self.fusion_dir().join("s3-keys.json")
    }

    /// Guest toolchains (componentize-py, componentize-js, zig, moto), shared by every checkout
    /// of the user: `$FUSION_TOOLCHAINS`, else `$XDG_CACHE_HOME/fusion/toolchains`, else
    /// `~/.cache/fusion/toolchains`.
    pub fn toolchains_dir(&self) -> PathBuf {
        if let Some(dir) = std::env::var_os("FUSION_TOOLCHAINS").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
        cache.map_or_else(|| self.fusion_dir().join("toolchains"), |cache| cache.join("fusion/toolchains"))
    }

    /// The manifest of `app`.
    pub fn app_manifest(&self, app: &str) -> PathBuf {
        self.tasks_dir().join(app).join("app.json")
    }

    /// The setups shipped with `app`, `<name>.json`.
    pub fn setups_dir(&self, app: &str) -> PathBuf {
        self.tasks_dir().join(app).join("setups")
    }
}
