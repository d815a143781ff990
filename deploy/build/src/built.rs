//! What a build produces.

use std::path::PathBuf;

use fusion_project::Reporter;

use crate::language::Language;

/// One component that came out of a build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The component's file stem, `<app>_<task>`.
    pub name: String,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The language its task is written in.
    pub language: Language,
}


impl Built {
    /// Tells `reporter` that this component is finished.
    pub(crate) fn report_to(&self, reporter: &dyn Reporter) {
        reporter.note(&format!("built {:<28} {:>8.1} KiB  {}", self.name, self.bytes as f64 / 1024.0, self.language.name()));
    }
}
