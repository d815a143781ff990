//! Key-value stores for tasks (the `fusion:task/kv` import): named stores of an app, each a map
//! from string keys to byte values, with an atomic increment and compare-and-swap. Deny by
//! default: a task reaches only the stores its policy grants it (`kv = ["cart"]` in
//! `fusion.toml`), and a backend serves one app only, so another app's data is unreachable.
//! Fused or remote, a task reaches the same backend: every host of an app opens the same one
//! (a SQLite file shared by a local cluster's processes, a DynamoDB table on AWS).

mod access;
pub mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

pub use access::{KvSession, KvStats};

/// What a backend's operation returns: a boxed future of its answer.
pub type KvFuture = Pin<Box<dyn Future<Output = Result<KvAnswer, KvError>> + Send + 'static>>;

/// Longest key, in bytes of UTF-8 (DynamoDB's sort key allows 1 KiB).
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value: DynamoDB's item limit (400 KB) leaves room for the key and attributes.
pub const MAX_VALUE_BYTES: usize = 256 << 10;
/// Most keys one listing returns (the first, in key order).
pub const MAX_LISTED_KEYS: usize = 1000;

/// Why a store operation failed; mirrors `kv-error-kind` in `wit/task.wit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KvErrorKind {
    /// The task has no grant for the store, or the store's name is not one.
    Denied,
    /// The key or the value is over its limit.
    TooLarge,
    /// `increment` found a value that is not a decimal 64-bit integer, or would overflow.
    NotANumber,
    /// The backend could not be reached or failed.
    Unavailable,
}

/// A failed store operation: a kind the task can act on and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct KvError {
    /// What went wrong.
    pub kind: KvErrorKind,
    /// What went wrong, for people.
    pub message: String,
}

impl KvError {
    /// An error of `kind` explained by `message`.
    pub fn new(kind: KvErrorKind, message: impl Into<String>) -> KvError {
        KvError { kind, message: message.into() }
    }

    /// The backend failed.
    pub fn unavailable(why: impl fmt::Display) -> KvError {
        KvError::new(KvErrorKind::Unavailable, why.to_string())
    }
}

/// One operation on a store of the backend's app. Keys and values are within their limits when
/// a backend sees them. The fields are the parameters of the same names in `wit/task.wit`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum KvOp {
    /// The value of `key`, if any.
    Get { store: String, key: String },
    /// Sets `key` to `value`.
    Set { store: String, key: String, value: Vec<u8> },
    /// Removes `key` (nothing if it is absent).
    Delete { store: String, key: String },
    /// Whether `key` has a value.
    Exists { store: String, key: String },
    /// The keys starting with `prefix`, in order, at most [`MAX_LISTED_KEYS`].
    Keys { store: String, prefix: String },
    /// Adds `delta` to the decimal integer at `key` (absent is 0) and answers the sum.
    Increment { store: String, key: String, delta: i64 },
    /// Sets `key` to `new` only if its value is `expected` (`None`: absent); answers whether it did.
    CompareAndSwap { store: String, key: String, expected: Option<Vec<u8>>, new: Vec<u8> },
}

/// What an operation answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvAnswer {
    /// `get`: the value, if any.
    Value(Option<Vec<u8>>),
    /// `set`, `delete`.
    Done,
    /// `exists`, `compare-and-swap`.
    Flag(bool),
    /// `keys`.
    Keys(Vec<String>),
    /// `increment`: the new value.
    Number(i64),
}

impl KvOp {
    /// The store the operation is on.
    pub fn store(&self) -> &str {
        match self {
            KvOp::Get { store, .. }
            | KvOp::Set { store, .. }
            | KvOp::Delete { store, .. }
            | KvOp::Exists { store, .. }
            | KvOp::Keys { store, .. }
            | KvOp::Increment { store, .. }
            | KvOp::CompareAndSwap { store, .. } => store,
        }
    }

    /// Refuses keys and values over their limits, before anything reaches a backend.
    pub fn check(&self) -> Result<(), KvError> {
        let (key, values): (&str, Vec<&[u8]>) = match self {
            KvOp::Get { key, .. } | KvOp::Delete { key, .. } | KvOp::Exists { key, .. } | KvOp::Increment { key, .. } => (key, vec![]),
            KvOp::Keys { prefix, .. } => (prefix, vec![]),
            KvOp::Set { key, value, .. } => (key, vec![value]),
            KvOp::CompareAndSwap { key, expected, new, .. } => (key, expected.iter().map(Vec::as_slice).chain([new.as_slice()]).collect()),
        };
        if key.len() > MAX_KEY_BYTES {
            return Err(KvError::new(KvErrorKind::TooLarge, format!("a key of {} bytes; at most {MAX_KEY_BYTES}", key.len())));
        }
        if let Some(value) = values.iter().find(|v| v.len() > MAX_VALUE_BYTES) {
            return Err(KvError::new(KvErrorKind::TooLarge, format!("a value of {} bytes; at most {MAX_VALUE_BYTES}", value.len())));
        }
        Ok(())
    }
}

/// Where one app's stores live.
pub trait KvBackend: Send + Sync + 'static {
    /// Runs `op`, atomically.
    fn run(&self, op: KvOp) -> KvFuture;
}

/// The value an increment reads: absent is 0; anything but a decimal i64 is refused.
pub fn parse_counter(key: &str, value: Option<&[u8]>) -> Result<i64, KvError> {
    let Some(bytes) = value else { return Ok(0) };
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or_else(|| KvError::new(KvErrorKind::NotANumber, format!("the value of '{key}' is not a decimal 64-bit integer")))
}

/// `counter + delta`, or `not-a-number` when it overflows.
pub fn add_to_counter(key: &str, counter: i64, delta: i64) -> Result<i64, KvError> {
    counter.checked_add(delta).ok_or_else(|| KvError::new(KvErrorKind::NotANumber, format!("incrementing '{key}' by {delta} overflows")))
}

/// Names of stores are like task names: 1–40 letters, digits, `-` or `_`.
pub fn is_store_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
