//! A call of a task as it travels between functions.

use serde::{Deserialize, Serialize};

use crate::bindings::Mode;

/// Sync: the caller waits for the result. Async: fire and forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallMode {
    /// The caller waits for the callee's result.
    Sync,
    /// Fire and forget: the call returns once the work is accepted.
    Async,
}

impl CallMode {
    /// The mode's name in the `x-fusion-mode` header and in signatures.
    pub fn as_str(self) -> &'static str {
        match self {
            CallMode::Sync => "sync",
            CallMode::Async => "async",
        }
    }
}

impl From<Mode> for CallMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Sync => CallMode::Sync,
            Mode::Async => CallMode::Async,
        }
    }
}

/// Everything a function needs to run a task for someone else.
#[derive(Debug, Clone)]
pub struct Call {
    /// The task to run.
    pub task: String,
    /// The task's input bytes, JSON by convention.
    pub payload: Vec<u8>,
    /// Whether the caller waits for the result.
    pub mode: CallMode,
    /// Where the call sits in its request's call tree.
    pub trace: TraceContext,
}

/// Where a call sits in its request's call tree.
#[derive(Debug, Clone)]
pub struct TraceContext {
    /// Identifies the request the call belongs to; every call of the request shares it.
    pub trace_id: String,
    /// The span of the calling task; `None` for an external request.
    pub parent_span: Option<String>,
    /// The calling task; `None` for an external request.
    pub caller: Option<String>,
    /// Nesting depth of the call, to stop runaway recursion.
    pub depth: u32,
    /// The setup version the request runs under; `None` for an external request, which runs under
    /// the callee's current setup. Every later call of the request carries that version.
    pub setup_version: Option<u64>,
}

impl TraceContext {
    /// The context of a request from outside the application.
    pub fn new_request() -> TraceContext {
        TraceContext { trace_id: new_trace_id(), parent_span: None, caller: None, depth: 0, setup_version: None }
    }
}

/// A random trace id: 32 hex digits (128 bits).
pub fn new_trace_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// A random span id: 16 hex digits (64 bits).
pub fn new_span_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}
