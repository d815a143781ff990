//! Fresh instances prepared ahead of requests, and used ones disposed of after them, on a thread
//! of their own: instantiation (tens of µs) and tearing a store down (unmapping its memory) both
//! stay off the request's path. Every instance serves exactly one execution, unless its task
//! opted in to reuse: then it goes back to the task's ready instances after an execution that
//! ended without a trap.

use std::sync::{Arc, Mutex};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;

use crate::bindings::Task;
use crate::cpu::{CpuBudget, CpuMeter};
use crate::guest_log::GuestLog;
use crate::kv::KvSession;
use crate::memory::StoreMemory;
use crate::bindings::TaskPre;
use crate::task_state::{Frame, TaskState, Unassigned};

/// A task's component, compiled and pre-linked against the host's imports.
pub struct TaskCode {
    /// The task the component implements.
    pub task: String,
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// True when it was loaded from a precompiled artifact.
    pub from_artifact: bool,
    /// What loading its artifact and linking it took: replayed when an emulated environment
    /// starts cold (compiling is not: a cold environment on Lambda loads an artifact).
    pub load_time: Duration,
    pub(crate) pre: TaskPre<TaskState>,
    /// Instances ready for an execution, each in its own store: never called, or (for a task
    /// that reuses its instances) kept from earlier executions.
    pub(crate) warm: Mutex<Vec<Ready>>,
}

/// An instance ready for an execution, alone in its store.
pub(crate) struct Ready {
    pub store: Store<TaskState>,
    pub instance: Task,
    pub stderr: GuestLog,
}

/// Makes stores with nothing granted and instantiates components in them.
pub(crate) struct Instantiator {
    pub engine: Engine,
    pub memory_bytes: usize,
    pub deadline: Duration,
}

impl Instantiator {
    pub async fn instantiate(&self, code: &TaskCode) -> wasmtime::Result<Ready> {
        let stderr = GuestLog::default();
        let state = TaskState {
            wasi: WasiCtx::builder().stderr(stderr.clone()).build(),
            table: ResourceTable::new(),
            limits: StoreMemory::new(self.memory_bytes),
            frame: Frame { trace_id: String::new(), tracestate: None, task: code.task.clone(), span_id: String::new(), depth: 0 },
            dispatch: Arc::new(Unassigned),
            meter: CpuMeter::new(CpuBudget::unlimited()),
            kv: KvSession::none(&code.task),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.call_hook(|ctx, hook| {
            let meter = &ctx.data().meter;
            if hook.entering_host() { meter.pause() } else { meter.resume() }
            Ok(())
        });
        arm_deadline(&mut store, Instant::now() + self.deadline);
        let instance = code.pre.instantiate_async(&mut store).await?;
        Ok(Ready { store, instance, stderr })
    }
}

enum Job {
    Refill(Arc<TaskCode>),
    Dispose(Box<Store<TaskState>>),
}

/// Keeps up to `target` ready instances per task; its thread ends with the runtime.
pub(crate) struct Keeper {
    jobs: mpsc::UnboundedSender<Job>,
    target: usize,
    /// Stores waiting to be dropped; past [`MAX_PENDING_DISPOSALS`] the caller drops its own, so
    /// a saturated keeper cannot hoard instance slots.
    pending: Arc<AtomicUsize>,
}

const MAX_PENDING_DISPOSALS: usize = 32;

/// Used instances a task that reuses them keeps ready; each keeps the memory it grew. Beyond it,
/// a used instance is dropped (calls in flight at once each hold one more).
const MAX_KEPT: usize = 16;

impl Keeper {
    pub fn start(instantiator: Arc<Instantiator>, target: usize) -> std::io::Result<Keeper> {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let pending = Arc::new(AtomicUsize::new(0));
        let disposed = pending.clone();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("fusion-keeper".into()).spawn(move || {
            rt.block_on(async move {
                while let Some(job) = queue.recv().await {
                    match job {
                        Job::Dispose(store) => {
                            drop(store);
                            disposed.fetch_sub(1, Ordering::Relaxed);
                        }
                        Job::Refill(code) if code.warm.lock().unwrap().len() < target => {
                            match instantiator.instantiate(&code).await {
                                // Below the kept ones: a used instance is taken first, while
                                // its memory is still in the caches.
                                Ok(ready) => code.warm.lock().unwrap().insert(0, ready),
                                Err(err) => tracing::debug!("could not prepare an instance of '{}': {err:#}", code.task),
                            }
                        }
                        Job::Refill(_) => {}
                    }
                }
            })
        })?;
        Ok(Keeper { jobs, target, pending })
    }

    /// A ready instance of `code`, if one is waiting.
    pub fn take(&self, code: &Arc<TaskCode>) -> Option<Ready> {
        code.warm.lock().unwrap().pop()
    }

    /// Keeps a used instance of `code` for its next execution, holding nothing of the one that
    /// used it (its invocation, meter and grants); dropped like any other when enough are kept.
    pub fn keep(&self, code: &Arc<TaskCode>, mut ready: Ready) {
        let state = ready.store.data_mut();
        state.dispatch = Arc::new(Unassigned);
        state.meter = CpuMeter::new(CpuBudget::unlimited());
        state.kv = KvSession::none(&code.task);
        let mut warm = code.warm.lock().unwrap();
        if warm.len() < MAX_KEPT.max(self.target) {
            warm.push(ready);
        } else {
            drop(warm);
            self.dispose(code, ready.store);
        }
    }

    /// Has instances of newly loaded `code` prepared before its first execution.
    pub fn prime(&self, code: &Arc<TaskCode>) {
        for _ in 0..self.target {
            self.refill(code);
        }
    }

    fn refill(&self, code: &Arc<TaskCode>) {
        if self.target > 0 {
            let _ = self.jobs.send(Job::Refill(code.clone()));
        }
    }

    /// Drops a used store of `code` on the keeper's thread (or here when the keeper is behind,
    /// or gone), then has a replacement instance prepared. Both happen after the execution, so
    /// the keeper does not compete with it for the CPU.
    pub fn dispose(&self, code: &Arc<TaskCode>, store: Store<TaskState>) {
        if self.pending.fetch_add(1, Ordering::Relaxed) >= MAX_PENDING_DISPOSALS {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            drop(store);
        } else if self.jobs.send(Job::Dispose(Box::new(store))).is_err() {
            self.pending.fetch_sub(1, Ordering::Relaxed);
        }
        self.refill(code);
    }
}

/// Every epoch tick: stop a guest past its deadline; otherwise pause it while its invocation's CPU
/// budget is in debt, or at least let other work on this thread run.
pub(crate) fn arm_deadline(store: &mut Store<TaskState>, deadline: Instant) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |ctx| {
        if Instant::now() >= deadline {
            return Ok(UpdateDeadline::Interrupt);
        }
        let meter = ctx.data().meter.clone();
        meter.pause();
        let resume_at = meter.budget().resume_at();
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                match resume_at {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => tokio::task::yield_now().await,
                }
                meter.resume();
            }),
        ))
    });
}
