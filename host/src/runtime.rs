//! The task runtime: one engine per process, each component compiled once and pre-linked, and a
//! fresh, limited store for every task execution (unless its task opted in to instance reuse).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use wasmtime::Trap;
use wasmtime::component::{HasSelf, Linker};

use crate::app::AppManifest;
use crate::bindings::{Task, TaskPre};
use crate::components::{ArtifactCache, LoadedComponent};
use crate::cpu::CpuMeter;
use crate::engine::{FusionEngine, KEEP_RESIDENT, MAX_TASK_MEMORY};
use crate::error::{CallError, ErrorKind};
use crate::instances::{Instantiator, Keeper, Ready, arm_deadline};
use crate::memory::{MemoryBudget, OutOfMemory};
use crate::kv::KvSession;
pub use crate::instances::TaskCode;
use crate::platform::Platform;
pub use crate::task_state::{BoxFuture, Dispatch, Frame, TaskState};

/// How the runtime runs tasks.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The timeout of a function whose policy sets none: wall-clock time one invocation may take,
    /// its fused work and the calls it waits on included. Also bounds one instantiation.
    pub deadline: Duration,
    /// Linear memory one task may use (also capped by its function's memory size).
    pub memory_bytes: usize,
    /// How deep calls may nest before a call is rejected (stops runaway recursion).
    pub max_call_depth: u32,
    /// Fresh instances kept ready per task, so instantiation happens off the request's path.
    /// Each is used for one execution and then dropped. 0 instantiates on the request's path.
    pub warm_instances: usize,
    /// Overheads of the emulated platform added to hops and cold starts.
    pub platform: Platform,
    /// Pace each invocation's guest CPU time to its function's share (Lambda's resource model).
    pub pace_cpu: bool,
    /// Bytes of each pool slot's linear memory kept mapped between uses: faster first calls for
    /// guests that touch that much, at that much resident memory per slot used.
    pub keep_resident: usize,
    /// The execution environment's memory size in MB when the platform sets it (on Lambda, the
    /// function's configured size, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`): invocations get this
    /// budget and record it, whatever the setup names. None: the setup's size of the function.
    pub memory_mb: Option<u32>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            deadline: crate::policy::DEFAULT_TIMEOUT,
            memory_bytes: 256 << 20,
            max_call_depth: 32,
            warm_instances: 2,
            platform: Platform::RAW,
            pace_cpu: true,
            keep_resident: KEEP_RESIDENT,
            memory_mb: None,
        }
    }
}

/// One per process: the engine, the linker with the host's imports, and the artifact cache.
pub struct Runtime {
    /// The process-wide engine every task's component is compiled for.
    pub engine: FusionEngine,
    linker: Linker<TaskState>,
    artifacts: ArtifactCache,
    instantiator: Arc<Instantiator>,
    keeper: Keeper,
    /// How tasks run, fixed when the runtime is created.
    pub config: RuntimeConfig,
}

impl Runtime {
    /// `artifact_dir` keeps precompiled components between runs.
    pub fn new(artifact_dir: &Path, config: RuntimeConfig) -> Result<Arc<Runtime>> {
        let engine = FusionEngine::new(config.keep_resident)?;
        let mut linker = Linker::new(&engine.engine);
        // Rust's std imports wasi:cli/io/clocks/random/filesystem even when unused; the WasiCtx
        // below grants nothing (no preopened dirs, no env, no sockets), so linking them is safe.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        Task::add_to_linker::<_, HasSelf<TaskState>>(&mut linker, |state| state)?;
        let artifacts = ArtifactCache::new(&engine.engine, artifact_dir);
        let instantiator = Arc::new(Instantiator {
            engine: engine.engine.clone(),
            memory_bytes: config.memory_bytes.min(MAX_TASK_MEMORY),
            deadline: config.deadline,
        });
        let keeper = Keeper::start(instantiator.clone(), config.warm_instances)?;
        Ok(Arc::new(Runtime { engine, linker, artifacts, instantiator, keeper, config }))
    }

