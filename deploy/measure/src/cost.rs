//! Where a request's dollars go, per function: the compute its invocations are billed for, the
//! init phase of cold starts, the time a sync caller is billed while it waits on another function
//! (the double billing that fusing removes), and the request fees. The parts of an invocation add
//! up to what [`Pricing::invocation`] charges for it.

use std::collections::{BTreeMap, BTreeSet};

use fusion_host::CallMode;
use fusion_host::telemetry::{InvocationRecord, Record, Span};
use fusion_optimizer::pricing::Pricing;
use serde::{Deserialize, Serialize};

/// One function's cost per request, by part, dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CostParts {
    /// Billed time working: its tasks, their fused callees, and the rounding up to the price
    /// table's granularity.
    pub compute: f64,
    /// Billed time starting new execution environments (cold starts).
    pub init: f64,
    /// Billed time its tasks waited on sync calls to other functions, which bill the same time.
    pub waiting: f64,
    /// The fee per invocation.
    pub requests: f64,
}

impl CostParts {
    /// The function's whole cost per request.
    pub fn total(&self) -> f64 {
        self.compute + self.init + self.waiting + self.requests
    }
}

/// Functions added up, part by part: a whole request's cost.
impl std::iter::Sum for CostParts {
    fn sum<I: Iterator<Item = CostParts>>(parts: I) -> CostParts {
        parts.fold(CostParts::default(), |a, b| CostParts {
            compute: a.compute + b.compute,
            init: a.init + b.init,
            waiting: a.waiting + b.waiting,
            requests: a.requests + b.requests,
        })
    }
}

/// The spans of a set of traces, by (trace, span id) and by (trace, parent span id).
struct Spans<'a> {
    by_id: BTreeMap<(&'a str, &'a str), &'a Span>,
    children: BTreeMap<(&'a str, &'a str), Vec<&'a Span>>,
}

/// Per function invoked, the mean cost per request over the requests of `traces`, by part.
pub fn by_function(records: &[Record], pricing: Pricing, traces: &BTreeSet<String>) -> BTreeMap<String, CostParts> {
    let mut spans = Spans { by_id: BTreeMap::new(), children: BTreeMap::new() };
    let mut invocations: Vec<&InvocationRecord> = Vec::new();
    for record in records {
        match record {
            Record::Span(s) if traces.contains(&s.trace_id) => {
                spans.by_id.insert((&s.trace_id, &s.span_id), s);
                if let Some(parent) = &s.parent_span {
                    spans.children.entry((&s.trace_id, parent)).or_default().push(s);
                }
            }
            Record::Invocation(i) if traces.contains(&i.trace_id) => invocations.push(i),
            _ => {}
        }
    }
    let mut parts: BTreeMap<String, CostParts> = BTreeMap::new();
    let requests = traces.len().max(1) as f64;
    for inv in invocations {
        let per_us = inv.memory_mb as f64 / 1024.0 * pricing.per_gb_second / 1e6;
        let billed = pricing.billed_ms(inv.duration_us as f64 / 1e3) * 1e3 * per_us;
        let init = (inv.init_us as f64 * per_us).min(billed);
        let waiting = (remote_wait_us(inv, &spans) as f64 * per_us).min(billed - init);
        let function = parts.entry(inv.function.clone()).or_default();
        function.compute += (billed - init - waiting) / requests;
        function.init += init / requests;
        function.waiting += waiting / requests;
        function.requests += pricing.per_request / requests;
    }
    parts
}

