//! The error a handler returns; its message reaches the caller as an `application` error.

use std::fmt;

use crate::{CallError, ErrorKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub fn msg(message: impl fmt::Display) -> Error {
        Error(message.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        Error(format!("{}: {}", kind_name(e.kind), e.message))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error(e.to_string())
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error(message.to_string())
    }
}

/// The WIT name of a kind, as the host spells it.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
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
