//! The autopilot's telemetry, as it arrives: the records hosts wrote since the last poll. A
//! local cluster's hosts append JSON lines to files in its telemetry folder; each file is read on
//! from where the last poll stopped, up to its last whole line (a host may be mid-write). On
//! Lambda, hosts write batches to the store, never rewritten: each new batch is fetched once.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use anyhow::{Context, Result};
use fusion_host::telemetry::Record;
use fusion_measure::extract;
use fusion_store::Store;

/// New records of an app with the given tasks; lines that do not pass the telemetry checks are
/// skipped (a window only needs the believable ones).
pub struct Feed {
    tasks: BTreeSet<String>,
    source: Source,
}

enum Source {
    /// A local cluster's telemetry folder, and per file how many bytes were consumed.
    Folder { dir: PathBuf, read: BTreeMap<PathBuf, u64> },
    /// The store's batches of an app, and the batches already fetched.
    Store { store: Store, app: String, fetched: BTreeSet<String> },
}

impl Feed {
    /// Follows the telemetry folder `dir` of a local cluster from now on: what is there already
    /// was measured before the autopilot started.
    pub fn folder(dir: PathBuf, tasks: BTreeSet<String>) -> Result<Feed> {
        let mut read = BTreeMap::new();
        for path in files(&dir)? {
            let length = std::fs::metadata(&path)?.len();
            read.insert(path, length);
        }
        Ok(Feed { tasks, source: Source::Folder { dir, read } })
    }

    /// Follows the telemetry batches of `app` in `store` from now on.
    pub async fn store(store: Store, app: &str, tasks: BTreeSet<String>) -> Result<Feed> {
        let fetched = store.telemetry_batches(app).await?.into_iter().collect();
        Ok(Feed { tasks, source: Source::Store { store, app: app.to_string(), fetched } })
    }

    /// The records written since the last poll.
    pub async fn poll(&mut self) -> Result<Vec<Record>> {
        let mut lines = Vec::new();
        match &mut self.source {
            Source::Folder { dir, read } => {
                for path in files(dir)? {
                    let offset = read.get(&path).copied().unwrap_or(0);
                    let mut file = std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
                    file.seek(SeekFrom::Start(offset))?;
                    let mut fresh = Vec::new();
                    file.read_to_end(&mut fresh)?;
                    let Some(end) = fresh.iter().rposition(|&b| b == b'\n') else { continue };
                    lines.extend_from_slice(&fresh[..=end]);
                    read.insert(path, offset + end as u64 + 1);
                }
            }
            Source::Store { store, app, fetched } => {
                for name in store.telemetry_batches(app).await? {
                    if !fetched.contains(&name) {
                        let mut batch = store.telemetry_batch(&name).await?;
                        if !batch.ends_with(b"\n") {
                            batch.push(b'\n');
                        }
                        lines.append(&mut batch);
                        fetched.insert(name);
                    }
                }
            }
        }
        Ok(extract::parse_lines(&lines, Some(&self.tasks)).0)
    }
}

fn files(dir: &PathBuf) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("no telemetry folder {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            files.push(path);
        }
    }
    Ok(files)
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
            called_together: Vec::new(),
            kv_ops: 0,
            kv_us: 0,
            memory_mb: 128,
            memory_used_kb: 64,
            cold_start: false,
            error: None,
        };
        serde_json::to_string(&Record::Span(span)).unwrap()
    }

    #[tokio::test]
    async fn each_poll_returns_the_whole_lines_appended_since_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("A.jsonl");
        std::fs::write(&path, format!("{}\n", line("s1"))).unwrap();
        let mut feed = Feed::folder(dir.path().to_path_buf(), BTreeSet::from(["A".to_string()])).unwrap();
        assert!(feed.poll().await.unwrap().is_empty(), "what was there before is not new");
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        let third = line("s3");
        write!(file, "{}\n{}", line("s2"), &third[..40]).unwrap();
        let records = feed.poll().await.unwrap();
        assert_eq!(records.len(), 1, "the half-written line waits: {records:?}");
        writeln!(file, "{}", &third[40..]).unwrap();
        std::fs::write(dir.path().join("B.jsonl"), format!("{}\n", line("s4"))).unwrap();
        assert_eq!(feed.poll().await.unwrap().len(), 2, "the finished line and a new host's file");
        assert!(feed.poll().await.unwrap().is_empty());
    }
}
