//! The process-wide wasmtime engine: pooling allocator when the OS allows it, epoch interruption
//! for deadlines, and the ticker thread that drives the epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances while guests run. Each tick gives a running guest a chance to
/// yield to other work on its thread, to be paced, and to be stopped at its deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// How often it advances once no execution has been in flight for [`IDLE_AFTER`] (instantiation
/// can still run guest code). An idle host must not wake up a thousand times a second: a local
/// cluster runs a dozen of them.
pub const IDLE_TICK: Duration = Duration::from_millis(50);

/// How long the ticker keeps its full rate after the last execution: under load it never parks,
/// so no request pays for waking it (tens of µs on a VM).
pub const IDLE_AFTER: Duration = Duration::from_secs(1);

/// Upper bound of one task's linear memory; [`crate::RuntimeConfig::memory_bytes`] may only lower it.
pub const MAX_TASK_MEMORY: usize = 1 << 30;

/// The default of [`crate::RuntimeConfig::keep_resident`]: linear memory kept mapped between uses
/// of a pool slot. 2 MiB holds a Rust task's 1 MiB stack, its data and first stretch of heap (1 MiB
/// was measured to leave the first call page-faulting). An interpreter touches more per call:
/// keeping 16 MiB or more made fused Python and JavaScript calls about twice as fast, but every
/// slot a process has used then keeps that memory, and under 16 concurrent calls a Python host
/// held 4× the resident memory (`fusion bench memory` and `languages`, docs/measurements.md).
/// Memory is what a function is sized and billed by, so the default is lean.
pub const KEEP_RESIDENT: usize = 2 << 20;

/// Concurrent task instances a process can hold with the pooling allocator.
const POOL_INSTANCES: u32 = 1000;

/// An engine and what it was built with.
pub struct FusionEngine {
    /// The wasmtime engine every component is compiled for and runs in.
    pub engine: Engine,
    /// False when the OS refused the pooling allocator's address-space reservation.
    pub pooling: bool,
    ticker: Ticker,
}

/// The epoch ticker's thread and the number of executions it ticks for.
#[derive(Clone)]
pub(crate) struct Ticker {
    running: Arc<AtomicUsize>,
    /// True while the ticker sleeps at the idle rate.
    parked: Arc<AtomicBool>,
    thread: Thread,
}

/// An execution in flight: the epoch ticks at full rate until every one is dropped.
pub(crate) struct Running(Ticker);

impl Ticker {
    pub fn enter(&self) -> Running {
        self.running.fetch_add(1, Ordering::SeqCst);
        if self.parked.swap(false, Ordering::SeqCst) {
            self.thread.unpark();
        }
        Running(self.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FusionEngine {
    /// Builds the engine, with the pooling allocator if the OS grants its reservation (else
    /// on-demand allocation), keeping `keep_resident` bytes of each pool slot's linear memory
    /// mapped between uses, and starts its epoch ticker.
    pub fn new(keep_resident: usize) -> Result<FusionEngine> {
        let pooled = Engine::new(&config(true, keep_resident));
        let (engine, pooling) = match pooled {
            Ok(engine) => (engine, true),
            Err(err) => {
                tracing::warn!("pooling allocator unavailable ({err:#}); allocating instances on demand");
                (Engine::new(&config(false, keep_resident))?, false)
            }
        };
        let ticker = start_epoch_ticker(&engine);
        Ok(FusionEngine { engine, pooling, ticker })
    }

    pub(crate) fn ticker(&self) -> &Ticker {
        &self.ticker
    }
}

fn config(pooling: bool, keep_resident: usize) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 4)
            .total_memories(POOL_INSTANCES * 2)
            .total_tables(POOL_INSTANCES * 4)
            .total_stacks(POOL_INSTANCES)
            .max_memory_size(MAX_TASK_MEMORY)
            // A fresh instance's first call would otherwise page-fault on every page it touches
            // (stack, data, heap). Resetting the first MiBs with memset when a store is dropped
            // (on the keeper's thread) keeps them mapped, so the call runs without faults.
            .linear_memory_keep_resident(keep_resident)
            .table_keep_resident(64 << 10)
            // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), reset only the pages a guest
            // dirtied instead of memsetting all of the kept prefix: a trivial task dirties a few
            // pages of its 2 MiB.
            .pagemap_scan(wasmtime::Enabled::Auto)
            // Fewer, larger madvise batches: fewer TLB shootdowns interrupting running guests.
            .decommit_batch_size(16);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Advances the epoch from an OS thread of its own, so a guest spinning on a tokio worker cannot
/// starve it: every [`EPOCH_TICK`] while executions run (and for [`IDLE_AFTER`] after), every
/// [`IDLE_TICK`] otherwise. The thread ends when the engine is dropped.
fn start_epoch_ticker(engine: &Engine) -> Ticker {
    let weak = engine.weak();
    let (running, parked) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let (busy, idle) = (running.clone(), parked.clone());
    let handle = std::thread::Builder::new()
        .name("fusion-epoch".into())
        .spawn(move || {
            let mut last_busy = Instant::now();
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                if busy.load(Ordering::SeqCst) > 0 {
                    last_busy = Instant::now();
                }
                if last_busy.elapsed() < IDLE_AFTER {
                    std::thread::sleep(EPOCH_TICK);
                    continue;
                }
                idle.store(true, Ordering::SeqCst);
                // An execution that started meanwhile may have missed the flag: look again.
                if busy.load(Ordering::SeqCst) > 0 {
                    idle.store(false, Ordering::SeqCst);
                    continue;
                }
                // Woken early by the next execution.
                std::thread::park_timeout(IDLE_TICK);
                idle.store(false, Ordering::SeqCst);
            }
        })
        .expect("spawning the epoch thread");
    Ticker { running, parked, thread: handle.thread().clone() }
}
