//! Write [Fusion](https://github.com/) tasks in Rust.
//!
//! A task is a function from a request payload to a response payload, compiled to a
//! `wasm32-wasip2` component. It calls other tasks by name with [`call`] (wait for the result) or
//! [`spawn`] (fire and forget); whether the callee runs in the same process or in another function
//! is decided by the fusion setup, not by the task.
//!
//! ```no_run
//! use fusion_guest::{Error, call, spawn};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Reading { sensor: String, value: f64 }
//!
//! #[derive(Serialize, Deserialize)]
//! struct Verdict { alarm: bool }
//!
//! fn handle(reading: Reading) -> Result<Verdict, Error> {
//!     let verdict: Verdict = call("check", &reading)?;   // sync: waits for the result
//!     spawn("archive", &reading)?;                       // async: runs on its own
//!     Ok(verdict)
//! }
//!
//! fusion_guest::export_task!(handle);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release` in a `cdylib` crate.

// The generated bindings name this crate by its public path, also from inside it.
extern crate self as fusion_guest;

use serde::Serialize;
use serde::de::DeserializeOwned;

mod error;
pub mod kv;

pub use error::{Error, kind_name as error_kind_name};

/// Bindings of the `fusion:task` world, generated from `wit/task.wit`.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "task",
        pub_export_macro: true,
        export_macro_name: "__export_world",
        default_bindings_module: "fusion_guest::bindings",
        runtime_path: "fusion_guest::__wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub use bindings::fusion::task::invoke::{CallError, ErrorKind};
use bindings::fusion::task::invoke::{self as host, Mode, Request};

/// Calls `task` and waits for its result (a synchronous call).
pub fn call<I: Serialize + ?Sized, O: DeserializeOwned>(task: &str, input: &I) -> Result<O, CallError> {
    let output = call_bytes(task, &encode(task, input)?)?;
    decode_response(task, &output)
}

/// Calls `task` with raw bytes and waits for its raw result.
pub fn call_bytes(task: &str, payload: &[u8]) -> Result<Vec<u8>, CallError> {
    host::invoke(task, payload, Mode::Sync)
}

/// Starts `task` without waiting for it (an asynchronous call). Returns once the work was accepted.
pub fn spawn<I: Serialize + ?Sized>(task: &str, input: &I) -> Result<(), CallError> {
    spawn_bytes(task, &encode(task, input)?)
}

/// Starts `task` with raw bytes without waiting for it.
pub fn spawn_bytes(task: &str, payload: &[u8]) -> Result<(), CallError> {
    host::invoke(task, payload, Mode::Async).map(drop)
}

/// Calls several tasks synchronously and concurrently; the results keep the order of `calls`.
pub fn call_all<'a, I: Serialize + 'a, O: DeserializeOwned>(
    calls: impl IntoIterator<Item = (&'a str, &'a I)>,
) -> Vec<Result<O, CallError>> {
    let mut requests = Vec::new();
    let mut results: Vec<Option<Result<O, CallError>>> = Vec::new();
    let mut tasks = Vec::new();
    for (task, input) in calls {
        match encode(task, input) {
            Ok(payload) => {
                requests.push(Request { task: task.to_string(), payload });
                tasks.push((results.len(), task));
                results.push(None);
            }
            Err(err) => results.push(Some(Err(err))),
        }
    }
    for ((slot, task), output) in tasks.into_iter().zip(host::invoke_all(&requests)) {
        results[slot] = Some(output.and_then(|bytes| decode_response(task, &bytes)));
    }
    results.into_iter().map(|r| r.expect("every call has a result")).collect()
}

fn encode<I: Serialize + ?Sized>(task: &str, input: &I) -> Result<Vec<u8>, CallError> {
    serde_json::to_vec(input).map_err(|e| CallError {
        kind: ErrorKind::Rejected,
        message: format!("cannot encode the input for '{task}': {e}"),
    })
}

fn decode_response<O: DeserializeOwned>(task: &str, bytes: &[u8]) -> Result<O, CallError> {
    decode(bytes).map_err(|e| CallError {
        kind: ErrorKind::Application,
        message: format!("invalid response from '{task}': {e}"),
    })
}

/// Decodes a JSON payload; an empty payload reads as `null`, so `()` and `Option` inputs work.
#[doc(hidden)]
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(if bytes.is_empty() { b"null" } else { bytes })
}

/// Runs a JSON handler on a raw payload; used by [`export_task!`].
#[doc(hidden)]
pub fn run_json<I: DeserializeOwned, O: Serialize>(
    payload: &[u8],
    handler: impl FnOnce(I) -> Result<O, Error>,
) -> Result<Vec<u8>, String> {
    let input = decode(payload).map_err(|e| format!("invalid input: {e}"))?;
    let output = handler(input).map_err(|e| e.to_string())?;
    serde_json::to_vec(&output).map_err(|e| format!("cannot encode the output: {e}"))
}

/// Exports a handler as this component's task.
///
/// - `export_task!(handler)`: `fn(I) -> Result<O, Error>` with serde types, JSON on the wire.
/// - `export_task!(bytes handler)`: `fn(Vec<u8>) -> Result<Vec<u8>, Error>` over raw bytes.
#[macro_export]
macro_rules! export_task {
    (bytes $handler:path) => {
        $crate::__export_task_with!(|payload: ::std::vec::Vec<u8>| $handler(payload).map_err(|e| e.to_string()));
    };
    ($handler:path) => {
        $crate::__export_task_with!(|payload: ::std::vec::Vec<u8>| $crate::run_json(&payload, $handler));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_task_with {
    ($run:expr) => {
        struct FusionTask;
        impl $crate::bindings::Guest for FusionTask {
            fn handle(payload: ::std::vec::Vec<u8>) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                ($run)(payload)
            }
        }
        $crate::bindings::__export_world!(FusionTask);
    };
}
