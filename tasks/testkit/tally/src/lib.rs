//! Counts the executions its instance has served: 1 on every call while each execution gets a
//! fresh instance (the default), 1, 2, 3, … once the task opts in to instance reuse. Tests use it
//! to show what reuse gives up, and (payload `panic`) that a trapped instance is not reused.

use std::sync::atomic::{AtomicU64, Ordering};

static SERVED: AtomicU64 = AtomicU64::new(0);

fn tally(payload: Vec<u8>) -> Result<Vec<u8>, fusion_guest::Error> {
    assert!(payload != b"panic", "asked to panic");
    Ok((SERVED.fetch_add(1, Ordering::Relaxed) + 1).to_string().into_bytes())
}

fusion_guest::export_task!(bytes tally);
