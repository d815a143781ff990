//! Telemetry of a function on Lambda: every record is a JSON line on stdout, which Lambda ships
//! to CloudWatch Logs, and records are also batched to the store
//! (`telemetry/{app}/{function}/{batch}.jsonl`), where `fusion extract` and the optimizer read
//! them without CloudWatch. A frozen environment runs nothing, so batches are written at the end
//! of an invocation, once enough records or time have gathered.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fusion_host::telemetry::{Record, RecordSink};
use fusion_store::Store;

/// A batch is written once it has this many records, or its oldest record is `batch_age` old.
const BATCH_RECORDS: usize = 200;

/// The default `batch_age`.
pub(crate) const BATCH_AGE: Duration = Duration::from_secs(10);

pub(crate) struct LambdaSink {
    pending: Mutex<Batch>,
    batch_age: Duration,
}

struct Batch {
    lines: Vec<u8>,
    records: usize,
    since: Option<Instant>,
    written: u64,
}

impl LambdaSink {
    pub fn new(batch_age: Duration) -> LambdaSink {
        LambdaSink { pending: Mutex::new(Batch { lines: Vec::new(), records: 0, since: None, written: 0 }), batch_age }
    }

    /// Writes the gathered records to the store when a batch is due (or `force`d). A failed write
    /// keeps them for the next try: the CloudWatch lines are already out.
    pub async fn flush(&self, store: &Store, app: &str, function: &str, environment: &str, force: bool) {
        let (lines, records, id) = {
            let mut batch = self.pending.lock().unwrap();
            let due = batch.records >= BATCH_RECORDS || batch.since.is_some_and(|t| t.elapsed() >= self.batch_age);
            if batch.records == 0 || !(due || force) {
                return;
            }
            batch.written += 1;
            batch.since = None;
            (std::mem::take(&mut batch.lines), std::mem::take(&mut batch.records), format!("{environment}-{:06}", batch.written))
        };
        if let Err(err) = store.put_telemetry(app, function, &id, lines.clone()).await {
            tracing::warn!("telemetry batch {id} not written, kept for the next try: {err:#}");
            let mut batch = self.pending.lock().unwrap();
            let mut kept = lines;
            kept.append(&mut batch.lines);
            batch.lines = kept;
            batch.records += records;
            batch.since.get_or_insert_with(Instant::now);
        }
    }
}

impl RecordSink for LambdaSink {
    fn record(&self, record: Record) {
        let Ok(mut line) = serde_json::to_vec(&record) else { return };
        line.push(b'\n');
        let _ = std::io::stdout().lock().write_all(&line);
        let mut batch = self.pending.lock().unwrap();
        batch.lines.extend_from_slice(&line);
        batch.records += 1;
        batch.since.get_or_insert_with(Instant::now);
    }
}
