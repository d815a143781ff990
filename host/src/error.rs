//! The typed error of a task call, shared by the runtime, the router and the transports.

use serde::{Deserialize, Serialize};

use crate::bindings::{WitCallError, WitErrorKind};

/// Why a call failed; mirrors `error-kind` in `wit/task.wit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// No task of that name exists in the application.
    NotFound,
    /// The callee trapped (panic, unreachable, out of memory).
    Trapped,
    /// The callee ran past its deadline.
    Timeout,
    /// The function hosting the callee could not be reached.
    Unavailable,
    /// The call was refused (bad input, authentication, overload, nesting too deep).
    Rejected,
    /// The callee returned an error of its own.
    Application,
    /// The callee's function is at its concurrency limit, or its async queue is full: nothing
    /// ran, a retry may succeed (Lambda's `TooManyRequestsException`, HTTP 429).
    Throttled,
    /// The callee's execution environment would have used more memory than its function's
    /// memory size; the environment was retired (Lambda's `Runtime.OutOfMemory`).
    OutOfMemory,
}

impl ErrorKind {
    /// Every kind, in the order of `wit/task.wit`.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::NotFound,
        ErrorKind::Trapped,
        ErrorKind::Timeout,
        ErrorKind::Unavailable,
        ErrorKind::Rejected,
        ErrorKind::Application,
        ErrorKind::Throttled,
        ErrorKind::OutOfMemory,
    ];

    /// The kind's kebab-case name, as in `wit/task.wit` and the JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not-found",
            ErrorKind::Trapped => "trapped",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Application => "application",
            ErrorKind::Throttled => "throttled",
            ErrorKind::OutOfMemory => "out-of-memory",
        }
    }
}

/// A failed call: a kind the caller can act on and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}", kind = kind.as_str())]
pub struct CallError {
    /// What went wrong, for the caller to act on.
    pub kind: ErrorKind,
    /// What went wrong, for people.
    pub message: String,
}

impl CallError {
    /// An error of `kind` explained by `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CallError { kind, message: message.into() }
    }
}

impl From<CallError> for WitCallError {
    fn from(e: CallError) -> Self {
        let kind = match e.kind {
            ErrorKind::NotFound => WitErrorKind::NotFound,
            ErrorKind::Trapped => WitErrorKind::Trapped,
            ErrorKind::Timeout => WitErrorKind::Timeout,
            ErrorKind::Unavailable => WitErrorKind::Unavailable,
            ErrorKind::Rejected => WitErrorKind::Rejected,
            ErrorKind::Application => WitErrorKind::Application,
            ErrorKind::Throttled => WitErrorKind::Throttled,
            ErrorKind::OutOfMemory => WitErrorKind::OutOfMemory,
        };
        WitCallError { kind, message: e.message }
    }
}
