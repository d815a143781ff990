//! Loading task components: content digests, and precompiled artifacts cached on disk so each
//! component is compiled once per engine configuration.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::mem_file::MemFile;

/// A compiled component and the digest of the bytes it came from.
pub struct LoadedComponent {
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// The compiled component, ready to be linked.
    pub component: Component,
    /// True when a precompiled artifact was used instead of compiling.
    pub from_artifact: bool,
    /// What loading it costs a new environment: deserializing its artifact. For a component
    /// compiled here, loading the artifact it was compiled to: a cold environment on Lambda
    /// loads an artifact and never compiles, so compiling is a one-time cost of the machine.
    pub load_time: Duration,
}

/// `sha256:<hex>` of a component's bytes: its identity everywhere in Fusion.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The most the artifacts under a cache's root (every engine fingerprint) take on disk before the
/// least recently used are removed: a Python task's artifact is ~35 MB, a Rust task's ~1 MB.
pub const LIMIT_BYTES: u64 = 2 << 30;

/// Compiles components, keeping precompiled artifacts in `dir/<engine fingerprint>/`.
///
/// Artifacts are only ever read from this directory and are named by the digest of the source
/// bytes, so only artifacts Fusion wrote itself for exactly that component are deserialized.
pub struct ArtifactCache {
    engine: Engine,
    dir: PathBuf,
}

impl ArtifactCache {
    /// A cache for `engine`'s artifacts under `root`, in the subdirectory named by its fingerprint.
    pub fn new(engine: &Engine, root: &Path) -> ArtifactCache {
        ArtifactCache { engine: engine.clone(), dir: root.join(engine_fingerprint(engine)) }
    }

    /// Loads and compiles the component at `path`, naming the file in every error.
    pub fn load_file(&self, path: &Path) -> Result<LoadedComponent> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read component {}", path.display()))?;
        self.load_bytes(&bytes).with_context(|| format!("{} was refused", path.display()))
    }

    /// Loads a component from its bytes: from its artifact when there is a usable one, else by
    /// compiling it (and caching the artifact).
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<LoadedComponent> {
        check_component_header(bytes)?;
        let digest = digest_of(bytes);
        if let Some(loaded) = self.load_cached(&digest) {
            return Ok(loaded);
        }
        let compiling = Instant::now();
        let component = Component::new(&self.engine, bytes).map_err(anyhow::Error::from).context("not a valid component")?;
        let artifact = component.serialize()?;
        match store_artifact(&self.dir, &self.path(&digest), |file| std::io::Write::write_all(file, &artifact)) {
            // The artifact's mapping replaces the compiled copy, so the load time is the artifact's.
            Ok(()) => {
                if let Some(loaded) = self.load_cached(&digest) {
                    return Ok(LoadedComponent { from_artifact: false, ..loaded });
                }
            }
            Err(err) => tracing::warn!("could not cache the artifact of {digest}: {err:#}"),
        }
        Ok(LoadedComponent { digest, component, from_artifact: false, load_time: compiling.elapsed() })
    }

    /// The component `digest` from its cached artifact, without its bytes; None when there is no
    /// usable artifact.
    pub fn load_cached(&self, digest: &str) -> Option<LoadedComponent> {
        let artifact = self.path(digest);
        if !artifact.exists() {
            return None;
        }
        let started = Instant::now();
        // SAFETY: artifacts in this directory were written by Fusion for exactly the component
        // whose digest names them, under this engine's fingerprint: by `load_bytes`, or by
        // `install` from a source the caller authenticated.
        match unsafe { Component::deserialize_file(&self.engine, &artifact) } {
            Ok(component) => {
                // Most recently used: the last to be evicted.
                let _ = std::fs::File::options().write(true).open(&artifact).and_then(|f| f.set_modified(SystemTime::now()));
                Some(LoadedComponent { digest: digest.to_string(), component, from_artifact: true, load_time: started.elapsed() })
            }
            Err(err) => {
                tracing::warn!("ignoring unusable artifact {}: {err:#}", artifact.display());
                None
            }
        }
    }

    /// Loads the artifact of `digest` obtained elsewhere, `len` bytes that `fill` writes, from an
    /// in-memory file, and caches it on a thread of its own: the component is ready before its
    /// artifact (tens of MB for an interpreter) is on disk. The caller must have checked that
    /// Fusion wrote it (see the store's sealed artifacts): a forged artifact is native code.
    pub fn install(&self, digest: &str, len: usize, fill: impl FnOnce(&mut [u8]) -> Result<()>) -> Result<LoadedComponent> {
        let started = Instant::now();
        let image = MemFile::filled(len, fill)?;
        // SAFETY: the caller authenticated the artifact as one Fusion compiled for this digest;
        // wasmtime checks it was compiled for this engine's configuration, and nothing writes the
        // in-memory file once it is mapped.
        let component = unsafe { Component::deserialize_file(&self.engine, image.path()) }.map_err(anyhow::Error::from).context("an unusable artifact")?;
        let (dir, path) = (self.dir.clone(), self.path(digest));
        let cached = std::thread::Builder::new().name("fusion-cache".into()).spawn(move || {
            let copied = image.into_reader().map_err(anyhow::Error::from).and_then(|mut from| store_artifact(&dir, &path, |to| std::io::copy(&mut from, to).map(drop)));
            if let Err(err) = copied {
                tracing::warn!("could not cache the artifact {}: {err:#}", path.display());
            }
        });
        if let Err(err) = cached {
            tracing::warn!("could not cache the artifact of {digest}: {err}");
        }
        Ok(LoadedComponent { digest: digest.to_string(), component, from_artifact: true, load_time: started.elapsed() })
    }

    /// The bytes of the cached artifact of `digest`, to publish it.
    pub fn read(&self, digest: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(digest)).ok()
    }

    /// The engine configuration the artifacts are for.
    pub fn fingerprint(&self) -> &str {
        self.dir.file_name().and_then(|n| n.to_str()).unwrap_or_default()
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.trim_start_matches("sha256:")))
    }

}

