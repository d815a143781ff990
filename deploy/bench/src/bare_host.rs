//! The baseline `fusion bench throughput` holds Fusion's host against: a host made of wasmtime,
//! wasmtime-wasi and axum alone, as anyone embedding wasmtime would write one. Every POST gets a new
//! store and instance of the component, whose `handle` export gets the body and returns the
//! response; no signing, routing, admission, CPU pacing, deadlines or telemetry, no other tasks to
//! call and no stores (each such import answers with an error). It runs on the
//! engine configuration of Fusion's hosts ([`FusionEngine`]: pooling allocator, epoch
//! interruption), so what differs is what Fusion does around a call, not how wasmtime is tuned.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use fusion_host::bindings::fusion::task::{invoke, kv};
use fusion_host::bindings::{Mode, Request, Task, TaskPre, WitCallError, WitErrorKind, WitKvError, WitKvErrorKind};
use fusion_host::engine::{FusionEngine, KEEP_RESIDENT};
use tokio::sync::oneshot;
use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// A bare host serving one component on loopback; stopped when dropped.
pub struct BareHost {
    /// `http://127.0.0.1:PORT`: `POST /` calls the component, `GET /healthz` answers at once.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What one instance owns: WASI's context and resource table, nothing else.
struct Guest {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Guest {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// There are no other tasks here.
impl invoke::Host for Guest {
    async fn invoke(&mut self, task: String, _: Vec<u8>, _: Mode) -> Result<Vec<u8>, WitCallError> {
        Err(no_task(task))
    }

    async fn invoke_all(&mut self, requests: Vec<Request>) -> Vec<Result<Vec<u8>, WitCallError>> {
        requests.into_iter().map(|r| Err(no_task(r.task))).collect()
    }
}

fn no_task(task: String) -> WitCallError {
    WitCallError { kind: WitErrorKind::NotFound, message: format!("the bare host runs one task; there is no '{task}' to call") }
}

/// And no stores.
impl kv::Host for Guest {
    async fn get(&mut self, store: String, _: String) -> Result<Option<Vec<u8>>, WitKvError> {
        Err(no_store(store))
    }

    async fn set(&mut self, store: String, _: String, _: Vec<u8>) -> Result<(), WitKvError> {
        Err(no_store(store))
    }

    async fn delete(&mut self, store: String, _: String) -> Result<(), WitKvError> {
        Err(no_store(store))
    }

    async fn exists(&mut self, store: String, _: String) -> Result<bool, WitKvError> {
        Err(no_store(store))
    }

    async fn list_keys(&mut self, store: String, _: String) -> Result<Vec<String>, WitKvError> {
        Err(no_store(store))
    }

    async fn increment(&mut self, store: String, _: String, _: i64) -> Result<i64, WitKvError> {
        Err(no_store(store))
    }

    async fn compare_and_swap(&mut self, store: String, _: String, _: Option<Vec<u8>>, _: Vec<u8>) -> Result<bool, WitKvError> {
        Err(no_store(store))
    }
}

fn no_store(store: String) -> WitKvError {
    WitKvError { kind: WitKvErrorKind::Denied, message: format!("the bare host has no store '{store}'") }
}

/// The component, linked once.
struct Served {
    engine: FusionEngine,
    pre: TaskPre<Guest>,
}

impl BareHost {
    /// Compiles `component` and serves it from a runtime of `workers` threads of its own, as a
    /// host process would.
    pub fn start(component: &Path, workers: usize) -> Result<BareHost> {
        let engine = FusionEngine::new(KEEP_RESIDENT)?;
        let compiled = Component::from_file(&engine.engine, component).map_err(anyhow::Error::from).with_context(|| format!("compiling {}", component.display()))?;
        let mut linker = Linker::<Guest>::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        Task::add_to_linker::<_, HasSelf<Guest>>(&mut linker, |guest| guest)?;
        let pre = TaskPre::new(linker.instantiate_pre(&compiled)?)?;
        let served = Arc::new(Served { engine, pre });

        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()?;
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new().route("/", post(invoke)).route("/healthz", get(|| async { "ok" })).with_state(served);
        let (stop, stopped) = oneshot::channel::<()>();
        // Its own thread and runtime: the caller may be inside a runtime, which cannot block on
        // another.
        let thread = std::thread::Builder::new().name("bare-host".into()).spawn(move || {
            let served = runtime.block_on(async {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
            });
            if let Err(err) = served {
                eprintln!("the bare host stopped: {err}");
            }
        })?;
        Ok(BareHost { url, stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for BareHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A new instance for the request, its `handle` export called with the body.
async fn invoke(State(served): State<Arc<Served>>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let mut store = Store::new(&served.engine.engine, Guest { wasi: WasiCtx::builder().build(), table: ResourceTable::new() });
    // Epoch interruption is on in Fusion's engine configuration; this host sets no deadline.
    store.set_epoch_deadline(u64::MAX / 2);
    let called = async {
        let instance = served.pre.instantiate_async(&mut store).await?;
        instance.call_handle(&mut store, &body).await
    };
    match called.await {
        Ok(Ok(output)) => (StatusCode::OK, output),
        Ok(Err(message)) => (StatusCode::UNPROCESSABLE_ENTITY, message.into_bytes()),
        // With its causes: the first line only says where it happened.
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{err:?}").into_bytes()),
    }
}
