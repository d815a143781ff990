//! Host-side bindings of the `fusion:task` world (`wit/task.wit`).
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "task",
    imports: { default: async },
    exports: { default: async },
});

pub use fusion::task::invoke::{CallError as WitCallError, ErrorKind as WitErrorKind, Mode, Request};
pub use fusion::task::kv::{KvError as WitKvError, KvErrorKind as WitKvErrorKind};
