//! What a window's traffic asks of the app, to tell when it changed (drift): each call edge's
//! calls per request. A changed mix of requests shows as edges that appear, vanish or move; a
//! change in how much work each task does does not (that is what a setup is measured on).

use std::collections::{BTreeMap, BTreeSet};

use fusion_host::CallMode;
use fusion_optimizer::profile::Profile;
use serde::{Deserialize, Serialize};

/// How far an edge's calls per request may move, relative to the larger of the two, before the
/// workload counts as changed (and the move must also be beyond counting noise).
const RELATIVE_MOVE: f64 = 0.25;

/// How many standard deviations of counting noise a move must exceed.
const NOISE_SIGMAS: f64 = 3.0;

/// One window's call graph: per edge (caller, callee, mode), calls per request, over `requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Requests the rates were counted over.
    pub requests: usize,
    /// `caller → callee (mode)` → calls per request.
    pub calls_per_request: BTreeMap<String, f64>,
}

impl Workload {
    /// The workload a profile measured.
    pub fn of(profile: &Profile) -> Workload {
        let calls_per_request = profile
            .edges
            .iter()
            .map(|e| {
                let mode = if e.mode == CallMode::Sync { "sync" } else { "async" };
                (format!("{} → {} ({mode})", e.caller, e.callee), e.calls_per_run * profile.tasks[&e.caller].runs_per_request)
            })
            .collect();
        Workload { requests: profile.requests, calls_per_request }
    }

    /// The edges whose calls per request moved from `before` to this window beyond noise and by
    /// more than a quarter (an edge that appeared or vanished moved from or to zero), each with
    /// its two rates. Empty: the same workload.
    pub fn moved_from(&self, before: &Workload) -> Vec<(String, f64, f64)> {
        let edges: BTreeSet<&String> = self.calls_per_request.keys().chain(before.calls_per_request.keys()).collect();
        let n = self.requests.min(before.requests).max(1) as f64;
        edges
            .into_iter()
            .filter_map(|edge| {
                let (was, now) = (before.calls_per_request.get(edge).copied().unwrap_or(0.0), self.calls_per_request.get(edge).copied().unwrap_or(0.0));
                let change = (now - was).abs();
                // Calls in a window are counts: their noise grows with the square root of the rate.
                let noise = ((was + now) / n).sqrt();
                (change > RELATIVE_MOVE * was.max(now) && change > NOISE_SIGMAS * noise).then(|| (edge.clone(), was, now))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(requests: usize, edges: &[(&str, f64)]) -> Workload {
        Workload { requests, calls_per_request: edges.iter().map(|(e, r)| (e.to_string(), *r)).collect() }
    }

    #[test]
    fn counting_noise_is_not_drift_and_a_new_mix_is() {
        let browse = workload(200, &[("frontend → getproduct (sync)", 0.6), ("frontend → checkout (sync)", 0.1), ("checkout → email (async)", 0.1)]);
        let again = workload(200, &[("frontend → getproduct (sync)", 0.57), ("frontend → checkout (sync)", 0.12), ("checkout → email (async)", 0.12)]);
        assert!(again.moved_from(&browse).is_empty(), "{:?}", again.moved_from(&browse));
        let checkout = workload(200, &[("frontend → getproduct (sync)", 0.2), ("frontend → checkout (sync)", 0.5), ("checkout → email (async)", 0.5)]);
        let moved: Vec<String> = checkout.moved_from(&browse).into_iter().map(|(e, _, _)| e).collect();
        assert_eq!(moved.len(), 3, "{moved:?}");
    }

    #[test]
    fn an_edge_that_appears_counts_once_it_is_more_than_a_few_calls() {
        let before = workload(100, &[("A → B (sync)", 1.0)]);
        assert!(workload(100, &[("A → B (sync)", 1.0), ("A → C (sync)", 0.03)]).moved_from(&before).is_empty(), "three calls in 100 requests");
        let appeared = workload(100, &[("A → B (sync)", 1.0), ("A → C (sync)", 0.5)]);
        assert_eq!(appeared.moved_from(&before), vec![("A → C (sync)".to_string(), 0.0, 0.5)]);
        assert_eq!(before.moved_from(&appeared), vec![("A → C (sync)".to_string(), 0.5, 0.0)], "and vanishes");
    }
}
