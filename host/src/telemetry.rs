//! Telemetry records (DESIGN.md §6): a span per task execution and a record per function
//! invocation, written to a sink the embedding chooses.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::call::CallMode;
use crate::error::ErrorKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Span(Span),
    Invocation(InvocationRecord),
}

/// One execution of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span: Option<String>,
    /// The function that ran the task.
    pub function: String,
    /// The version of the fusion setup the invocation ran under.
    pub setup_version: u64,
    pub task: String,
    pub caller: Option<String>,
    pub mode: CallMode,
    /// True when the call crossed a function boundary to get here.
    pub remote: bool,
    /// Unix time in µs.
    pub start_us: u64,
    pub duration_us: u64,
    /// Time the guest itself ran (not waiting on calls, sleeps or its CPU budget).
    pub cpu_us: u64,
    /// Time the task waited on its sync calls (all of `invoke-all`'s as one wait).
    #[serde(default)]
    pub calls_us: u64,
    pub memory_mb: u32,
    pub cold_start: bool,
    pub error: Option<ErrorKind>,
}

/// One invocation of a function: from the request's arrival until its last local work ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationRecord {
    pub trace_id: String,
    pub function: String,
    pub setup_version: u64,
    /// The span of the task the invocation was started for.
    pub root_span: String,
    pub start_us: u64,
    /// Starting the environment, when the invocation was a cold start (included in the rest).
    pub init_us: u64,
    /// Until the response was ready.
    pub response_us: u64,
    /// Until all local work (including fused async calls) ended: what Lambda bills, the init
    /// phase included.
    pub duration_us: u64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub cold_start: bool,
}

/// Where records go.
pub trait RecordSink: Send + Sync {
    fn record(&self, record: Record);
}

/// Keeps records in memory, for the in-process runner and tests.
#[derive(Default)]
pub struct MemorySink(Mutex<Vec<Record>>);

impl MemorySink {
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

/// Discards records.
pub struct NullSink;

impl RecordSink for NullSink {
    fn record(&self, _: Record) {}
}

pub fn unix_micros(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Lambda bills every started millisecond.
pub fn billed_ms(duration_us: u64) -> u64 {
    duration_us.div_ceil(1000).max(1)
}
