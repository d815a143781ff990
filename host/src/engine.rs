//! The process-wide wasmtime engine: pooling allocator when the OS allows it, epoch interruption
//! for deadlines, and the ticker thread that drives the epoch.

use std::time::Duration;

use anyhow::Result;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. Each tick gives a running guest a chance to yield to other work
/// on its thread and to be stopped at its deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Upper bound of one task's linear memory; [`crate::RuntimeConfig::memory_bytes`] may only lower it.
pub const MAX_TASK_MEMORY: usize = 1 << 30;

/// Linear memory kept mapped between uses of a pool slot: covers a Rust task's 1 MiB stack, its
/// data and a first stretch of heap (1 MiB was measured to leave the first call page-faulting).
const KEEP_RESIDENT: usize = 2 << 20;

/// Concurrent task instances a process can hold with the pooling allocator.
const POOL_INSTANCES: u32 = 1000;

/// An engine and what it was built with.
pub struct FusionEngine {
    pub engine: Engine,
    /// False when the OS refused the pooling allocator's address-space reservation.
    pub pooling: bool,
}

impl FusionEngine {
    pub fn new() -> Result<FusionEngine> {
        let pooled = Engine::new(&config(true));
        let (engine, pooling) = match pooled {
            Ok(engine) => (engine, true),
            Err(err) => {
                tracing::warn!("pooling allocator unavailable ({err:#}); allocating instances on demand");
                (Engine::new(&config(false))?, false)
            }
        };
        start_epoch_ticker(&engine);
        Ok(FusionEngine { engine, pooling })
    }
}

fn config(pooling: bool) -> Config {
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
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(64 << 10)
            // Fewer, larger madvise batches: fewer TLB shootdowns interrupting running guests.
            .decommit_batch_size(16);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Advances the epoch from an OS thread of its own, so a guest spinning on a tokio worker cannot
/// starve it. The thread ends when the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("fusion-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}
