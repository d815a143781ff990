//! A call of a task as it travels between functions.

use serde::{Deserialize, Serialize};

use crate::bindings::Mode;
use crate::trace_context::TraceContext;

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
