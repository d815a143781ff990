//! What the optimizer learns from one measured setup. Per task: the CPU time it uses and how long
//! it waits on its own (I/O, sleeps), which do not depend on where it runs. Per call edge: how
//! often, sync or async, and whether the caller makes it concurrently with its other sync calls.
//! And what the setup measured, to check the model against.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail, ensure};
use fusion_host::telemetry::{InvocationRecord, Record, Span};
use fusion_host::{CallMode, FusionSetup};

use crate::objective::Outcome;
use crate::pricing::Pricing;
use crate::resources::paced_ms;

/// What one task does per run, whichever function runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskProfile {
    /// How often the task runs per request.
    pub runs_per_request: f64,
    /// Guest CPU time per run, ms.
    pub cpu_ms: f64,
    /// Time per run the task waits on its own (not on calls, not on its CPU share), ms.
    pub wait_ms: f64,
    /// The most memory one run's store held (linear memory and tables), MB.
    pub memory_mb: f64,
}

/// What the environments of one function of the profiled setup used, and what starting one took.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentProfile {
    /// The tasks the function ran in-process (its group).
    pub group: BTreeSet<String>,
    /// The most an environment used in one invocation, the host's share included, MB; for an
    /// invocation that ran out of memory, what it wanted.
    pub peak_mb: u32,
    /// Whether an invocation ran out of memory.
    pub out_of_memory: bool,
    /// The median init of its cold starts (the platform's runtime and loading the group's
    /// components), ms; None when none was seen or the host could not see it (on Lambda itself).
    pub init_ms: Option<f64>,
}

/// One call edge: a task calling another in one mode, as the profiled setup made it.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeProfile {
    /// The task making the call.
    pub caller: String,
    /// The task called.
    pub callee: String,
    /// Sync or async: the same two tasks have one edge per mode they use.
    pub mode: CallMode,
    /// Calls per run of the caller.
    pub calls_per_run: f64,
    /// The most calls one run of the caller made: what a fan-out holds at once.
    pub most_per_run: u32,
    /// The caller makes this sync call concurrently with its other concurrent ones (invoke-all).
    pub concurrent: bool,
    /// For an async call: the caller's sync calls that return before it is made. Fused async
    /// work starts after them, not when its caller ends.
    pub after: BTreeSet<String>,
    /// How long the callee waits on its own per run when called over this edge, ms: a task can
    /// do other I/O for another caller. None: as its task profile says.
    pub callee_wait_ms: Option<f64>,
}

/// What the profiled setup measured, per request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measured {
    /// Median latency of a request, from its entry invocation's start (a cold environment's init
    /// included) to its root span's end, ms.
    pub p50_latency_ms: f64,
    /// Median completion time of a request, from its start (as for latency) to its last span's
    /// end, ms (loops recorded before it have none).
    #[serde(default)]
    pub p50_completion_ms: f64,
    /// Mean dollars per request, all the invocations it caused included.
    pub mean_cost: f64,
    /// Mean Lambda invocations per request.
    pub invocations: f64,
    /// Cost per request of each function's invocations (what Fusionize++ sizes memory by).
    pub cost_by_function: BTreeMap<String, f64>,
}

impl Measured {
    /// What the objectives judge of it.
    pub fn outcome(&self) -> Outcome {
        Outcome { latency_ms: self.p50_latency_ms, completion_ms: self.p50_completion_ms, cost: self.mean_cost }
    }
}

/// What the optimizer learns from one measured setup: its tasks, its call edges, what it measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The application profiled.
    pub app: String,
    /// The task requests enter at: the root of every trace.
    pub entry: String,
    /// The setup the telemetry was recorded under.
    pub setup: FusionSetup,
    /// How many complete requests the profile was built from: those that met only warm
    /// environments (unless none did).
    pub requests: usize,
    /// Complete requests left out because they met a cold environment: a first start pays once
    /// for what a request in steady state does not (compiling a component, a runtime's init, the
    /// waits of its callers on it), so it says nothing about a setup's per-request latency and
    /// cost.
    pub cold_requests: usize,
    /// Requests per second the profiled traffic arrived at: every complete request, cold or not,
    /// between the first's start and the last's. None with fewer than two.
    pub arrival_per_s: Option<f64>,
    /// Per task, by name, what it does per run.
    pub tasks: BTreeMap<String, TaskProfile>,
    /// Every call edge seen, one per caller, callee and mode.
    pub edges: Vec<EdgeProfile>,
    /// What the profiled setup measured: the model is calibrated and checked against it.
    pub measured: Measured,
    /// Per function of the profiled setup that was invoked, the memory its environments used.
    pub environments: BTreeMap<String, EnvironmentProfile>,
}

/// What the profile counts of one call edge: calls, sync calls that overlapped a sibling call,
/// for async calls how often each sync sibling had returned before it started, and the calls per
/// calling span.
type EdgeTally<'a> = (usize, usize, BTreeMap<&'a str, usize>, BTreeMap<&'a str, u32>, f64);

