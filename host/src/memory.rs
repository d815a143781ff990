//! The memory of an execution environment, counted and bounded as Lambda does with a function's
//! memory size. An environment serves one invocation at a time; everything the invocation holds
//! at once counts against one budget: the linear memories and tables of every store it has live
//! (the task, its fused sync callees waiting on each other, fused parallel and async work), plus
//! [`HOST_SHARE`] for the host itself. A growth past the memory size fails the invocation with
//! `out-of-memory`, and the environment is retired, as Lambda retires a sandbox that ran out of
//! memory. The peak is what the invocation record reports, like Lambda's "Max Memory Used".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use wasmtime::ResourceLimiter;

/// What an environment is charged for the host itself, before any task runs: Lambda counts the
/// whole sandbox, runtime included. It is the resident memory of an idle `fusion-host` process
/// serving one function with its components loaded (measured with `fusion bench memory`, which
/// prints it beside the table), rounded up: the engine, the compiled code, the runtime's threads.
/// A process serves many environments of its function at once; each is charged this share, as
/// each Lambda sandbox would hold its own runtime.
pub const HOST_SHARE: usize = 24 << 20;

/// Bytes a table element takes (a pointer, as wasmtime stores them).
const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();

/// The memory budget of one invocation's environment.
pub struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
    exceeded: AtomicBool,
}

/// A growth refused because the environment would have exceeded its memory size.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the execution environment would use {wanted_mb} MB, over its function's memory size of {limit_mb} MB", wanted_mb = .wanted.div_ceil(1 << 20), limit_mb = .limit >> 20)]
pub struct OutOfMemory {
    /// Bytes the environment would have used with the growth.
    pub wanted: usize,
    /// The memory size.
    pub limit: usize,
}

impl MemoryBudget {
    /// The budget of an environment of a function with `memory_mb`, the host's share taken.
    pub fn new(memory_mb: u32) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            limit: (memory_mb as usize) << 20,
            used: AtomicUsize::new(HOST_SHARE),
            peak: AtomicUsize::new(HOST_SHARE),
            exceeded: AtomicBool::new(false),
        })
    }

    /// Takes `bytes` more, or refuses when that would pass the memory size (and remembers that
    /// the environment ran out, with what it wanted as its peak).
    fn charge(&self, bytes: usize) -> Result<(), OutOfMemory> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let wanted = used.saturating_add(bytes);
            if wanted > self.limit {
                self.exceeded.store(true, Ordering::Relaxed);
                self.peak.fetch_max(wanted, Ordering::Relaxed);
                return Err(OutOfMemory { wanted, limit: self.limit });
            }
            match self.used.compare_exchange_weak(used, wanted, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    self.peak.fetch_max(wanted, Ordering::Relaxed);
                    return Ok(());
                }
                Err(now) => used = now,
            }
        }
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// The most the environment used during the invocation, the host's share included; for an
    /// invocation that ran out, what it wanted.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Whether a growth was refused: the invocation ran out of memory.
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }
}

/// One store's memory: the resource limiter of every task store. It caps the store's own linear
/// memory and, once the store serves an invocation, charges every growth to the environment's
/// budget; what the store holds goes back to the budget when the store is done.
pub(crate) struct StoreMemory {
    budget: Option<Arc<MemoryBudget>>,
    /// Bytes of linear memory and tables the store holds.
    held: usize,
    /// The largest linear memory the store may have.
    max_memory: usize,
    /// The last growth allowed, taken back if the growth then fails.
    last_growth: usize,
}

impl StoreMemory {
    /// A store not yet serving an invocation (its instantiation charges nobody yet).
    pub fn new(max_memory: usize) -> StoreMemory {
        StoreMemory { budget: None, held: 0, max_memory, last_growth: 0 }
    }

    /// Starts charging `budget`, with what the store already holds (a ready instance's memory
    /// counts from the moment the invocation takes it).
    pub fn attach(&mut self, budget: Arc<MemoryBudget>, max_memory: usize) -> Result<(), OutOfMemory> {
        self.release();
        budget.charge(self.held)?;
        self.budget = Some(budget);
        self.max_memory = max_memory;
        Ok(())
    }

    /// Gives what the store holds back to its budget: the store's execution is over.
    pub fn release(&mut self) {
        if let Some(budget) = self.budget.take() {
            budget.release(self.held);
        }
    }

