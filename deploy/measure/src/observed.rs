//! A setup version's run as a report keeps it: its latencies (a bounded sample), where its dollars
//! went, and the call graph its requests took. The optimizer needs only medians and means; people
//! judging a setup want the spread, the bill and the shape.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use fusion_host::telemetry::Record;
use fusion_optimizer::pricing::Pricing;
use serde::{Deserialize, Serialize};

use crate::cost::{self, CostParts};
use crate::extract::{self, Edge};
use crate::stats::LatencySample;

/// What one setup version's requests showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Request latencies, first start to root end (`count` is the number of requests).
    pub latency: LatencySample,
    /// Per function invoked, its cost per request by part.
    pub cost: BTreeMap<String, CostParts>,
    /// The call graph, with each edge's calls over all the requests.
    pub edges: Vec<Edge>,
}

impl Observed {
    /// How often `edge` was called per request.
    pub fn per_request(&self, edge: &Edge) -> f64 {
        edge.count as f64 / self.latency.count.max(1) as f64
    }
}

/// What the requests of `traces` that setup `version` served show in `records`; None when none
/// of them was recorded whole.
pub fn observe(records: &[Record], pricing: Pricing, version: u64, traces: &BTreeSet<String>) -> Option<Observed> {
    let report = extract::extract(records, pricing, Some(traces)).into_iter().find(|v| v.setup_version == version)?;
    let latencies: Vec<Duration> = report.requests.iter().map(|r| Duration::from_micros(r.latency_us)).collect();
    let served: BTreeSet<String> = report.requests.iter().map(|r| r.trace_id.clone()).collect();
    Some(Observed { latency: LatencySample::of(&latencies)?, cost: cost::by_function(records, pricing, &served), edges: report.edges })
}
