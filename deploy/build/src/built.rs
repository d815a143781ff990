//! What a build produces.

use std::path::PathBuf;

use anyhow::Context;
use fusion_project::Reporter;

use crate::language::Language;

/// One component that came out of a build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The task it implements.
    pub task: String,
    /// Where it was written: `<task>.wasm` in the project's components folder.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The language its task is written in.
    pub language: Language,
    /// Whether it was copied from the user's cache of components another project built.
    pub cached: bool,
}

impl Built {
    /// The component of `task` now at `path`.
    pub(crate) fn at(task: &str, path: &std::path::Path, language: Language, cached: bool) -> anyhow::Result<Self> {
        let bytes = std::fs::metadata(path).with_context(|| path.display().to_string())?.len();
        Ok(Built { task: task.to_string(), path: path.to_path_buf(), bytes, language, cached })
    }

    /// Tells `reporter` that this component is finished.
    pub(crate) fn report_to(&self, reporter: &dyn Reporter) {
        let from = if self.cached { "  (the same code built before: from the component cache)" } else { "" };
        reporter.note(&format!("built {:<24} {:>9.1} KiB  {}{from}", self.task, self.bytes as f64 / 1024.0, self.language.name()));
    }
}

/// Moves a freshly built file into place, so a half-written component is never seen.
pub(crate) fn install(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    let tmp = to.with_extension("wasm.tmp");
    std::fs::copy(from, &tmp).map_err(|e| anyhow::anyhow!("copying {} to {}: {e}", from.display(), tmp.display()))?;
    std::fs::rename(&tmp, to)?;
    Ok(())
}
