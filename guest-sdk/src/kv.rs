//! Key-value stores: named maps from string keys to byte values that outlive a request and are
//! shared by every task of the app granted them (`kv = ["cart"]` in `fusion.toml`), fused or
//! remote. Keys up to 512 bytes, values up to 256 KiB, at most 1,000 keys per listing.
//!
//! ```no_run
//! use fusion_guest::kv;
//!
//! kv::set("cart", "u-1/book", b"2")?;
//! let visits = kv::increment("stats", "visits", 1)?;
//! let items = kv::keys("cart", "u-1/")?;
//! # Ok::<(), kv::KvError>(())
//! ```

use crate::bindings::fusion::task::kv as host;

pub use host::{KvError, KvErrorKind};

/// The value of `key` in `store`, if it has one.
pub fn get(store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    host::get(store, key)
}

/// Sets `key` in `store` to `value`.
pub fn set(store: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
    host::set(store, key, value)
}

/// Removes `key` from `store`; nothing happens if it is absent.
pub fn delete(store: &str, key: &str) -> Result<(), KvError> {
    host::delete(store, key)
}

/// Whether `key` has a value in `store`.
pub fn exists(store: &str, key: &str) -> Result<bool, KvError> {
    host::exists(store, key)
}

/// The keys of `store` that start with `prefix`, in order (at most 1,000).
pub fn keys(store: &str, prefix: &str) -> Result<Vec<String>, KvError> {
    host::list_keys(store, prefix)
}

/// Adds `delta` to the decimal integer at `key` (absent counts as 0), atomically, and returns the
/// sum; concurrent increments from any function lose no update.
pub fn increment(store: &str, key: &str, delta: i64) -> Result<i64, KvError> {
    host::increment(store, key, delta)
}

/// Sets `key` to `new` only if its value is `expected` (`None`: absent), atomically; returns
/// whether it did.
pub fn compare_and_swap(store: &str, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, KvError> {
    host::compare_and_swap(store, key, expected, new)
}

/// The WIT name of a store error's kind.
pub fn kind_name(kind: KvErrorKind) -> &'static str {
    match kind {
        KvErrorKind::Denied => "denied",
        KvErrorKind::TooLarge => "too-large",
        KvErrorKind::NotANumber => "not-a-number",
        KvErrorKind::Unavailable => "unavailable",
    }
}

impl From<KvError> for crate::Error {
    fn from(e: KvError) -> crate::Error {
        crate::Error::msg(format!("{}: {}", kind_name(e.kind), e.message))
    }
}
