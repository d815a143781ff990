//! Loops on disk: every loop `fusion optimize --loop` or `fusion demo` runs is kept as JSON in the
//! project's `.fusion/loops/<app>-<unix time>.json`, so `fusion report` can render it any time
//! later, alone or beside others.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use fusion_project::Project;

use crate::tuning_loop::LoopReport;

/// Where the project's loops are kept.
pub fn loops_dir(project: &Project) -> PathBuf {
    project.state_dir().join("loops")
}

/// Writes `report` into the project's loops folder, under a name no earlier loop has; returns
/// the file.
pub fn save(project: &Project, report: &LoopReport) -> Result<PathBuf> {
    let dir = loops_dir(project);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_vec_pretty(report)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    for attempt in 0.. {
        let name = if attempt == 0 { format!("{}-{now}.json", report.app) } else { format!("{}-{now}-{attempt}.json", report.app) };
        let path = dir.join(name);
        match std::fs::File::create_new(&path) {
            Ok(mut file) => {
                file.write_all(&json).with_context(|| format!("cannot write {}", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    unreachable!("some attempt finds a free name")
}

/// The loop recorded in `path`, checked to be whole: a step measured, the best one of them.
pub fn load(path: &Path) -> Result<LoopReport> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let report: LoopReport = serde_json::from_slice(&text).with_context(|| format!("{} is not a loop recorded by fusion", path.display()))?;
    ensure!(report.best < report.steps.len(), "{}: the loop's best step {} is not one of its {} steps", path.display(), report.best, report.steps.len());
    Ok(report)
}
