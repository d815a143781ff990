//! Requests in the benchmarks arrive with an idle gap, as on a host that is not saturated, so the
//! background work after one request is not billed to the next.

use std::future::Future;
use std::time::{Duration, Instant};

/// Idle time before each request (not measured).
pub const GAP: Duration = Duration::from_micros(500);

/// The time `iters` requests take, each sent after an unmeasured [`GAP`].
pub async fn with_gap<F: Future<Output = ()>>(iters: u64, mut request: impl FnMut() -> F) -> Duration {
    let mut measured = Duration::ZERO;
    for _ in 0..iters {
        std::thread::sleep(GAP);
        let started = Instant::now();
        request().await;
        measured += started.elapsed();
    }
    measured
}