impl Profile {
    /// Profiles `setup` from telemetry `records` of app `app`, whose tasks are `tasks` and whose
    /// requests enter at `entry`. Only requests whose every span was recorded count.
    pub fn from_records(records: &[Record], app: &str, entry: &str, tasks: &BTreeSet<String>, setup: &FusionSetup, pricing: Pricing) -> Result<Profile> {
        ensure!(setup.app == app, "the setup is for app '{}', not '{app}'", setup.app);
        let mut spans: BTreeMap<&str, Vec<&Span>> = BTreeMap::new();
        let mut invocations: BTreeMap<&str, Vec<&InvocationRecord>> = BTreeMap::new();
        for record in records {
            match record {
                Record::Span(s) if s.setup_version == setup.version => {
                    if !tasks.contains(&s.task) {
                        bail!("telemetry from another app: task '{}' is not a task of '{app}'", s.task);
                    }
                    spans.entry(&s.trace_id).or_default().push(s);
                }
                Record::Invocation(i) if i.setup_version == setup.version => invocations.entry(&i.trace_id).or_default().push(i),
                _ => {}
            }
        }
        ensure!(!spans.is_empty(), "no telemetry of setup version {} of '{app}'", setup.version);
        let complete: Vec<&Vec<&Span>> = spans.values().filter(|trace| is_complete(trace, entry)).collect();
        ensure!(!complete.is_empty(), "no complete request of setup version {} in the telemetry (cut off while running?)", setup.version);
        let invocations_of = |trace: &[&Span]| invocations.get(trace[0].trace_id.as_str()).map(Vec::as_slice).unwrap_or_default();
        let arrival_per_s = arrival_rate(complete.iter().map(|trace| extent(trace.iter().copied(), invocations_of(trace)).0));
        let warm: Vec<&Vec<&Span>> = complete.iter().filter(|trace| !trace.iter().any(|s| s.cold_start)).copied().collect();
        let cold_requests = if warm.is_empty() { 0 } else { complete.len() - warm.len() };
        let complete = if warm.is_empty() { complete } else { warm };

        let mut runs: BTreeMap<&str, (usize, Vec<f64>, f64)> = BTreeMap::new();
        // Memory counts every run, of complete requests or not: one that ran out of memory is
        // what matters most.
        let mut task_memory_kb: BTreeMap<&str, u64> = BTreeMap::new();
        for span in spans.values().flatten() {
            let peak = task_memory_kb.entry(&span.task).or_default();
            *peak = (*peak).max(span.memory_used_kb);
        }
        let mut environments: BTreeMap<String, EnvironmentProfile> = BTreeMap::new();
        let mut inits: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for inv in invocations.values().flatten() {
            let group = std::iter::once(inv.function.clone()).chain(setup.function(&inv.function).inline).collect();
            let env = environments.entry(inv.function.clone()).or_insert(EnvironmentProfile { group, peak_mb: 0, out_of_memory: false, init_ms: None });
            env.peak_mb = env.peak_mb.max(inv.max_memory_used_mb);
            env.out_of_memory |= inv.out_of_memory;
            if inv.cold_start && inv.init_us > 0 {
                inits.entry(&inv.function).or_default().push(inv.init_us as f64 / 1e3);
            }
        }
        for (function, mut init) in inits {
            environments.get_mut(function).expect("recorded above").init_ms = Some(median(&mut init));
        }
        let mut edges: BTreeMap<(&str, &str, CallMode), EdgeTally<'_>> = BTreeMap::new();
        let (mut latencies, mut completions) = (Vec::new(), Vec::new());
        for trace in &complete {
            let (first_start, last_end) = extent(trace.iter().copied(), invocations_of(trace));
            completions.push((last_end - first_start) as f64 / 1e3);
            let by_id: BTreeMap<&str, &Span> = trace.iter().map(|s| (s.span_id.as_str(), *s)).collect();
            for span in trace.iter() {
                let cpu_ms = span.cpu_us as f64 / 1e3;
                let own_ms = span.duration_us.saturating_sub(span.calls_us) as f64 / 1e3;
                let run = runs.entry(&span.task).or_default();
                let waited = (own_ms - paced_ms(cpu_ms, span.memory_mb)).max(0.0);
                run.0 += 1;
                run.1.push(cpu_ms);
                run.2 += waited;
                match span.parent_span.as_deref().map(|p| by_id[p]) {
                    None => latencies.push((span.start_us + span.duration_us - first_start) as f64 / 1e3),
                    Some(parent) => {
                        let edge = edges.entry((&parent.task, &span.task, span.mode)).or_default();
                        edge.0 += 1;
                        *edge.3.entry(&parent.span_id).or_default() += 1;
                        edge.4 += waited;
                        if span.mode == CallMode::Sync && (parent.called_together.contains(&span.task) || overlaps_a_sibling(span, trace)) {
                            edge.1 += 1;
                        }
                        if span.mode == CallMode::Async {
                            for before in sync_siblings_ended_before(span, trace) {
                                *edge.2.entry(before).or_default() += 1;
                            }
                        }
                    }
                }
            }
        }
        let requests = complete.len();
        // The median CPU time: a run slowed by the machine's other work (the emulator shares its
        // cores; Lambda does not) says little about the task.
        let tasks: BTreeMap<String, TaskProfile> = runs
            .iter_mut()
            .map(|(task, (n, cpu, wait))| {
                let n = *n as f64;
                let memory_mb = task_memory_kb.get(task).copied().unwrap_or_default() as f64 / 1024.0;
                (task.to_string(), TaskProfile { runs_per_request: n / requests as f64, cpu_ms: median(cpu), wait_ms: *wait / n, memory_mb })
            })
            .collect();
        let edges = edges
            .into_iter()
            .map(|((caller, callee, mode), (count, overlapping, before, per_run, waited))| EdgeProfile {
                caller: caller.to_string(),
                callee: callee.to_string(),
                mode,
                calls_per_run: count as f64 / runs[caller].0 as f64,
                most_per_run: per_run.into_values().max().unwrap_or(0),
                concurrent: overlapping * 2 > count,
                after: before.into_iter().filter(|(_, n)| n * 2 > count).map(|(t, _)| t.to_string()).collect(),
                callee_wait_ms: Some(waited / count as f64),
            })
            .collect();
        let traces: BTreeSet<&str> = complete.iter().map(|t| t[0].trace_id.as_str()).collect();
        let invs: Vec<&&InvocationRecord> = invocations.iter().filter(|(t, _)| traces.contains(*t)).flat_map(|(_, i)| i).collect();
        let mut cost_by_function: BTreeMap<String, f64> = BTreeMap::new();
        for inv in &invs {
            *cost_by_function.entry(inv.function.clone()).or_default() += pricing.invocation(inv) / requests as f64;
        }
        let measured = Measured {
            p50_latency_ms: median(&mut latencies),
            p50_completion_ms: median(&mut completions),
            mean_cost: cost_by_function.values().sum(),
            invocations: invs.len() as f64 / requests as f64,
            cost_by_function,
        };
        Ok(Profile { app: app.to_string(), entry: entry.to_string(), setup: setup.clone(), requests, cold_requests, arrival_per_s, tasks, edges, measured, environments })
    }

