//! A Fusion project: the folder holding a `fusion.toml`, found the way cargo finds `Cargo.toml`
//! (searching upward from where the command runs), and the one folder of state Fusion keeps in
//! it, `.fusion/` (built components, the artifact cache, its cluster, the embedded store and its
//! keys). Guest toolchains are cached once per user and shared by every project.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::manifest::{MANIFEST_FILE, Manifest};

/// A project: where it is and what its manifest says.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `fusion.toml`; every path in the manifest is relative to it.
    pub root: PathBuf,
    /// The parsed manifest.
    pub manifest: Manifest,
}

impl Project {
    /// The project whose `fusion.toml` is in `start` or the nearest folder above it.
    pub fn discover(start: &Path) -> Result<Project> {
        match start.ancestors().find(|dir| dir.join(MANIFEST_FILE).is_file()) {
            Some(root) => Project::open(root),
            None => bail!("no {MANIFEST_FILE} in {} or any folder above it: run `fusion new NAME` to make a project, or pass -f PATH", start.display()),
        }
    }

    /// The project at `path`: a `fusion.toml`, or a folder holding one.
    pub fn open(path: &Path) -> Result<Project> {
        let file = if path.is_dir() { path.join(MANIFEST_FILE) } else { path.to_path_buf() };
        let manifest = Manifest::load(&file)?;
        let root = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let root = root.canonicalize().with_context(|| format!("cannot resolve {}", root.display()))?;
        Ok(Project { root, manifest })
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The manifest file.
    pub fn manifest_file(&self) -> PathBuf {
        self.root.join(MANIFEST_FILE)
    }

    /// A path of the manifest, made absolute.
    pub fn path(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }

    /// The named setups shipped with the project, `setups/<name>.json`.
    pub fn setups_dir(&self) -> PathBuf {
        self.root.join("setups")
    }

    /// The one folder of state Fusion keeps for the project (ignored by git).
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".fusion")
    }

    /// Built components, `<task>.wasm`.
    pub fn components_dir(&self) -> PathBuf {
        self.state_dir().join("components")
    }

    /// Components compiled for this machine's engine, per engine fingerprint, kept once per user
    /// so that a component any project compiled before (the same template's task, a copy of the
    /// project) loads without compiling (seconds for an interpreter): `$FUSION_ARTIFACTS`, else
    /// `$XDG_CACHE_HOME/fusion/artifacts`, else `~/.cache/fusion/artifacts`. Artifacts are named
    /// by the digest of their component.
    pub fn artifacts_dir(&self) -> PathBuf {
        from_env("FUSION_ARTIFACTS").unwrap_or_else(|| user_cache().join("artifacts"))
    }

    /// The project's `fusion up` cluster: its state file and telemetry.
    pub fn cluster_dir(&self) -> PathBuf {
        self.state_dir().join("cluster")
    }

    /// Clusters `fusion load --setup` starts side by side, one folder per setup.
    pub fn runs_dir(&self) -> PathBuf {
        self.state_dir().join("runs")
    }

    /// The embedded S3 store's objects.
    pub fn store_dir(&self) -> PathBuf {
        self.state_dir().join("s3")
    }

    /// The embedded store's keys and the artifact sealing key.
    pub fn keys_file(&self) -> PathBuf {
        self.state_dir().join("s3-keys.json")
    }

    /// The app's key-value stores on this machine: one SQLite file that `fusion run` and every
    /// host of `fusion up` open (`fusion host … --kv`).
    pub fn kv_file(&self) -> PathBuf {
        self.state_dir().join("kv.sqlite")
    }

    /// The app as a host reads it (`fusion-host --app`), written from the manifest.
    pub fn host_manifest_file(&self) -> PathBuf {
        self.state_dir().join("app.json")
    }

    /// Guest toolchains, shared by every project of the user: see [`toolchains_dir`].
    pub fn toolchains_dir(&self) -> PathBuf {
        toolchains_dir()
    }
}

/// Guest toolchains (componentize-py, componentize-js, zig, moto) and the guest SDKs they build
/// with, cached once per user: `$FUSION_TOOLCHAINS`, else `$XDG_CACHE_HOME/fusion/toolchains`,
/// else `~/.cache/fusion/toolchains`.
pub fn toolchains_dir() -> PathBuf {
    from_env("FUSION_TOOLCHAINS").unwrap_or_else(|| user_cache().join("toolchains"))
}

/// Fusion's folder in the user's cache: `$XDG_CACHE_HOME/fusion`, else `~/.cache/fusion`.
fn user_cache() -> PathBuf {
    let cache = from_env("XDG_CACHE_HOME").or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
    cache.unwrap_or_else(std::env::temp_dir).join("fusion")
}

/// A folder named by an environment variable, unless it is unset or empty.
fn from_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|d| !d.is_empty()).map(PathBuf::from)
}
