//! The autopilot's telemetry, as it arrives: the records hosts appended since the last poll. A
//! local cluster's hosts append JSON lines to files in its telemetry folder; each file is read on
//! from where the last poll stopped, up to its last whole line (a host may be mid-write).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use anyhow::{Context, Result};
use fusion_host::telemetry::Record;
use fusion_measure::extract;

/// New records from a local cluster's telemetry folder.
pub struct Feed {
    dir: PathBuf,
    tasks: BTreeSet<String>,
    /// Per file, how many bytes were consumed (up to a whole line).
    read: BTreeMap<PathBuf, u64>,
}

impl Feed {
    /// Follows the telemetry in `dir` of an app with `tasks`, from now on: what is there already
    /// was measured before the autopilot started.
    pub fn from_now(dir: PathBuf, tasks: BTreeSet<String>) -> Result<Feed> {
        let mut feed = Feed { dir, tasks, read: BTreeMap::new() };
        for path in feed.files()? {
            let length = std::fs::metadata(&path)?.len();
            feed.read.insert(path, length);
        }
        Ok(feed)
    }

    /// The records appended since the last poll; lines that do not pass the telemetry checks are
    /// skipped (counted nowhere: a window only needs the believable ones).
    pub fn poll(&mut self) -> Result<Vec<Record>> {
        let mut records = Vec::new();
        for path in self.files()? {
            let offset = self.read.get(&path).copied().unwrap_or(0);
            let mut file = std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            file.seek(SeekFrom::Start(offset))?;
            let mut fresh = Vec::new();
            file.read_to_end(&mut fresh)?;
            let Some(end) = fresh.iter().rposition(|&b| b == b'\n') else { continue };
            records.extend(extract::parse_lines(&fresh[..=end], Some(&self.tasks)).0);
            self.read.insert(path, offset + end as u64 + 1);
        }
        Ok(records)
    }

    fn files(&self) -> Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(&self.dir).with_context(|| format!("no telemetry folder {}", self.dir.display()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                files.push(path);
            }
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(span_id: &str) -> String {
        let span = fusion_host::telemetry::Span {
            trace_id: "t1".into(),
            span_id: span_id.into(),
            parent_span: None,
            outside_parent: None,
            function: "A".into(),
            setup_version: 1,
            task: "A".into(),
            caller: None,
            mode: fusion_host::CallMode::Sync,
            remote: false,
            start_us: 1_700_000_000_000_000,
            duration_us: 10,
            cpu_us: 1,
            calls_us: 0,
            kv_ops: 0,
            kv_us: 0,
            memory_mb: 128,
            memory_used_kb: 64,
            cold_start: false,
            error: None,
        };
        serde_json::to_string(&Record::Span(span)).unwrap()
    }

    #[test]
    fn each_poll_returns_the_whole_lines_appended_since_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("A.jsonl");
        std::fs::write(&path, format!("{}\n", line("s1"))).unwrap();
        let mut feed = Feed::from_now(dir.path().to_path_buf(), BTreeSet::from(["A".to_string()])).unwrap();
        assert!(feed.poll().unwrap().is_empty(), "what was there before is not new");
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        let third = line("s3");
        write!(file, "{}\n{}", line("s2"), &third[..40]).unwrap();
        let records = feed.poll().unwrap();
        assert_eq!(records.len(), 1, "the half-written line waits: {records:?}");
        writeln!(file, "{}", &third[40..]).unwrap();
        std::fs::write(dir.path().join("B.jsonl"), format!("{}\n", line("s4"))).unwrap();
        assert_eq!(feed.poll().unwrap().len(), 2, "the finished line and a new host's file");
        assert!(feed.poll().unwrap().is_empty());
    }
}
