//! The autopilot's journal: one JSON line per window in the project's `.fusion/autopilot.jsonl`
//! — what it measured, what changed, what it decided and why — for people, reports and tests.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::pilot::Judgement;

/// One window, as the journal keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The window's number, from 1.
    pub window: usize,
    /// The setup version that served it.
    pub version: u64,
    /// Its groups, for people.
    pub groups: String,
    /// Requests in the window.
    pub requests: usize,
    /// Their median latency, ms, and mean cost, $.
    pub p50_latency_ms: f64,
    /// Mean dollars per request.
    pub mean_cost: f64,
    /// Edges whose calls per request moved since the window before: (edge, before, now).
    pub drift: Vec<(String, f64, f64)>,
    /// The verdict on the setup on trial, if one was.
    pub judgement: Option<Judgement>,
    /// `apply`, `rollback` or `hold`.
    pub action: &'static str,
    /// The version made current, for `apply` and `rollback`.
    pub applied: Option<u64>,
    /// Why.
    pub reason: String,
}

/// Appends entries to a journal file.
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal at `path`, created with its folder when missing.
    pub fn at(path: &Path) -> Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Journal { path: path.to_path_buf() })
    }

    /// Appends one entry.
    pub fn write(&self, entry: &Entry) -> Result<()> {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).with_context(|| format!("cannot write {}", self.path.display()))?;
        writeln!(file, "{}", serde_json::to_string(entry)?)?;
        Ok(())
    }
}
