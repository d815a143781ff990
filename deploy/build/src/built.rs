//! What a build produces.

use std::path::PathBuf;

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
}

impl Built {
    /// Tells `reporter` that this component is finished.
    pub(crate) fn report_to(&self, reporter: &dyn Reporter) {
        reporter.note(&format!("built {:<24} {:>9.1} KiB  {}", self.task, self.bytes as f64 / 1024.0, self.language.name()));
    }
}

/// Moves a freshly built file into place, so a half-written component is never seen.
pub(crate) fn install(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    let tmp = to.with_extension("wasm.tmp");
    std::fs::copy(from, &tmp).map_err(|e| anyhow::anyhow!("copying {} to {}: {e}", from.display(), tmp.display()))?;
    std::fs::rename(&tmp, to)?;
    Ok(())
}