/// Written aside (by `write`) and renamed into place, never rewritten in place: loaded components
/// map their artifact, and truncating a mapped file would fault them.
fn store_artifact(dir: &Path, artifact: &Path, write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = artifact.with_extension(format!("tmp{}-{}", std::process::id(), fastrand::u32(..)));
    let written = std::fs::File::create(&tmp).and_then(|mut file| write(&mut file));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err.into());
    }
    std::fs::rename(&tmp, artifact)?;
    if let Some(root) = dir.parent() {
        evict(root, LIMIT_BYTES);
    }
    Ok(())
}

/// Removes the least recently used artifacts under `root`, of every engine fingerprint, until the
/// rest fit in `limit` bytes. A host that mapped a removed artifact keeps its mapping.
pub fn evict(root: &Path, limit: u64) {
    let entries = |dir: &Path| std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path());
    let mut artifacts: Vec<(SystemTime, u64, PathBuf)> = entries(root)
        .flat_map(|fingerprint| entries(&fingerprint).collect::<Vec<_>>())
        .filter(|path| path.extension().is_some_and(|e| e == "cwasm"))
        .filter_map(|path| std::fs::metadata(&path).ok().map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len(), path)))
        .collect();
    artifacts.sort();
    let mut total: u64 = artifacts.iter().map(|(_, bytes, _)| bytes).sum();
    for (_, bytes, path) in artifacts {
        if total <= limit {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total -= bytes;
        }
    }
}

/// Names the engine configuration that precompiled artifacts are valid for.
pub fn engine_fingerprint(engine: &Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hex::encode(&hasher.0.finalize()[..12])
}

/// Gives a precise reason for the common mistakes before the parser's generic one.
fn check_component_header(bytes: &[u8]) -> Result<()> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        bail!("not a WebAssembly file (no \\0asm header)");
    }
    // Core modules have layer 0 in bytes 6..8; components have layer 1.
    if bytes[6..8] == [0, 0] {
        bail!("a core WebAssembly module, not a component (build tasks for wasm32-wasip2)");
    }
    Ok(())
}
