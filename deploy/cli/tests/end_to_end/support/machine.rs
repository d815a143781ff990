//! Who may share the machine. The tests of this binary run two at a time (one per core): one that
//! measures time against a prediction or a window (the autopilot, the cold-start model) would be
//! made noisy by a neighbour that keeps a core busy, so it holds the machine alone, and every other
//! test holds a share of it. (std's `RwLock` lets no new reader in while a writer waits, so a
//! measuring test is not starved.)

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static MACHINE: RwLock<()> = RwLock::new(());

/// For a test that measures: it runs once no other test does, and no other starts meanwhile.
pub fn alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

/// For every other test: it runs beside any test but one that measures.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}
