//! A function: the unit a fusion setup deploys (a Lambda, or one host process). It serves
//! invocations; inside one, fused calls run in-process and the rest go through the router.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::FutureExt;
use tokio_util::task::TaskTracker;

use crate::admission::{Admission, Slot};
use crate::call::{Call, CallMode};
use crate::trace_context::{TraceContext, new_span_id};
use crate::cpu::{CpuBudget, CpuMeter, vcpus};
use crate::environments::Environments;
use crate::error::{CallError, ErrorKind};
use crate::router::{Route, Router};
use crate::routers::Routers;
use crate::kv::{KvBackend, KvSession};
use crate::memory::{self, MemoryBudget};
use crate::outbox::{self, Outbox};
use crate::runtime::{BoxFuture, Deadline, Dispatch, Execution, Frame, Runtime};
use crate::telemetry::{InvocationRecord, Record, RecordSink, Span, billed_ms, unix_micros};

/// One function: serves its invocations, runs its group's tasks in-process and sends every other
/// call through its router.
pub struct FunctionHost {
    /// The function's name, which is the name of its task.
    pub name: String,
    runtime: Arc<Runtime>,
    routers: Routers,
    sink: Arc<dyn RecordSink>,
    /// Every invocation's work, including what runs after its response was sent.
    work: TaskTracker,
    /// Lambda's execution environments: who pays a cold start.
    environments: Arc<Environments>,
    /// The concurrency limit: who runs now, who waits, who is throttled.
    admission: Admission,
    /// The app's key-value stores, if this host has them.
    kv: Option<Arc<dyn KvBackend>>,
    /// Remote async calls of its invocations, until they are handed over.
    outbox: Arc<Outbox>,
    /// How long the environment took to start where the host could not time it per invocation
    /// (on Lambda, the process's init): recorded on its first cold invocation.
    started_in: Mutex<Option<Duration>>,
}

impl FunctionHost {
    /// `work` may be shared between functions of one process so that one wait drains them all;
    /// `kv` is the app's key-value backend (none: every store operation is `unavailable`).
    pub fn new(runtime: Arc<Runtime>, routers: Routers, sink: Arc<dyn RecordSink>, work: TaskTracker, kv: Option<Arc<dyn KvBackend>>) -> Arc<FunctionHost> {
        let name = routers.current().function.clone();
        let admission = Admission::new(&name, routers.current().setup.policy.concurrency(&name));
        Arc::new(FunctionHost {
            name,
            admission,
            kv,
            routers,
            sink,
            environments: Environments::new(runtime.config.platform.idle_timeout),
            runtime,
            work,
            outbox: Arc::default(),
            started_in: Mutex::new(None),
        })
    }

    /// Records how long this environment took to start before its first invocation, on a platform
    /// whose cold starts the host does not emulate (Lambda's init of this process): the first cold
    /// invocation's record carries it, as an emulated one carries what it replays, so a profile of
    /// the platform's telemetry knows what a new environment costs.
    pub fn started_in(&self, init: Duration) {
        *self.started_in.lock().unwrap() = Some(init);
    }

    /// The function's routers: the current setup's, and those of calls still under earlier ones.
    pub fn routers(&self) -> &Routers {
        &self.routers
    }

    /// Tracks background work of this function (remote async calls it accepted).
    pub fn work(&self) -> &TaskTracker {
        &self.work
    }

    /// The function's execution environments; expiring them makes the next invocations start cold.
    pub fn environments(&self) -> &Arc<Environments> {
        &self.environments
    }

    /// Its remote async calls not yet handed over.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The function's concurrency limit under its current setup.
    fn concurrency(&self) -> u32 {
        self.routers.current().setup.policy.concurrency(&self.name)
    }

    /// The function's admission: invocations running and async ones waiting.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// Serves one sync invocation: returns when the called task has returned; fused async work
    /// may go on: it is tracked by [`FunctionHost::work`], which also writes the invocation's
    /// record. At the concurrency limit it is refused at once with `throttled`.
    pub async fn invoke(&self, call: Call) -> Result<Vec<u8>, CallError> {
        let slot = self.admission.enter(self.concurrency())?;
        self.serve(call, slot).await
    }

    /// Accepts one async invocation: it runs as soon as the function has a free slot. Refused at
    /// once with `throttled` when the queue of waiting invocations is full; once accepted, it
    /// runs (a failure is recorded in its span).
    pub fn accept(self: &Arc<Self>, call: Call) -> Result<(), CallError> {
        let ticket = self.admission.queue(self.concurrency())?;
        let host = self.clone();
        self.work.spawn(async move {
            let slot = ticket.slot().await;
            // The caller has gone on: the outcome is in the invocation's spans.
            let _ = host.serve(call, slot).await;
        });
        Ok(())
    }

