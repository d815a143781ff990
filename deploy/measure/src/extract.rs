//! The extractor: from the hosts' telemetry to, per setup version, the call graph
//! (edges with counts, modes and durations) and per-request latency, cost and cold starts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use fusion_host::CallMode;
use fusion_host::telemetry::{InvocationRecord, Record, Span};

use fusion_optimizer::objective::Outcome;
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::extent;
use serde::{Deserialize, Serialize};

use crate::telemetry_lines::{self, Skipped};

/// Reads every `*.jsonl` file in `dir`, keeping the records that pass
/// [`telemetry_lines::read`]'s checks (against the app's `tasks` when given); the lines that do
/// not (a host killed mid-write, an impossible duration, …) are skipped and counted.
pub fn read_dir(dir: &Path, tasks: Option<&BTreeSet<String>>) -> Result<(Vec<Record>, Skipped)> {
    let mut records = Vec::new();
    let mut skipped = Skipped::default();
    let entries = std::fs::read_dir(dir).with_context(|| format!("no telemetry in {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let (more, bad) = std::fs::File::open(&path)
            .and_then(|file| telemetry_lines::read(std::io::BufReader::new(file), tasks))
            .with_context(|| format!("cannot read {}", path.display()))?;
        records.extend(more);
        skipped.merge(bad);
    }
    Ok((records, skipped))
}

/// The records of JSON lines (the store's batches, CloudWatch lines) that pass
/// [`telemetry_lines::read`]'s checks, and the lines skipped.
pub fn parse_lines(lines: &[u8], tasks: Option<&BTreeSet<String>>) -> (Vec<Record>, Skipped) {
    telemetry_lines::read(lines, tasks).expect("reading from memory cannot fail")
}

/// One edge of the call graph: `caller` called `callee` this way, `count` times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// `client` for requests from outside.
    pub caller: String,
    /// The task called.
    pub callee: String,
    /// Sync or async.
    pub mode: CallMode,
    /// Whether the call crossed a function boundary.
    pub remote: bool,
    /// How many times the call was made.
    pub count: usize,
    /// Mean duration of the callee's span and the guest CPU time in it, µs.
    pub mean_duration_us: f64,
    /// Mean guest CPU time in the callee's span, µs.
    pub mean_cpu_us: f64,
}

/// One request: from its start to the end of its root span, and of its last span.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestReport {
    /// The request's trace.
    pub trace_id: String,
    /// From its start (its entry invocation's, a cold environment's init included; else its
    /// first span's) to its root span's end, µs.
    pub latency_us: u64,
    /// From its start to its last span's end (async work included), µs.
    pub completion_us: u64,
    /// Dollars, every invocation of the request at its billed duration.
    pub cost: f64,
    /// Function invocations it caused (the entry's included).
    pub invocations: usize,
    /// How many of them started a new execution environment.
    pub cold_starts: usize,
    /// Whether any of its spans failed.
    pub failed: bool,
}

/// Everything measured under one setup version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionReport {
    /// The setup version that served these requests.
    pub setup_version: u64,
    /// The call graph its requests took.
    pub edges: Vec<Edge>,
    /// Every complete request.
    pub requests: Vec<RequestReport>,
    /// Per function invoked, the memory its environments used.
    pub memory: Vec<FunctionMemory>,
}

/// The memory one function's environments used over a version's requests (Lambda's "Max Memory
/// Used" per invocation, summarised).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionMemory {
    /// The function.
    pub function: String,
    /// Its memory size, MB.
    pub memory_mb: u32,
    /// Its invocations.
    pub invocations: usize,
    /// The most one invocation's environment used, MB.
    pub max_mb: u32,
    /// The 95th percentile of that over its invocations, MB.
    pub p95_mb: u32,
    /// Invocations that ran out of memory.
    pub out_of_memory: usize,
}

impl RequestReport {
    /// What the objectives judge of it.
    pub fn outcome(&self) -> Outcome {
        Outcome { latency_ms: self.latency_us as f64 / 1e3, completion_ms: self.completion_us as f64 / 1e3, cost: self.cost }
    }
}