/// How long the tasks run in invocation `inv` waited on sync calls to other functions, µs: per
/// task that made such a call, its wait on sync calls less the time its fused sync callees ran.
/// Exact when a task's sync calls do not overlap; when fused and remote ones run concurrently,
/// their overlap counts as compute.
fn remote_wait_us(inv: &InvocationRecord, spans: &Spans<'_>) -> u64 {
    let trace = inv.trace_id.as_str();
    let mut total = 0;
    let mut in_invocation = vec![inv.root_span.as_str()];
    while let Some(id) = in_invocation.pop() {
        let Some(span) = spans.by_id.get(&(trace, id)) else { continue };
        let callees = spans.children.get(&(trace, id)).map(Vec::as_slice).unwrap_or_default();
        if callees.iter().any(|c| c.remote && c.mode == CallMode::Sync) {
            let fused: Vec<(u64, u64)> = callees.iter().filter(|c| !c.remote && c.mode == CallMode::Sync).map(|c| (c.start_us, c.start_us + c.duration_us)).collect();
            total += span.calls_us.saturating_sub(covered_us(fused));
        }
        in_invocation.extend(callees.iter().filter(|c| !c.remote).map(|c| c.span_id.as_str()));
    }
    total
}

/// The length of the union of `intervals` (start, end), µs.
fn covered_us(mut intervals: Vec<(u64, u64)>) -> u64 {
    intervals.sort_unstable();
    let (mut total, mut reached) = (0, 0);
    for (start, end) in intervals {
        total += end.saturating_sub(start.max(reached));
        reached = reached.max(end);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    // Records are built from JSON, as telemetry lines are, so the fields they leave out keep their defaults.

    /// A sync span of trace `t`.
    fn span(id: &str, parent: Option<&str>, function: &str, remote: bool, (start_us, duration_us): (u64, u64), calls_us: u64) -> Record {
        Record::Span(
            serde_json::from_value(serde_json::json!({
                "trace_id": "t", "span_id": id, "parent_span": parent, "function": function, "setup_version": 1, "task": id, "caller": parent,
                "mode": "sync", "remote": remote, "start_us": start_us, "duration_us": duration_us, "cpu_us": 0, "calls_us": calls_us,
                "memory_mb": 1024, "cold_start": false, "error": null
            }))
            .unwrap(),
        )
    }

    fn invocation(trace: &str, function: &str, duration_us: u64, init_us: u64) -> Record {
        Record::Invocation(
            serde_json::from_value(serde_json::json!({
                "trace_id": trace, "function": function, "setup_version": 1, "root_span": function, "start_us": 0, "init_us": init_us,
                "response_us": duration_us, "duration_us": duration_us, "billed_ms": duration_us.div_ceil(1000), "memory_mb": 1024, "cold_start": init_us > 0
            }))
            .unwrap(),
        )
    }

    #[test]
    fn a_sync_caller_waiting_on_another_function_is_billed_for_the_wait_and_the_parts_add_up() {
        // A (function A) calls C fused for 2 ms, then B in function B (a cold start) for 10 ms, hop included.
        let records = [
            span("A", None, "A", false, (0, 15_000), 12_000),
            span("C", Some("A"), "A", false, (1_000, 2_000), 0),
            span("B", Some("A"), "B", true, (4_000, 8_000), 0),
            invocation("t", "A", 15_000, 0),
            invocation("t", "B", 8_000, 3_000),
            invocation("not measured", "A", 99_000, 0),
        ];
        let pricing = Pricing::LAMBDA_X86;
        let parts = by_function(&records, pricing, &BTreeSet::from(["t".to_string()]));
        let per_us = pricing.per_gb_second / 1e6;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
        assert!(close(parts["A"].waiting, 10_000.0 * per_us), "12 ms waiting on calls, 2 of them running C: {:?}", parts["A"]);
        assert!(close(parts["A"].compute, 5_000.0 * per_us) && parts["A"].init == 0.0, "{:?}", parts["A"]);
        assert!(close(parts["B"].init, 3_000.0 * per_us) && close(parts["B"].compute, 5_000.0 * per_us) && parts["B"].waiting == 0.0, "{:?}", parts["B"]);
        let charged: f64 = records[3..5].iter().map(|r| if let Record::Invocation(i) = r { pricing.invocation(i) } else { unreachable!() }).sum();
        assert!(close(parts.values().map(CostParts::total).sum(), charged), "the parts add up to what the measured request's invocations cost");
    }

    #[test]
    fn overlapping_intervals_count_once() {
        assert_eq!(covered_us(vec![(5, 10), (0, 4), (3, 6), (20, 21)]), 11);
        assert_eq!(covered_us(Vec::new()), 0);
    }
}