    /// Compiles (or loads the artifact of) the component at `path` and checks that it is a task.
    pub fn load(&self, task: &str, path: &Path) -> Result<Arc<TaskCode>> {
        let loaded = self.artifacts.load_file(path).with_context(|| format!("loading task '{task}'"))?;
        self.prepare(task, loaded).with_context(|| format!("{} does not implement the fusion:task world", path.display()))
    }

    /// Like [`Runtime::load`], for a component's bytes.
    pub fn load_bytes(&self, task: &str, bytes: &[u8]) -> Result<Arc<TaskCode>> {
        let loaded = self.artifacts.load_bytes(bytes).with_context(|| format!("loading task '{task}'"))?;
        let digest = loaded.digest.clone();
        self.prepare(task, loaded).with_context(|| format!("component {digest} of task '{task}' does not implement the fusion:task world"))
    }

    /// Loads task `task` from the cached artifact of component `digest`, if there is one.
    pub fn load_artifact(&self, task: &str, digest: &str) -> Result<Option<Arc<TaskCode>>> {
        match self.artifacts.load_cached(digest) {
            Some(loaded) => self.prepare(task, loaded).map(Some).with_context(|| format!("loading task '{task}' from its artifact")),
            None => Ok(None),
        }
    }

    /// Loads task `task` from the artifact of component `digest` obtained elsewhere, `len` bytes
    /// that `fill` writes, which the caller authenticated (see [`ArtifactCache::install`]).
    pub fn load_installed(&self, task: &str, digest: &str, len: usize, fill: impl FnOnce(&mut [u8]) -> Result<()>) -> Result<Arc<TaskCode>> {
        let loaded = self.artifacts.install(digest, len, fill)?;
        self.prepare(task, loaded).with_context(|| format!("loading task '{task}' from its artifact"))
    }

    /// The precompiled artifacts of this runtime's engine.
    pub fn artifacts(&self) -> &ArtifactCache {
        &self.artifacts
    }

    /// Links a loaded component against the host's imports and has instances prepared for it.
    /// Its load time is loading the artifact and linking it: what a new environment replays.
    fn prepare(&self, task: &str, loaded: LoadedComponent) -> Result<Arc<TaskCode>> {
        let linking = Instant::now();
        let pre = self.linker.instantiate_pre(&loaded.component).and_then(TaskPre::new).map_err(anyhow::Error::from)?;
        let code = Arc::new(TaskCode {
            task: task.to_string(),
            digest: loaded.digest,
            from_artifact: loaded.from_artifact,
            load_time: loaded.load_time + linking.elapsed(),
            pre,
            warm: Mutex::new(Vec::new()),
        });
        self.keeper.prime(&code);
        Ok(code)
    }

    /// Loads the components of `tasks` of an application from `dir`.
    pub fn load_tasks<'a>(
        &self,
        manifest: &AppManifest,
        dir: &Path,
        tasks: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, Arc<TaskCode>>> {
        tasks
            .into_iter()
            .map(|task| {
                let path = manifest
                    .component_path(dir, task)
                    .with_context(|| format!("app '{}' has no task '{task}'", manifest.app))?;
                anyhow::ensure!(path.exists(), "component of task '{task}' is missing: {} (run `fusion build`)", path.display());
                Ok((task.to_string(), self.load(task, &path)?))
            })
            .collect()
    }