    async fn serve(&self, call: Call, slot: Slot) -> Result<Vec<u8>, CallError> {
        let started = Instant::now();
        let start_us = unix_micros(SystemTime::now());
        let mut environment = self.environments.acquire();
        let router = self.routers.for_call(call.trace.setup_version).await;
        let config = &self.runtime.config;
        // A new environment first starts the platform's runtime, then loads the group's components.
        let emulate_init = environment.cold && config.platform.emulated;
        let init = if emulate_init { config.platform.runtime_init + router.load_time() } else { Duration::ZERO };
        if !init.is_zero() {
            tokio::time::sleep(init).await;
        }
        // An init the host did not replay came before the invocation: its record starts earlier
        // and lasts longer by it, as the caller waited for it and Lambda bills it.
        let outside_us = match environment.cold && !config.platform.emulated {
            true => self.started_in.lock().unwrap().take().unwrap_or_default().as_micros() as u64,
            false => 0,
        };
        // Lambda's timeout counts from the end of init and bounds all of the invocation's work.
        let timeout = router.setup.policy.timeout(&self.name, config.deadline);
        let deadline = Deadline { at: Instant::now() + timeout, timeout };
        let memory_mb = config.memory_mb.unwrap_or_else(|| router.memory_mb());
        let budget = if config.pace_cpu { CpuBudget::paced(vcpus(memory_mb)) } else { CpuBudget::unlimited() };
        let invocation = Arc::new(Invocation {
            function: self.name.clone(),
            runtime: self.runtime.clone(),
            router,
            sink: self.sink.clone(),
            tracker: TaskTracker::new(),
            budget,
            memory_mb,
            cold_start: environment.cold,
            deadline,
            kv: self.kv.clone(),
            memory: MemoryBudget::new(memory_mb),
            outbox: self.outbox.clone(),
        });
        let root_span = new_span_id();
        let remote = call.trace.parent_span.is_some();
        let mut response = invocation.clone().run_task(call.task, call.payload, call.mode, call.trace.clone(), remote, root_span.clone()).await;
        // Out of memory anywhere in the environment (fused async work included) kills the
        // invocation, as Lambda kills the sandbox, even when the task itself returned.
        if invocation.memory.exceeded() && response.is_ok() {
            response = Err(CallError::new(ErrorKind::OutOfMemory, format!("function '{}' ran out of memory: its environment needed {} MB", self.name, invocation.memory.peak().div_ceil(1 << 20))));
        }
        let response_us = started.elapsed().as_micros() as u64 + outside_us;
        let local_work_ended = invocation.tracker.is_empty();
        invocation.tracker.close();
        let end = async move {
            invocation.tracker.wait().await;
            let duration_us = started.elapsed().as_micros() as u64 + outside_us;
            let out_of_memory = invocation.memory.exceeded();
            if out_of_memory {
                // Lambda does not reuse a sandbox that ran out of memory.
                environment.retire();
            }
            // The environment (and its slot) serves the next invocation only once this one has ended.
            drop((environment, slot));
            invocation.sink.record(Record::Invocation(InvocationRecord {
                trace_id: call.trace.trace_id,
                function: invocation.function.clone(),
                setup_version: invocation.router.setup.version,
                root_span,
                start_us: start_us.saturating_sub(outside_us),
                init_us: init.as_micros() as u64 + outside_us,
                response_us,
                duration_us,
                billed_ms: billed_ms(duration_us),
                memory_mb,
                cold_start: invocation.cold_start,
                max_memory_used_mb: invocation.memory.peak().div_ceil(1 << 20) as u32,
                out_of_memory,
                process_max_rss_mb: memory::process_max_rss_mb(),
            }));
        };
        if local_work_ended {
            // Nothing runs on: end the invocation here rather than waking another thread for it.
            end.now_or_never();
        } else {
            self.work.spawn(end);
        }
        response
    }
}

/// One invocation of a function: the router it started with and its local work in flight.
struct Invocation {
    function: String,
    runtime: Arc<Runtime>,
    router: Arc<Router>,
    sink: Arc<dyn RecordSink>,
    tracker: TaskTracker,
    /// The CPU share of the environment, shared by all tasks of the invocation.
    budget: Arc<CpuBudget>,
    memory_mb: u32,
    cold_start: bool,
    /// When the invocation's time is up, for every task it runs.
    deadline: Deadline,
    kv: Option<Arc<dyn KvBackend>>,
    /// The environment's memory, shared by all tasks of the invocation.
    memory: Arc<MemoryBudget>,
    outbox: Arc<Outbox>,
}

