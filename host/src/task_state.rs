//! The data of one task execution's store: deny-by-default WASI, its memory limits, the running
//! task's frame, and the way out to other tasks (the `fusion:task/invoke` import).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{self, Mode, Request, WitCallError};
use crate::call::CallMode;
use crate::cpu::CpuMeter;
use crate::error::{CallError, ErrorKind};

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
    pub(crate) limits: StoreLimits,
    pub(crate) frame: Frame,
    pub(crate) dispatch: Arc<dyn Dispatch>,
    /// Guest time of the current execution, charged to its invocation's CPU budget.
    pub(crate) meter: Arc<CpuMeter>,
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

