//! Python and JavaScript components already built, kept per user by the digest of what they were
//! built from, so a task whose code another project (a second `fusion new` from the same template,
//! a copy of the project, its CI checkout) already built is copied instead of built again: a build
//! takes 10–40 s and a copy milliseconds. The components do not depend on where the project is:
//! a task's code is digested by its path inside the project.
//!
//! Two builds of the same inputs, in one process or two, build once: each holds the digest's lock
//! file while it builds, and the second finds the component when it gets the lock. The cache
//! keeps the most recently used components up to [`LIMIT_BYTES`].

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::built::install;

/// The cache's size bound: about sixty Python components (12–18 MB each), or far more in
/// JavaScript (~10 MB).
pub(crate) const LIMIT_BYTES: u64 = 1 << 30;

/// The folder of cached components: `$FUSION_COMPONENT_CACHE`, else `components` in the user's
/// toolchain cache (components depend on the toolchains' versions, which their digest includes).
pub(crate) fn dir() -> PathBuf {
    match std::env::var_os("FUSION_COMPONENT_CACHE").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => fusion_project::toolchains_dir().join("components"),
    }
}

/// Where a build came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Built,
    Cached,
}

/// Puts the component of `digest` at `out`: a copy of the cached one, or what `build` writes
/// to the path it is given, which is then cached.
pub(crate) fn get_or_build(dir: &Path, digest: &str, out: &Path, build: impl FnOnce(&Path) -> Result<()>) -> Result<Origin> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the component cache {}", dir.display()))?;
    let lock = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(format!("{digest}.lock")))?;
    lock.lock().with_context(|| format!("locking {digest} in the component cache"))?;
    let cached = dir.join(format!("{digest}.wasm"));
    if cached.is_file() {
        install(&cached, out)?;
        // Most recently used: the last to be evicted.
        let _ = File::options().write(true).open(&cached).and_then(|f| f.set_modified(SystemTime::now()));
        return Ok(Origin::Cached);
    }
    let tmp = out.with_extension("wasm.build");
    if let Err(failed) = build(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(failed);
    }
    install(&tmp, out)?;
    // Renamed into place, so a reader without the lock never sees half a file.
    let partial = dir.join(format!("{digest}.wasm.{}", std::process::id()));
    std::fs::rename(&tmp, &partial).or_else(|_| std::fs::copy(&tmp, &partial).map(drop).and_then(|()| std::fs::remove_file(&tmp)))?;
    std::fs::rename(&partial, &cached)?;
    drop(lock);
    evict(dir, LIMIT_BYTES);
    Ok(Origin::Built)
}

/// Removes the least recently used components until the rest fit in `limit` bytes, skipping any
/// that a build holds; best effort, as the cache is only ever a shortcut.
pub(crate) fn evict(dir: &Path, limit: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut components: Vec<(SystemTime, u64, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .filter_map(|p| std::fs::metadata(&p).ok().map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len(), p)))
        .collect();
    components.sort();
    let mut total: u64 = components.iter().map(|(_, bytes, _)| bytes).sum();
    for (_, bytes, path) in components {
        if total <= limit {
            break;
        }
        let lock_path = path.with_extension("lock");
        let Ok(lock) = File::options().write(true).open(&lock_path) else { continue };
        if lock.try_lock().is_err() {
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= bytes;
            let _ = std::fs::remove_file(&lock_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new folder for one test, removed when it ends (no tempfile: see this crate's manifest).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("fusion-build-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn built_as(bytes: &'static [u8]) -> impl FnOnce(&Path) -> Result<()> {
        move |path| Ok(std::fs::write(path, bytes)?)
    }

    #[test]
    fn the_second_build_of_the_same_inputs_is_a_copy_of_the_first() {
        let (cache, project) = (Scratch::new("reuse-cache"), Scratch::new("reuse-project"));
        let (first, second) = (project.path().join("a.wasm"), project.path().join("b.wasm"));
        assert_eq!(get_or_build(cache.path(), "d1", &first, built_as(b"one")).unwrap(), Origin::Built);
        let origin = get_or_build(cache.path(), "d1", &second, |_| panic!("built again")).unwrap();
        assert_eq!((origin, std::fs::read(&second).unwrap()), (Origin::Cached, b"one".to_vec()));
        assert_eq!(get_or_build(cache.path(), "d2", &second, built_as(b"two")).unwrap(), Origin::Built, "other inputs, another component");
        assert_eq!(std::fs::read(&second).unwrap(), b"two");
    }

    #[test]
    fn a_failed_build_caches_nothing() {
        let (cache, project) = (Scratch::new("failed-cache"), Scratch::new("failed-project"));
        let out = project.path().join("a.wasm");
        let failed = get_or_build(cache.path(), "d1", &out, |path| {
            std::fs::write(path, b"half")?;
            anyhow::bail!("componentize failed")
        });
        assert!(failed.is_err() && !out.exists());
        assert_eq!(get_or_build(cache.path(), "d1", &out, built_as(b"whole")).unwrap(), Origin::Built);
    }

    #[test]
    fn eviction_keeps_the_most_recently_used_within_the_limit() {
        let (cache, project) = (Scratch::new("evict-cache"), Scratch::new("evict-project"));
        let out = project.path().join("a.wasm");
        for digest in ["old", "used", "new"] {
            get_or_build(cache.path(), digest, &out, built_as(b"0123456789")).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        get_or_build(cache.path(), "used", &out, |_| panic!("cached")).unwrap();
        evict(cache.path(), 25);
        let left = |d: &str| cache.path().join(format!("{d}.wasm")).exists();
        assert_eq!((left("old"), left("used"), left("new")), (false, true, true));
    }
}
