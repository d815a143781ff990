//! Telemetry records: a span per task execution and a record per function
//! invocation, written to a sink the embedding chooses.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::call::CallMode;
use crate::error::ErrorKind;

/// A telemetry record, tagged by `kind` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// One execution of one task.
    Span(Span),
    /// One invocation of a function.
    Invocation(InvocationRecord),
}

/// One execution of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// The request the execution belongs to.
    pub trace_id: String,
    /// Identifies this execution within its trace.
    pub span_id: String,
    /// The span of the calling task; `None` for an external request.
    pub parent_span: Option<String>,
    /// For an external request's first span: the span of the client that sent it, from its W3C
    /// `traceparent` (the span's parent in an exported trace, outside Fusion's call tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_parent: Option<String>,
    /// The function that ran the task.
    pub function: String,
    /// The version of the fusion setup the invocation ran under.
    pub setup_version: u64,
    /// The task that ran.
    pub task: String,
    /// The calling task; `None` for an external request.
    pub caller: Option<String>,
    /// How the task was called: sync or async.
    pub mode: CallMode,
    /// True when the call crossed a function boundary to get here.
    pub remote: bool,
    /// Unix time in µs.
    pub start_us: u64,
    /// Wall time of the execution in µs, its calls and waits included.
    pub duration_us: u64,
    /// Time the guest itself ran (not waiting on calls, sleeps or its CPU budget).
    pub cpu_us: u64,
    /// Time the task waited on its sync calls (all of `invoke-all`'s as one wait).
    #[serde(default)]
    pub calls_us: u64,
    /// The tasks it called with `invoke-all`, together with other calls: those calls overlap
    /// whatever their spans show (a remote callee's span may be over long before the caller
    /// has its answer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub called_together: Vec<String>,
    /// Key-value store operations the task ran (their time is the task's own, not `calls_us`).
    #[serde(default)]
    pub kv_ops: u64,
    /// Time those operations took, µs.
    #[serde(default)]
    pub kv_us: u64,
    /// Memory size of the function in MB, which also set its CPU share.
    pub memory_mb: u32,
    /// Linear memory and tables the task's store held, KiB: its peak (stores never shrink).
    #[serde(default)]
    pub memory_used_kb: u64,
    /// True when the task ran in an invocation that was a cold start.
    pub cold_start: bool,
    /// The kind of failure; `None` when the task returned a result.
    pub error: Option<ErrorKind>,
}

impl Span {
    /// True for a call that was never run: an async call its caller's outbox could not hand over
    /// (see [`crate::outbox::refused_span`]). Every execution takes some time.
    pub fn never_ran(&self) -> bool {
        self.error.is_some() && self.duration_us == 0
    }
}

/// One invocation of a function: from the request's arrival until its last local work ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationRecord {
    /// The request the invocation served.
    pub trace_id: String,
    /// The function invoked.
    pub function: String,
    /// The version of the fusion setup the invocation ran under.
    pub setup_version: u64,
    /// The span of the task the invocation was started for.
    pub root_span: String,
    /// Unix time in µs.
    pub start_us: u64,
    /// Starting the environment, when the invocation was a cold start (included in the rest).
    pub init_us: u64,
    /// Until the response was ready.
    pub response_us: u64,
    /// Until all local work (including fused async calls) ended: what Lambda bills, the init
    /// phase included.
    pub duration_us: u64,
    /// `duration_us` rounded up to whole milliseconds, as Lambda bills it.
    pub billed_ms: u64,
    /// Memory size of the function in MB.
    pub memory_mb: u32,
    /// True when the invocation started a new execution environment.
    pub cold_start: bool,
    /// The most memory the environment used during the invocation, MB rounded up (Lambda's "Max
    /// Memory Used"): the host's share and every store it held at once (see `memory`). For an
    /// invocation that ran out of memory, what it would have used.
    #[serde(default)]
    pub max_memory_used_mb: u32,
    /// The environment would have exceeded the memory size: the invocation failed and the
    /// environment was retired.
    #[serde(default)]
    pub out_of_memory: bool,
    /// The host process's peak resident memory so far, MB, beside the environment's: one process
    /// serves many environments of its function at once.
    #[serde(default)]
    pub process_max_rss_mb: u32,
}

/// Where records go.
pub trait RecordSink: Send + Sync {
    /// Writes one record; called as each span and invocation ends.
    fn record(&self, record: Record);
}

/// Keeps records in memory, for the in-process runner and tests.
#[derive(Default)]
pub struct MemorySink(Mutex<Vec<Record>>);

impl MemorySink {
    /// Removes and returns the records kept so far, oldest first.
    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl RecordSink for MemorySink {
    fn record(&self, record: Record) {
        self.0.lock().unwrap().push(record);
    }
}

/// Appends records as JSON lines to a file.
pub struct JsonLinesSink(Mutex<std::io::BufWriter<std::fs::File>>);

impl JsonLinesSink {
    /// Opens `path` for appending, creating it if needed.
    pub fn create(path: &std::path::Path) -> std::io::Result<JsonLinesSink> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonLinesSink(Mutex::new(std::io::BufWriter::new(file))))
    }
}

impl RecordSink for JsonLinesSink {
    fn record(&self, record: Record) {
        use std::io::Write;
        let mut out = self.0.lock().unwrap();
        if serde_json::to_writer(&mut *out, &record).is_ok() {
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
    }
}

/// Passes every record to each of several sinks (telemetry file, metrics, exporter).
pub struct Tee(pub Vec<Arc<dyn RecordSink>>);

impl RecordSink for Tee {
    fn record(&self, record: Record) {
        if let Some((last, others)) = self.0.split_last() {
            for sink in others {
                sink.record(record.clone());
            }
            last.record(record);
        }
    }
}

/// Discards records.
pub struct NullSink;

impl RecordSink for NullSink {
    fn record(&self, _: Record) {}
}

/// `at` in µs since the Unix epoch; 0 for a time before it.
pub fn unix_micros(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Lambda bills every started millisecond.
pub fn billed_ms(duration_us: u64) -> u64 {
    duration_us.div_ceil(1000).max(1)
}