    /// Runs one task in a fresh store: take a ready instance (or instantiate one), call
    /// `handle`, hand the store to the keeper to drop (or, for a task that reuses its instances,
    /// keep it for the next execution). The guest's time goes to its meter, its
    /// memory to its invocation's environment, and the execution ends only once its CPU budget is
    /// out of debt, or at its invocation's deadline. Also returns the bytes of memory the store
    /// held (0 when it timed out).
    pub async fn execute(&self, code: &Arc<TaskCode>, execution: Execution, payload: &[u8]) -> (Result<Vec<u8>, CallError>, usize) {
        let Execution { frame, dispatch, memory_bytes, memory, meter, deadline, kv, reuse } = execution;
        let memory_bytes = memory_bytes.min(self.config.memory_bytes).min(MAX_TASK_MEMORY);
        let _running = self.engine.ticker().enter();
        let warm = self.keeper.take(code);
        let run = async {
            let Ready { mut store, instance, stderr } = match warm {
                Some(ready) => ready,
                None => match self.instantiator.instantiate(code).await {
                    Ok(ready) => ready,
                    Err(e) => return (Err(trap_error(&code.task, e, None, deadline.timeout)), 0),
                },
            };
            let state = store.data_mut();
            state.frame = frame;
            state.dispatch = dispatch;
            state.meter = meter.clone();
            state.kv = kv;
            let attached = state.limits.attach(memory, memory_bytes);
            arm_deadline(&mut store, deadline.at);
            let result = match attached {
                Ok(()) => instance.call_handle(&mut store, payload).await.map_err(|e| trap_error(&code.task, e, stderr.last_words(), deadline.timeout)),
                Err(out) => Err(out_of_memory(&code.task, &out)),
            };
            let held = store.data().limits.held();
            store.data_mut().limits.release();
            // A trap (or a failed instantiation of memory) leaves the instance unusable.
            if reuse && result.is_ok() {
                self.keeper.keep(code, Ready { store, instance, stderr });
            } else {
                self.keeper.dispose(code, store);
            }
            meter.pause();
            meter.budget().settle().await;
            (result, held)
        };
        // The timeout also covers time a guest spends blocked in the host (sleeps, calls).
        let (result, held) = match tokio::time::timeout_at(deadline.at.into(), run).await {
            Err(_) => (Err(deadline_error(&code.task, deadline.timeout)), 0),
            Ok(done) => done,
        };
        let result = match result {
            Err(err) => Err(err),
            Ok(Err(message)) => Err(CallError::new(ErrorKind::Application, message)),
            Ok(Ok(output)) => Ok(output),
        };
        (result, held)
    }
}

/// What one task execution runs with, besides its code and payload.
pub struct Execution {
    /// The running task's place in its trace.
    pub frame: Frame,
    /// Where its calls go.
    pub dispatch: Arc<dyn Dispatch>,
    /// Its linear memory limit (also capped by the runtime's).
    pub memory_bytes: usize,
    /// The memory of its invocation's environment, which it shares with the invocation's other
    /// tasks.
    pub memory: Arc<MemoryBudget>,
    /// Where its guest time is charged.
    pub meter: Arc<CpuMeter>,
    /// When its invocation's time is up.
    pub deadline: Deadline,
    /// The key-value stores it may reach.
    pub kv: KvSession,
    /// Keep the instance for a later execution of the task instead of dropping it.
    pub reuse: bool,
}

/// When an invocation's time is up, and the function timeout that set it (for the message).
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// The instant every task of the invocation stops.
    pub at: Instant,
    /// The function's timeout.
    pub timeout: Duration,
}

fn deadline_error(task: &str, timeout: Duration) -> CallError {
    CallError::new(ErrorKind::Timeout, format!("task '{task}' ran past its function's timeout of {timeout:?}"))
}

fn out_of_memory(task: &str, out: &OutOfMemory) -> CallError {
    CallError::new(ErrorKind::OutOfMemory, format!("task '{task}' ran out of memory: {out}"))
}

fn trap_error(task: &str, err: wasmtime::Error, stderr: Option<String>, timeout: Duration) -> CallError {
    if let Some(Trap::Interrupt) = err.downcast_ref::<Trap>() {
        return deadline_error(task, timeout);
    }
    // The pooling allocator is full: the host is overloaded, the guest did nothing wrong.
    if let Some(full) = err.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return CallError::new(ErrorKind::Throttled, format!("task '{task}' could not start: {full}; retry later"));
    }
    if let Some(out) = err.downcast_ref::<OutOfMemory>() {
        return out_of_memory(task, out);
    }
    let reason = match err.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{:#}", err.root_cause()),
    };
    let said = stderr.map(|line| format!(" (its last words: {line})")).unwrap_or_default();
    CallError::new(ErrorKind::Trapped, format!("task '{task}' trapped: {reason}{said}"))
}
