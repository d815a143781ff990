//! Windows of live traffic. Records arrive per trace, in pieces, from every host; a request
//! belongs to the window in which its first span started, under the setup version its entry ran
//! under. A window closes once it has both its requests and its duration; it is measured a grace
//! period later, when the async work of its last requests has been recorded too.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;

use anyhow::Result;
use fusion_host::FusionSetup;
use fusion_host::telemetry::Record;
use fusion_measure::extract;
use fusion_optimizer::objective::Objective;
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::Profile;

use super::workload::Workload;

/// When a window closes: once both are reached.
#[derive(Debug, Clone, Copy)]
pub struct WindowSpec {
    /// Requests at least.
    pub requests: usize,
    /// Duration at least.
    pub duration: Duration,
}

/// The records received, by trace.
#[derive(Default)]
pub struct Traffic {
    traces: BTreeMap<String, Vec<Record>>,
}

/// A trace's request: when its first span started and the version its entry ran under, once its
/// root span is in.
struct Request {
    first_start_us: u64,
    version: u64,
}

impl Traffic {
    /// Takes in newly arrived records.
    pub fn add(&mut self, records: Vec<Record>) {
        for record in records {
            let trace = match &record {
                Record::Span(s) => &s.trace_id,
                Record::Invocation(i) => &i.trace_id,
            };
            self.traces.entry(trace.clone()).or_default().push(record);
        }
    }

    fn request(records: &[Record]) -> Option<Request> {
        let spans = || records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s) } else { None });
        let root = spans().find(|s| s.parent_span.is_none())?;
        Some(Request { first_start_us: spans().map(|s| s.start_us).min().unwrap_or(root.start_us), version: root.setup_version })
    }

    /// The requests of `version` whose first span started at or after `from_us` (and before
    /// `to_us`, when given) whose root span has been recorded.
    pub fn requests(&self, version: u64, from_us: u64, to_us: Option<u64>) -> BTreeSet<&str> {
        self.traces
            .iter()
            .filter(|(_, records)| {
                Self::request(records).is_some_and(|r| r.version == version && r.first_start_us >= from_us && to_us.is_none_or(|to| r.first_start_us < to))
            })
            .map(|(trace, _)| trace.as_str())
            .collect()
    }

    /// Forgets every trace that started before `us` (measured or never to be).
    pub fn forget_before(&mut self, us: u64) {
        self.traces.retain(|_, records| {
            let first = records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s.start_us) } else { None }).min();
            first.is_none_or(|start| start >= us)
        });
    }

    /// Every record of `traces`.
    fn records_of(&self, traces: &BTreeSet<&str>) -> Vec<Record> {
        traces.iter().flat_map(|t| self.traces[*t].iter().cloned()).collect()
    }
}

/// What one closed window of one setup version measured.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The setup that served it.
    pub setup: FusionSetup,
    /// Requests recorded (root span in) in the window.
    pub requests: usize,
    /// Per request, the objective's value (what the rank test compares), in no order: of the
    /// requests that met only warm environments, as the profile counts them (unless none did).
    pub samples: Vec<f64>,
    /// The profile of the window's complete requests: what the model predicts from.
    pub profile: Profile,
    /// The window's call graph, for drift.
    pub workload: Workload,
}

/// Measures the requests of `setup`'s version in `traffic` that started within `window` (Unix µs).
pub fn measure(traffic: &Traffic, setup: &FusionSetup, entry: &str, tasks: &BTreeSet<String>, window: Range<u64>, objective: Objective, pricing: Pricing) -> Result<Measurement> {
    let traces = traffic.requests(setup.version, window.start, Some(window.end));
    let records = traffic.records_of(&traces);
    let profile = Profile::from_records(&records, &setup.app, entry, tasks, setup, pricing)?;
    let requests: Vec<_> = extract::extract(&records, pricing, None).into_iter().filter(|v| v.setup_version == setup.version).flat_map(|v| v.requests).collect();
    let any_warm = requests.iter().any(|r| r.cold_starts == 0);
    let samples = requests.iter().filter(|r| !any_warm || r.cold_starts == 0).map(|r| objective.value(r.outcome())).collect();
    Ok(Measurement { setup: setup.clone(), requests: traces.len(), samples, workload: Workload::of(&profile), profile })
}
