//! The data of one task execution's store: deny-by-default WASI, its memory limits, the running
//! task's frame, and the way out to other tasks (the `fusion:task/invoke` import).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{self, Mode, Request, WitCallError, WitKvError, WitKvErrorKind};
use crate::call::CallMode;
use crate::cpu::CpuMeter;
use crate::error::{CallError, ErrorKind};
use crate::kv::{KvAnswer, KvError, KvErrorKind, KvOp, KvSession};
use crate::memory::StoreMemory;

/// A boxed future, as calls between tasks return them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Where a task's outgoing calls go; implemented by the function that runs it.
pub trait Dispatch: Send + Sync + 'static {
    /// Calls `task` with `payload` for the task running in `from`; an async call resolves once the
    /// work is accepted.
    fn dispatch(self: Arc<Self>, from: &Frame, task: String, payload: Vec<u8>, mode: CallMode) -> BoxFuture<Result<Vec<u8>, CallError>>;
}

/// The running task a call comes from.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The request the task runs for.
    pub trace_id: String,
    /// The request's W3C `tracestate`, passed on with the task's calls.
    pub tracestate: Option<String>,
    /// The running task.
    pub task: String,
    /// The running task's span: the parent of the spans of its calls.
    pub span_id: String,
    /// How deep the running task's call is nested; 0 for an external request.
    pub depth: u32,
}

/// The data of one store: deny-by-default WASI, memory limits, and the way out to other tasks.
pub struct TaskState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// The store's memory, charged to its invocation's environment.
    pub(crate) limits: StoreMemory,
    pub(crate) frame: Frame,
    pub(crate) dispatch: Arc<dyn Dispatch>,
    /// Guest time of the current execution, charged to its invocation's CPU budget.
    pub(crate) meter: Arc<CpuMeter>,
    /// The key-value stores the running task may reach.
    pub(crate) kv: KvSession,
}

/// The dispatcher of a store not yet handed to a request.
pub(crate) struct Unassigned;

impl Dispatch for Unassigned {
    fn dispatch(self: Arc<Self>, _: &Frame, task: String, _: Vec<u8>, _: CallMode) -> BoxFuture<Result<Vec<u8>, CallError>> {
        Box::pin(async move { Err(CallError::new(ErrorKind::Rejected, format!("call of '{task}' outside a request"))) })
    }
}

impl WasiView for TaskState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl bindings::fusion::task::invoke::Host for TaskState {
    async fn invoke(&mut self, task: String, payload: Vec<u8>, mode: Mode) -> Result<Vec<u8>, WitCallError> {
        // The work done before the call must have had its CPU time before the call goes out.
        self.meter.budget().settle().await;
        let waiting = Instant::now();
        let result = self.dispatch.clone().dispatch(&self.frame, task, payload, mode.into()).await;
        self.meter.waited_on_calls(waiting.elapsed());
        result.map_err(Into::into)
    }

    async fn invoke_all(&mut self, requests: Vec<Request>) -> Vec<Result<Vec<u8>, WitCallError>> {
        self.meter.budget().settle().await;
        if requests.len() > 1 {
            self.meter.called_together(requests.iter().map(|r| r.task.as_str()));
        }
        let waiting = Instant::now();
        // Spawned, so CPU-bound callees run in parallel on the runtime's worker threads.
        let handles: Vec<_> = requests
            .into_iter()
            .map(|r| tokio::spawn(self.dispatch.clone().dispatch(&self.frame, r.task, r.payload, CallMode::Sync)))
            .collect();
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            let result = handle
                .await
                .unwrap_or_else(|e| Err(CallError::new(ErrorKind::Trapped, format!("call aborted: {e}"))));
            results.push(result.map_err(Into::into));
        }
        self.meter.waited_on_calls(waiting.elapsed());
        results
    }
}


impl bindings::fusion::task::kv::Host for TaskState {
    async fn get(&mut self, store: String, key: String) -> Result<Option<Vec<u8>>, WitKvError> {
        match self.kv_op(KvOp::Get { store, key }).await? {
            KvAnswer::Value(value) => Ok(value),
            other => Err(unexpected(other)),
        }
    }

    async fn set(&mut self, store: String, key: String, value: Vec<u8>) -> Result<(), WitKvError> {
        self.kv_op(KvOp::Set { store, key, value }).await.map(drop)
    }

    async fn delete(&mut self, store: String, key: String) -> Result<(), WitKvError> {
        self.kv_op(KvOp::Delete { store, key }).await.map(drop)
    }

    async fn exists(&mut self, store: String, key: String) -> Result<bool, WitKvError> {
        match self.kv_op(KvOp::Exists { store, key }).await? {
            KvAnswer::Flag(flag) => Ok(flag),
            other => Err(unexpected(other)),
        }
    }

    async fn list_keys(&mut self, store: String, prefix: String) -> Result<Vec<String>, WitKvError> {
        match self.kv_op(KvOp::Keys { store, prefix }).await? {
            KvAnswer::Keys(keys) => Ok(keys),
            other => Err(unexpected(other)),
        }
    }

    async fn increment(&mut self, store: String, key: String, delta: i64) -> Result<i64, WitKvError> {
        match self.kv_op(KvOp::Increment { store, key, delta }).await? {
            KvAnswer::Number(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    async fn compare_and_swap(&mut self, store: String, key: String, expected: Option<Vec<u8>>, new: Vec<u8>) -> Result<bool, WitKvError> {
        match self.kv_op(KvOp::CompareAndSwap { store, key, expected, new }).await? {
            KvAnswer::Flag(swapped) => Ok(swapped),
            other => Err(unexpected(other)),
        }
    }
}

impl TaskState {
    /// Runs a store operation for the running task. Its wait is not the guest's CPU time, nor a
    /// call's: it stays in the task's own time, where the optimizer's profile counts it as a wait
    /// the task has wherever it runs.
    async fn kv_op(&mut self, op: KvOp) -> Result<KvAnswer, WitKvError> {
        self.meter.budget().settle().await;
        self.kv.run(op).await.map_err(Into::into)
    }
}

/// A backend answered an operation with another's answer: a bug, reported as unavailable.
fn unexpected(answer: KvAnswer) -> WitKvError {
    KvError::unavailable(format!("the backend answered {answer:?}")).into()
}

impl From<KvError> for WitKvError {
    fn from(e: KvError) -> WitKvError {
        let kind = match e.kind {
            KvErrorKind::Denied => WitKvErrorKind::Denied,
            KvErrorKind::TooLarge => WitKvErrorKind::TooLarge,
            KvErrorKind::NotANumber => WitKvErrorKind::NotANumber,
            KvErrorKind::Unavailable => WitKvErrorKind::Unavailable,
        };
        WitKvError { kind, message: e.message }
    }
}
