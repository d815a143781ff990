//! The guest SDKs and the WIT contract as this binary was built with them, so a `fusion` installed
//! anywhere builds Python and JavaScript tasks without this repository: written once per content
//! into the toolchain cache, and into a project's `.fusion/wit` where componentize-js needs the
//! WIT below its working directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// The `fusion:task` world, the one contract between host and tasks.
pub const WIT: &str = include_str!("../../../wit/task.wit");

/// The Python SDK: `fusion` for tasks, `fusion_component` exporting the world.
pub const PYTHON: [(&str, &str); 2] =
    [("fusion.py", include_str!("../../../guest-sdk/python/fusion.py")), ("fusion_component.py", include_str!("../../../guest-sdk/python/fusion_component.py"))];

/// The JavaScript SDK a task imports.
pub const JAVASCRIPT: (&str, &str) = ("fusion.js", include_str!("../../../guest-sdk/js/fusion.js"));

/// The Rust SDK, the `fusion-guest` crate, with the WIT it generates its bindings from.
pub const RUST: [(&str, &str); 5] = [
    ("Cargo.toml", include_str!("../../../guest-sdk/Cargo.toml")),
    ("src/lib.rs", include_str!("../../../guest-sdk/src/lib.rs")),
    ("src/error.rs", include_str!("../../../guest-sdk/src/error.rs")),
    ("src/kv.rs", include_str!("../../../guest-sdk/src/kv.rs")),
    ("wit/task.wit", WIT),
];

/// The Python toolchain's pin (pip requirements).
pub const PYTHON_PINS: (&str, &str) = ("requirements.txt", include_str!("../../../guest-sdk/python/requirements.txt"));

/// The JavaScript toolchain's pins (npm manifest and lock).
pub const JAVASCRIPT_PINS: [(&str, &str); 2] =
    [("package.json", include_str!("../../../guest-sdk/js/package.json")), ("package-lock.json", include_str!("../../../guest-sdk/js/package-lock.json"))];

/// Writes `files` into `dir` unless they are there already with the same content.
pub fn materialize(dir: &Path, files: &[(&str, &str)]) -> Result<()> {
    for (name, content) in files {
        let path = dir.join(name);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        if std::fs::read_to_string(&path).ok().as_deref() != Some(*content) {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, content)?;
            std::fs::rename(&tmp, &path)?;
        }
    }
    Ok(())
}

/// The Python SDK on disk, in a folder named by its content.
pub(crate) fn python_dir(toolchains: &Path) -> Result<PathBuf> {
    let dir = toolchains.join("sdk").join(format!("python-{}", digest(&PYTHON)));
    materialize(&dir, &PYTHON)?;
    Ok(dir)
}

/// The WIT in the project's state folder, `.fusion/wit`.
pub(crate) fn wit_dir(state: &Path) -> Result<PathBuf> {
    let dir = state.join("wit");
    materialize(&dir, &[("task.wit", WIT)])?;
    Ok(dir)
}

/// A short digest of named contents.
pub(crate) fn digest(files: &[(&str, &str)]) -> String {
    let mut hash = Sha256::new();
    for (name, content) in files {
        hash.update(name.as_bytes());
        hash.update((content.len() as u64).to_le_bytes());
        hash.update(content.as_bytes());
    }
    hex::encode(&hash.finalize()[..8])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rust_sdk_carries_every_source_file() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-sdk/src");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = format!("src/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(super::RUST.iter().any(|(carried, _)| *carried == name), "{name} is not carried by the binary");
        }
    }
}