impl VersionReport {
    /// The mean of `f` over this version's requests.
    pub fn mean(&self, f: impl Fn(&RequestReport) -> f64) -> f64 {
        mean(&self.requests, f)
    }
}

/// The mean of `f` over `requests` (0 when there are none).
pub fn mean<'a>(requests: impl IntoIterator<Item = &'a RequestReport>, f: impl Fn(&RequestReport) -> f64) -> f64 {
    let (sum, n) = requests.into_iter().fold((0.0, 0usize), |(sum, n), r| (sum + f(r), n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Per (caller, callee, mode, remote): calls, summed duration and summed guest CPU, µs.
type EdgeSums = BTreeMap<(String, String, CallMode, bool), (usize, u64, u64)>;

/// Builds the reports of the requests in `records` (only those in `traces`, when given). A
/// request whose root span is missing (still running, or cut off) is left out.
pub fn extract(records: &[Record], pricing: Pricing, traces: Option<&BTreeSet<String>>) -> Vec<VersionReport> {
    let wanted = |trace: &str| traces.is_none_or(|t| t.contains(trace));
    let mut spans: BTreeMap<&str, Vec<&Span>> = BTreeMap::new();
    let mut invocations: BTreeMap<&str, Vec<&InvocationRecord>> = BTreeMap::new();
    for record in records {
        match record {
            Record::Span(s) if wanted(&s.trace_id) => spans.entry(&s.trace_id).or_default().push(s),
            Record::Invocation(i) if wanted(&i.trace_id) => invocations.entry(&i.trace_id).or_default().push(i),
            _ => {}
        }
    }
    let mut versions: BTreeMap<u64, (EdgeSums, Vec<RequestReport>, MemorySamples)> = BTreeMap::new();
    for (trace, spans) in &spans {
        let Some(root) = spans.iter().find(|s| s.parent_span.is_none()) else { continue };
        let (edges, requests, memory) = versions.entry(root.setup_version).or_default();
        for span in spans {
            let caller = span.caller.clone().unwrap_or_else(|| "client".into());
            let edge = edges.entry((caller, span.task.clone(), span.mode, span.remote)).or_default();
            edge.0 += 1;
            edge.1 += span.duration_us;
            edge.2 += span.cpu_us;
        }
        let invs = invocations.get(trace).map(Vec::as_slice).unwrap_or_default();
        let (first_start, last_end) = extent(spans.iter().copied(), invs);
        for inv in invs {
            let samples = memory.entry(inv.function.clone()).or_insert_with(|| (inv.memory_mb, Vec::new(), 0));
            samples.1.push(inv.max_memory_used_mb);
            samples.2 += usize::from(inv.out_of_memory);
        }
        requests.push(RequestReport {
            trace_id: trace.to_string(),
            latency_us: root.start_us + root.duration_us - first_start,
            completion_us: last_end - first_start,
            cost: invs.iter().map(|i| pricing.invocation(i)).sum(),
            invocations: invs.len(),
            cold_starts: invs.iter().filter(|i| i.cold_start).count(),
            failed: root.error.is_some(),
        });
    }
    versions
        .into_iter()
        .map(|(setup_version, (edges, requests, memory))| VersionReport {
            setup_version,
            edges: edges
                .into_iter()
                .map(|((caller, callee, mode, remote), (count, duration, cpu))| Edge {
                    caller,
                    callee,
                    mode,
                    remote,
                    count,
                    mean_duration_us: duration as f64 / count as f64,
                    mean_cpu_us: cpu as f64 / count as f64,
                })
                .collect(),
            requests,
            memory: memory.into_iter().map(|(function, samples)| summarise_memory(function, samples)).collect(),
        })
        .collect()
}

/// Per function: its memory size, every invocation's peak (MB), and how many ran out.
type MemorySamples = BTreeMap<String, (u32, Vec<u32>, usize)>;

fn summarise_memory(function: String, (memory_mb, mut peaks, out_of_memory): (u32, Vec<u32>, usize)) -> FunctionMemory {
    peaks.sort_unstable();
    // Nearest rank: the smallest peak at or above 95 % of the invocations.
    let p95 = peaks.get((peaks.len() * 95).div_ceil(100).saturating_sub(1)).copied().unwrap_or(0);
    FunctionMemory { function, memory_mb, invocations: peaks.len(), max_mb: peaks.last().copied().unwrap_or(0), p95_mb: p95, out_of_memory }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A span of trace `t` from `start_ms` for `ms`, called by `parent`'s task (`None`: the root).
    fn span(id: &str, parent: Option<(&str, &str)>, task: &str, mode: CallMode, start_ms: u64, ms: u64) -> Record {
        Record::Span(Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span: parent.map(|p| p.0.into()),
            outside_parent: None,
            function: task.into(),
            setup_version: 1,
            task: task.into(),
            caller: parent.map(|p| p.1.into()),
            mode,
            remote: true,
            start_us: 1_000_000 + start_ms * 1000,
            duration_us: ms * 1000,
            cpu_us: 100,
            calls_us: 0,
            called_together: Vec::new(),
            kv_ops: 0,
            kv_us: 0,
            memory_mb: 128,
            memory_used_kb: 0,
            cold_start: false,
            error: None,
        })
    }

    #[test]
    fn completion_runs_from_the_first_start_to_the_last_end_async_work_included() {
        use CallMode::{Async, Sync};
        // I answers at 10 ms; CT, fired at its end, runs until 30 ms and fires AS, which ends at
        // 45 ms, after its caller. Listed in no particular order, as records arrive.
        let records = [
            span("as", Some(("ct", "CT")), "AS", Async, 15, 30),
            span("i", None, "I", Sync, 0, 10),
            span("ct", Some(("i", "I")), "CT", Async, 11, 19),
            span("cw", Some(("i", "I")), "CW", Sync, 2, 3),
        ];
        let versions = extract(&records, Pricing::LAMBDA_X86, None);
        let request = &versions[0].requests[0];
        assert_eq!((request.latency_us, request.completion_us), (10_000, 45_000));
        assert_eq!((request.outcome().latency_ms, request.outcome().completion_ms), (10.0, 45.0));
        // Without async work, it completes when it answers.
        let sync_only = extract(&records[1..2], Pricing::LAMBDA_X86, None);
        assert_eq!(sync_only[0].requests[0].completion_us, sync_only[0].requests[0].latency_us);
        // A cold entry invocation starts its environment 20 ms before I's span: the request
        // waited for that too.
        let entry = Record::Invocation(InvocationRecord {
            trace_id: "t".into(),
            function: "I".into(),
            setup_version: 1,
            root_span: "i".into(),
            start_us: 1_000_000 - 20_000,
            init_us: 20_000,
            response_us: 30_000,
            duration_us: 30_000,
            billed_ms: 30,
            memory_mb: 128,
            cold_start: true,
            max_memory_used_mb: 0,
            out_of_memory: false,
            process_max_rss_mb: 0,
        });
        let cold = extract(&[records.as_slice(), &[entry]].concat(), Pricing::LAMBDA_X86, None);
        assert_eq!((cold[0].requests[0].latency_us, cold[0].requests[0].completion_us), (30_000, 65_000));
    }

    #[test]
    fn memory_is_summarised_per_function_with_its_max_and_nearest_rank_p95() {
        let peaks: Vec<u32> = (1..=40).collect();
        let m = summarise_memory("CS".into(), (128, peaks, 2));
        assert_eq!((m.invocations, m.max_mb, m.p95_mb, m.out_of_memory, m.memory_mb), (40, 40, 38, 2, 128));
        let one = summarise_memory("I".into(), (256, vec![70], 0));
        assert_eq!((one.max_mb, one.p95_mb), (70, 70));
    }
}