    /// Bytes of linear memory and tables the store holds: its peak, since a store never shrinks.
    pub fn held(&self) -> usize {
        self.held
    }

    fn grow(&mut self, bytes: usize) -> wasmtime::Result<bool> {
        if let Some(budget) = &self.budget {
            budget.charge(bytes)?;
        }
        self.held += bytes;
        self.last_growth = bytes;
        Ok(true)
    }

    fn grow_failed(&mut self) {
        self.held -= self.last_growth;
        if let Some(budget) = &self.budget {
            budget.release(self.last_growth);
        }
        self.last_growth = 0;
    }
}

impl Drop for StoreMemory {
    fn drop(&mut self) {
        self.release();
    }
}

impl ResourceLimiter for StoreMemory {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory || maximum.is_some_and(|max| desired > max) {
            wasmtime::bail!("forcing trap when growing memory to {desired} bytes, over the task's limit of {} bytes", self.max_memory);
        }
        self.grow(desired.saturating_sub(current))
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.grow_failed();
        Err(error.context("forcing a memory growth failure to be a trap"))
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            wasmtime::bail!("forcing trap when growing a table to {desired} elements");
        }
        self.grow(desired.saturating_sub(current) * TABLE_ELEMENT_BYTES)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.grow_failed();
        Err(error.context("forcing a table growth failure to be a trap"))
    }
}

/// The host process's peak resident memory, MB (`getrusage`: a cheap call, unlike reading /proc).
pub fn process_max_rss_mb() -> u32 {
    // SAFETY: getrusage writes only into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    (usage.ru_maxrss as u64).div_ceil(1024) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;

    #[test]
    fn stores_of_one_environment_share_its_budget_and_give_back_what_they_held() {
        let budget = MemoryBudget::new(128);
        let mut stores: Vec<StoreMemory> = (0..4).map(|_| StoreMemory::new(128 * MB)).collect();
        for store in &mut stores[..2] {
            store.attach(budget.clone(), 128 * MB).unwrap();
            assert!(store.memory_growing(0, 40 * MB, None).unwrap());
        }
        // Two tasks of 40 MB and the host's share fit in 128 MB; a third does not.
        stores[2].attach(budget.clone(), 128 * MB).unwrap();
        let refused = stores[2].memory_growing(0, 40 * MB, None).unwrap_err();
        let oom = refused.downcast_ref::<OutOfMemory>().expect("typed");
        assert_eq!((oom.wanted, oom.limit), (HOST_SHARE + 120 * MB, 128 * MB));
        assert!(budget.exceeded());
        assert_eq!(budget.peak(), HOST_SHARE + 120 * MB, "the peak says what it wanted");
        // Once one store is done, its memory is free for another.
        stores[0].release();
        let fresh = MemoryBudget::new(128);
        assert!(!fresh.exceeded());
        stores[3].attach(fresh.clone(), 128 * MB).unwrap();
        assert!(stores[3].memory_growing(0, 100 * MB, None).unwrap());
        assert_eq!(fresh.peak(), HOST_SHARE + 100 * MB);
        drop(stores);
        assert_eq!(budget.used.load(Ordering::Relaxed), HOST_SHARE, "every store gave back what it held");
    }

    #[test]
    fn a_ready_instance_brings_its_memory_along_and_a_failed_growth_is_taken_back() {
        let mut store = StoreMemory::new(64 * MB);
        assert!(store.memory_growing(0, 10 * MB, None).unwrap(), "instantiated before any invocation");
        assert!(store.table_growing(0, 1000, None).unwrap());
        let budget = MemoryBudget::new(128);
        store.attach(budget.clone(), 64 * MB).unwrap();
        assert_eq!(budget.peak(), HOST_SHARE + 10 * MB + 1000 * TABLE_ELEMENT_BYTES);
        assert!(store.memory_growing(10 * MB, 20 * MB, None).unwrap());
        assert!(store.memory_grow_failed(wasmtime::format_err!("mmap failed")).is_err());
        assert_eq!(store.held(), 10 * MB + 1000 * TABLE_ELEMENT_BYTES);
        assert!(store.memory_growing(0, 65 * MB, None).is_err(), "over the task's own limit");
        assert!(!budget.exceeded(), "the task's own limit is not the environment's");
    }
}