    /// The calls `task` makes.
    pub fn calls_of<'a>(&'a self, task: &'a str) -> impl Iterator<Item = &'a EdgeProfile> + 'a {
        self.edges.iter().filter(move |e| e.caller == task)
    }
}

/// When a request began and its work ended, µs (0, 0 without spans): from its entry
/// invocation's start, which a cold environment's init precedes the first span by (what the
/// client waits for too), else its first span's start, to its last span's end.
pub fn extent<'a>(trace: impl IntoIterator<Item = &'a Span>, invocations: &[&InvocationRecord]) -> (u64, u64) {
    let mut root = None;
    let mut spans = trace.into_iter().inspect(|s| {
        if s.parent_span.is_none() {
            root = Some(s.span_id.as_str());
        }
    });
    let first = spans.next().map(|s| (s.start_us, s.start_us + s.duration_us)).unwrap_or_default();
    let (start, end) = spans.fold(first, |(start, end), s| (start.min(s.start_us), end.max(s.start_us + s.duration_us)));
    let entry = invocations.iter().find(|i| Some(i.root_span.as_str()) == root);
    (entry.map_or(start, |i| i.start_us.min(start)), end)
}

/// Requests per second from their start times (µs): the gaps between the first and the last.
fn arrival_rate(starts: impl Iterator<Item = u64>) -> Option<f64> {
    let (mut first, mut last, mut n) = (u64::MAX, 0, 0usize);
    for start in starts {
        (first, last, n) = (first.min(start), last.max(start), n + 1);
    }
    (n >= 2 && last > first).then(|| (n - 1) as f64 / ((last - first) as f64 / 1e6))
}

/// Every span's parent was recorded, and the root is the entry task.
fn is_complete(trace: &[&Span], entry: &str) -> bool {
    let ids: BTreeSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
    let roots: Vec<_> = trace.iter().filter(|s| s.parent_span.is_none()).collect();
    roots.len() == 1 && roots[0].task == entry && trace.iter().all(|s| s.parent_span.as_deref().is_none_or(|p| ids.contains(p)))
}

/// A sync call running at the same time as another sync call of the same caller run.
fn overlaps_a_sibling(span: &Span, trace: &[&Span]) -> bool {
    let end = span.start_us + span.duration_us;
    trace.iter().any(|other| {
        other.span_id != span.span_id
            && other.parent_span == span.parent_span
            && other.mode == CallMode::Sync
            && other.start_us < end
            && span.start_us < other.start_us + other.duration_us
    })
}

/// The tasks of the sync calls the same caller run had finished before `span` started.
fn sync_siblings_ended_before<'a>(span: &Span, trace: &'a [&Span]) -> impl Iterator<Item = &'a str> {
    let (parent, start) = (span.parent_span.clone(), span.start_us);
    trace
        .iter()
        .filter(move |other| other.parent_span == parent && other.mode == CallMode::Sync && other.start_us + other.duration_us <= start)
        .map(|other| other.task.as_str())
}

/// The median of `values` (the lower middle one of an even count; 0 for none), sorting them.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len().saturating_sub(1) / 2).copied().unwrap_or_default()
}