impl Invocation {
    /// Runs a task of this function's group and records its span.
    fn run_task(
        self: Arc<Self>,
        task: String,
        payload: Vec<u8>,
        mode: CallMode,
        trace: TraceContext,
        remote: bool,
        span_id: String,
    ) -> BoxFuture<Result<Vec<u8>, CallError>> {
        Box::pin(async move {
            let started = Instant::now();
            let start_us = unix_micros(SystemTime::now());
            let meter = CpuMeter::new(self.budget.clone());
            let kv = KvSession { backend: self.kv.clone(), grants: self.router.setup.policy.grants(&task), task: task.clone(), stats: Arc::default() };
            let stats = kv.stats.clone();
            let (result, memory_held) = match self.router.route(&task) {
                Route::Local(code) => {
                    let execution = Execution {
                        frame: Frame {
                            trace_id: trace.trace_id.clone(),
                            tracestate: trace.tracestate.clone(),
                            task: task.clone(),
                            span_id: span_id.clone(),
                            depth: trace.depth,
                        },
                        dispatch: self.clone(),
                        memory_bytes: (self.memory_mb as usize) << 20,
                        memory: self.memory.clone(),
                        meter: meter.clone(),
                        deadline: self.deadline,
                        kv,
                        reuse: self.router.setup.policy.reuses_instances(&task),
                    };
                    self.runtime.execute(code, execution, &payload).await
                }
                _ => (Err(CallError::new(ErrorKind::NotFound, format!("function '{}' does not run task '{task}'", self.function))), 0),
            };
            self.sink.record(Record::Span(Span {
                trace_id: trace.trace_id,
                span_id,
                parent_span: trace.parent_span,
                outside_parent: trace.outside_parent,
                function: self.function.clone(),
                setup_version: self.router.setup.version,
                task,
                caller: trace.caller,
                mode,
                remote,
                start_us,
                duration_us: started.elapsed().as_micros() as u64,
                cpu_us: meter.total().as_micros() as u64,
                calls_us: meter.in_calls().as_micros() as u64,
                called_together: meter.together(),
                kv_ops: stats.ops(),
                kv_us: stats.micros(),
                memory_mb: self.memory_mb,
                memory_used_kb: memory_held.div_ceil(1024) as u64,
                cold_start: self.cold_start,
                error: result.as_ref().err().map(|e| e.kind),
            }));
            result
        })
    }
}

impl Dispatch for Invocation {
    fn dispatch(self: Arc<Self>, from: &Frame, task: String, payload: Vec<u8>, mode: CallMode) -> BoxFuture<Result<Vec<u8>, CallError>> {
        let trace = TraceContext {
            trace_id: from.trace_id.clone(),
            parent_span: Some(from.span_id.clone()),
            outside_parent: None,
            tracestate: from.tracestate.clone(),
            caller: Some(from.task.clone()),
            depth: from.depth + 1,
            setup_version: Some(self.router.setup.version),
        };
        let max_depth = self.runtime.config.max_call_depth;
        if trace.depth > max_depth {
            let error = CallError::new(ErrorKind::Rejected, format!("call of '{task}' nests deeper than {max_depth} calls"));
            return Box::pin(async move { Err(error) });
        }
        match (self.router.route(&task), mode) {
            (Route::Unknown, _) => {
                let error = CallError::new(ErrorKind::NotFound, format!("no task '{task}' in app '{}'", self.router.setup.app));
                Box::pin(async move { Err(error) })
            }
            (Route::Local(_), CallMode::Sync) => self.run_task(task, payload, mode, trace, false, new_span_id()),
            (Route::Local(_), CallMode::Async) => {
                let tracker = self.tracker.clone();
                tracker.spawn(self.run_task(task, payload, mode, trace, false, new_span_id()));
                Box::pin(async { Ok(Vec::new()) })
            }
            (Route::Remote, CallMode::Sync) => {
                let call = Call { task: task.clone(), payload, mode, trace };
                let sent = self.router.remote.send(&task, call);
                let half_hop = self.runtime.config.platform.sync_hop / 2;
                if half_hop.is_zero() {
                    return sent;
                }
                Box::pin(async move {
                    tokio::time::sleep(half_hop).await;
                    let result = sent.await;
                    tokio::time::sleep(half_hop).await;
                    result
                })
            }
            (Route::Remote, CallMode::Async) => {
                let place = match self.outbox.reserve(&self.function, &task) {
                    Ok(place) => place,
                    Err(refused) => return Box::pin(async move { Err(refused) }),
                };
                // The caller goes on; the invocation ends once the call is handed over.
                let call = Call { task: task.clone(), payload, mode, trace };
                let invocation = self.clone();
                self.tracker.spawn(async move {
                    let tried_since = Instant::now();
                    let enqueue = invocation.runtime.config.platform.async_enqueue;
                    if let Err(error) = outbox::hand_over(invocation.router.remote.as_ref(), &task, &call, enqueue).await {
                        tracing::warn!("async call of '{task}' from function '{}' was not handed over: {error}", invocation.function);
                        invocation.sink.record(Record::Span(outbox::refused_span(&call, &task, invocation.memory_mb, tried_since, &error)));
                    }
                    drop(place);
                });
                Box::pin(async { Ok(Vec::new()) })
            }
        }
    }
}
