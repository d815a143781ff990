//! The optimizer on graphs whose answers can be worked out by hand, the heuristic on the
//! reference apps' call graphs, and the profile's errors on bad telemetry; the shared fixtures
//! are here.

mod cold_starts;
mod model;
mod profile;
mod search;

use std::collections::{BTreeMap, BTreeSet};

use fusion_host::telemetry::{InvocationRecord, Record, Span};
use fusion_host::{CallMode, FusionSetup, Preset};
use fusion_optimizer::heuristic::{grouping_of, inline_next};
use fusion_optimizer::model::{Fit, Model, Overheads};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::{EdgeProfile, Measured, Profile, TaskProfile};
use fusion_optimizer::objective::{Goal, Objective};
use fusion_optimizer::search::{connected_partitions, search};
use CallMode::{Async, Sync};

const LAMBDA: Overheads = Overheads { sync_hop_ms: 40.0, async_enqueue_ms: 90.0, runtime_init_ms: 18.0, idle_timeout_s: 600.0 };

/// A profile of `tasks` (name, cpu ms, wait ms) calling each other along `edges`, profiled
/// all-remote with nothing measured (so the model is not corrected) and at no known rate (so
/// without cold starts).
fn profile(app: &str, tasks: &[(&str, f64, f64)], edges: &[(&str, &str, CallMode)]) -> Profile {
    let names: BTreeSet<String> = tasks.iter().map(|t| t.0.to_string()).collect();
    Profile {
        app: app.into(),
        entry: tasks[0].0.into(),
        setup: FusionSetup::preset(Preset::AllRemote, app, &names, tasks[0].0),
        requests: 1,
        cold_requests: 0,
        arrival_per_s: None,
        tasks: tasks.iter().map(|(t, cpu, wait)| (t.to_string(), TaskProfile { runs_per_request: 1.0, cpu_ms: *cpu, wait_ms: *wait, memory_mb: 1.0 })).collect(),
        edges: edges
            .iter()
            .map(|(a, b, mode)| EdgeProfile {
                caller: a.to_string(),
                callee: b.to_string(),
                mode: *mode,
                calls_per_run: 1.0,
                most_per_run: 1,
                concurrent: false,
                after: BTreeSet::new(),
                callee_wait_ms: None,
            })
            .collect(),
        measured: Measured { p50_latency_ms: 0.0, p50_completion_ms: 0.0, mean_cost: 0.0, invocations: 0.0, cost_by_function: BTreeMap::new() },
        environments: BTreeMap::new(),
    }
}

/// What `setup` measures where `truth` is what the app does and `overheads` what a hop costs:
/// the model's prediction from the truth, uncorrected (nothing measured in it).
fn measured_as(truth: &Profile, overheads: Overheads, setup: &FusionSetup) -> Measured {
    let predicted = Model::new(truth, overheads, Pricing::LAMBDA_X86).predict(setup);
    Measured { p50_latency_ms: predicted.latency_ms, p50_completion_ms: predicted.completion_ms, mean_cost: predicted.cost, invocations: predicted.invocations, cost_by_function: BTreeMap::new() }
}

fn groups(setup: &FusionSetup, profile: &Profile) -> BTreeSet<BTreeSet<String>> {
    let tasks = profile.tasks.keys().cloned().collect();
    grouping_of(setup, &tasks).into_iter().map(|(g, _)| g).collect()
}

fn set(groups: &[&[&str]]) -> BTreeSet<BTreeSet<String>> {
    groups.iter().map(|g| g.iter().map(|t| t.to_string()).collect()).collect()
}

/// Runs the heuristic's fusion phase to its end.
fn fuse(profile: &Profile) -> FusionSetup {
    let mut setup = profile.setup.clone();
    while let Some(next) = inline_next(profile, &setup) {
        setup = next;
    }
    setup
}

/// The profile of recorded telemetry: `fixtures/<app>-all-remote.jsonl`, 4 requests of the app
/// with one function per task on a local cluster (`fusion load --setup all-remote --size small`).
fn recorded(app: &str) -> Profile {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(format!("tests/fixtures/{app}-all-remote.jsonl"))).unwrap();
    let records: Vec<Record> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let spans: Vec<_> = records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s) } else { None }).collect();
    // Every task of the app ran in the recorded requests; the entry is the one nothing called.
    let tasks = spans.iter().map(|s| s.task.clone()).collect();
    let entry = spans.iter().find(|s| s.caller.is_none()).expect("a request's root span").task.clone();
    let mut setup = FusionSetup::preset(Preset::AllRemote, app, &tasks, &entry);
    setup.version = spans[0].setup_version;
    Profile::from_records(&records, app, &entry, &tasks, &setup, Pricing::LAMBDA_X86).unwrap()
}
