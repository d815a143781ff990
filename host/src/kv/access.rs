//! A task execution's way to the stores: its grants checked, limits enforced, and each
//! operation counted and timed for the execution's span (the optimizer counts the waits).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::{KvAnswer, KvBackend, KvError, KvErrorKind, KvOp, is_store_name};

/// The stores one task execution may reach, and where they are.
#[derive(Clone)]
pub struct KvSession {
    /// The app's backend; None when the host has no store configured.
    pub backend: Option<Arc<dyn KvBackend>>,
    /// The stores the running task is granted.
    pub grants: BTreeSet<String>,
    /// The running task, for messages.
    pub task: String,
    /// Where the operations are counted.
    pub stats: Arc<KvStats>,
}

/// Operations of one execution and the time they took.
#[derive(Debug, Default)]
pub struct KvStats {
    ops: AtomicU64,
    micros: AtomicU64,
}

impl KvStats {
    /// Operations run so far.
    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::Relaxed)
    }

    /// Their total time, µs.
    pub fn micros(&self) -> u64 {
        self.micros.load(Ordering::Relaxed)
    }
}

impl KvSession {
    /// A session that reaches nothing (a store not yet handed to a request).
    pub fn none(task: &str) -> KvSession {
        KvSession { backend: None, grants: BTreeSet::new(), task: task.to_string(), stats: Arc::default() }
    }

    /// Runs `op` if the task is granted its store and it is within the limits.
    pub async fn run(&self, op: KvOp) -> Result<KvAnswer, KvError> {
        let store = op.store();
        if !is_store_name(store) || !self.grants.contains(store) {
            let granted = if self.grants.is_empty() { "none".to_string() } else { self.grants.iter().cloned().collect::<Vec<_>>().join(", ") };
            return Err(KvError::new(KvErrorKind::Denied, format!("task '{}' has no grant for store '{store}' (granted: {granted})", self.task)));
        }
        op.check()?;
        let Some(backend) = &self.backend else {
            return Err(KvError::unavailable("this host has no key-value backend configured"));
        };
        let started = Instant::now();
        let answer = backend.run(op).await;
        self.stats.ops.fetch_add(1, Ordering::Relaxed);
        self.stats.micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        answer
    }
}
