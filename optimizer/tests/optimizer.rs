//! The optimizer on graphs whose answers can be worked out by hand, the heuristic on the
//! reference apps' call graphs, and the profile's errors on bad telemetry.

use std::collections::{BTreeMap, BTreeSet};

use fusion_host::telemetry::{InvocationRecord, Record, Span};
use fusion_host::{CallMode, FusionSetup, Preset};
use fusion_optimizer::heuristic::{grouping_of, inline_next};
use fusion_optimizer::model::{Model, Overheads};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::{EdgeProfile, Measured, Profile, TaskProfile};
use fusion_optimizer::objective::{Goal, Objective};
use fusion_optimizer::search::{connected_partitions, search};
use CallMode::{Async, Sync};

const LAMBDA: Overheads = Overheads { sync_hop_ms: 40.0, async_enqueue_ms: 90.0 };

/// A profile of `tasks` (name, cpu ms, wait ms) calling each other along `edges`, profiled
/// all-remote with nothing measured (so the model is not corrected).
fn profile(app: &str, tasks: &[(&str, f64, f64)], edges: &[(&str, &str, CallMode)]) -> Profile {
    let names: BTreeSet<String> = tasks.iter().map(|t| t.0.to_string()).collect();
    Profile {
        app: app.into(),
        entry: tasks[0].0.into(),
        setup: FusionSetup::preset(Preset::AllRemote, app, &names, tasks[0].0),
        requests: 1,
        cold_requests: 0,
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
            })
            .collect(),
        measured: Measured { p50_latency_ms: 0.0, p50_completion_ms: 0.0, mean_cost: 0.0, invocations: 0.0, cost_by_function: BTreeMap::new() },
        environments: BTreeMap::new(),
    }
}

#[test]
fn no_setup_is_proposed_whose_groups_need_more_memory_than_their_size() {
    // A fans out to four concurrent runs of B, which holds 40 MB each.
    let mut p = profile("m", &[("A", 0.1, 0.0), ("B", 0.1, 50.0)], &[("A", "B", Sync)]);
    p.tasks.get_mut("B").unwrap().memory_mb = 40.0;
    p.edges[0].calls_per_run = 4.0;
    p.edges[0].most_per_run = 4;
    p.edges[0].concurrent = true;
    let model = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    let host_mb = (fusion_host::memory::HOST_SHARE >> 20) as u32;
    let fused = fusion_optimizer::search::setup_of("m", &vec![(BTreeSet::from(["A".to_string(), "B".to_string()]), 128)]);
    assert_eq!(model.memory_needed_mb(&fused, "A"), host_mb + 1 + 4 * 40, "A and four Bs at once");
    assert_eq!(model.memory_needed_mb(&fused, "B"), host_mb + 40);
    let remote = fusion_optimizer::search::setup_of("m", &vec![(BTreeSet::from(["A".to_string()]), 128), (BTreeSet::from(["B".to_string()]), 128)]);
    assert_eq!(model.memory_needed_mb(&remote, "A"), host_mb + 1, "remote calls hold nothing here");
    for objective in [Objective::Cost, Objective::Latency] {
        let plan = search(&model, Goal::of(objective));
        for point in plan.per_grouping.iter().chain(&plan.pareto).chain(std::iter::once(&plan.pick)) {
            for (block, memory_mb) in &point.grouping {
                let needed = block.iter().map(|t| model.memory_needed_mb(&point.setup, t)).max().unwrap();
                assert!(*memory_mb >= needed, "{block:?} at {memory_mb} MB needs {needed} MB");
            }
        }
    }
    // Fusing them for cost: the smallest size that holds the group, not the next listed one.
    let cheapest = search(&model, Goal::of(Objective::Cost)).pick;
    assert_eq!(cheapest.grouping.len(), 1, "fusing saves four invocations: {:?}", cheapest.grouping);
    assert_eq!(cheapest.grouping[0].1, host_mb + 161);
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

#[test]
fn requests_that_met_a_cold_environment_are_left_out_of_the_steady_state() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/fixtures/iot-all-remote.jsonl")).unwrap();
    let recorded_iot = recorded("iot");
    assert_eq!((recorded_iot.requests, recorded_iot.cold_requests), (3, 1), "the first request met the fresh cluster's cold environments");
    // All warm, to begin with.
    let records: Vec<Record> = text
        .lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            Record::Span(s) => Record::Span(Span { cold_start: false, ..s }),
            Record::Invocation(i) => Record::Invocation(InvocationRecord { cold_start: false, init_us: 0, ..i }),
        })
        .collect();
    let warm = &recorded_iot;
    // The first request meets cold environments that take 2 s more to start (compiling its
    // components, say): a one-time cost, billed, that the steady state does not pay.
    let first = records.iter().find_map(|r| if let Record::Span(s) = r { Some(s.trace_id.clone()) } else { None }).unwrap();
    let cold: Vec<Record> = records
        .iter()
        .cloned()
        .map(|record| match record {
            Record::Span(mut s) if s.trace_id == first => {
                s.cold_start = true;
                s.duration_us += 2_000_000;
                Record::Span(s)
            }
            Record::Invocation(mut i) if i.trace_id == first => {
                (i.cold_start, i.init_us, i.duration_us) = (true, 2_000_000, i.duration_us + 2_000_000);
                Record::Invocation(i)
            }
            other => other,
        })
        .collect();
    let without_first: Vec<Record> = records.iter().filter(|r| !matches!(r, Record::Span(s) if s.trace_id == first) && !matches!(r, Record::Invocation(i) if i.trace_id == first)).cloned().collect();
    let profile = |records: &[Record]| Profile::from_records(records, "iot", &warm.entry, &warm.tasks.keys().cloned().collect(), &warm.setup, Pricing::LAMBDA_X86).unwrap();
    let (with_cold, steady) = (profile(&cold), profile(&without_first));
    assert_eq!((with_cold.requests, with_cold.cold_requests), (3, 1));
    assert_eq!(with_cold.measured, steady.measured, "the cold request sways neither latency nor cost");
    assert_eq!(with_cold.tasks, steady.tasks, "nor what the tasks do per run");
    // When every request met a cold environment, that is all there is to learn from.
    let all_cold: Vec<Record> = cold.iter().cloned().map(|r| match r {
        Record::Span(mut s) => {
            s.cold_start = true;
            Record::Span(s)
        }
        other => other,
    }).collect();
    assert_eq!((profile(&all_cold).requests, profile(&all_cold).cold_requests), (4, 0));
}

#[test]
fn the_heuristic_reproduces_fusionize_plus_plus_on_recorded_iot_and_tree_telemetry() {
    let iot = recorded("iot");
    assert_eq!(iot.requests + iot.cold_requests, 4);
    assert_eq!(groups(&fuse(&iot), &iot), set(&[&["I", "CW", "SE"], &["CS", "CSL", "CSA"], &["CA", "DJ"], &["CT"], &["AS"]]));
    let tree = recorded("tree");
    assert_eq!(groups(&fuse(&tree), &tree), set(&[&["A", "B", "D", "E"], &["C"], &["F"], &["G"]]));
    assert!(inline_next(&tree, &fuse(&tree)).is_none(), "nothing left to inline");
    // One edge per iteration: IoT has five sync edges, Tree three.
    let steps = |p: &Profile| std::iter::successors(Some(p.setup.clone()), |s| inline_next(p, s)).count() - 1;
    assert_eq!((steps(&iot), steps(&tree)), (5, 3));
}

#[test]
fn the_model_predicts_a_sync_chain_as_worked_out_by_hand() {
    // A waits 10 ms and calls B, which waits 100 ms. 128 MB, Lambda's 40 ms hop.
    let p = profile("chain", &[("A", 0.0, 10.0), ("B", 0.0, 100.0)], &[("A", "B", Sync)]);
    let model = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    let price = |ms: f64| ms / 1000.0 * 0.125 * Pricing::LAMBDA_X86.per_gb_second + Pricing::LAMBDA_X86.per_request;
    let remote = model.predict(&p.setup);
    assert!((remote.latency_ms - 150.0).abs() < 1e-9, "{remote:?}");
    assert!((remote.cost - (price(150.0) + price(100.0))).abs() < 1e-15, "A is billed while it waits: {remote:?}");
    let fused = model.predict(&FusionSetup::preset(Preset::AllLocal, "chain", &p.tasks.keys().cloned().collect(), "A"));
    assert!((fused.latency_ms - 110.0).abs() < 1e-9 && (fused.cost - price(110.0)).abs() < 1e-15, "{fused:?}");
}

#[test]
fn the_model_predicts_completion_as_worked_out_by_hand() {
    // A calls D, which waits 10 ms, then fires B, which waits 100 ms. Lambda's 40 ms hop and
    // 90 ms enqueue.
    let mut p = profile("fire", &[("A", 0.0, 0.0), ("B", 0.0, 100.0), ("D", 0.0, 10.0)], &[("A", "D", Sync), ("A", "B", Async)]);
    p.edges[1].after = ["D".to_string()].into();
    let names: BTreeSet<String> = p.tasks.keys().cloned().collect();
    let all_local = FusionSetup::preset(Preset::AllLocal, "fire", &names, "A");
    let b_apart = fusion_optimizer::search::setup_of("fire", &vec![(["A", "D"].map(String::from).into(), 128), (BTreeSet::from(["B".to_string()]), 128)]);
    let predict = |p: &Profile, setup: &FusionSetup| {
        let prediction = Model::new(p, LAMBDA, Pricing::LAMBDA_X86).predict(setup);
        (prediction.latency_ms, prediction.completion_ms)
    };
    let close = |(latency, completion): (f64, f64), expected: (f64, f64)| (latency - expected.0).abs() < 1e-9 && (completion - expected.1).abs() < 1e-9;
    // All remote: A answers after D's hop (the call of B waits in its outbox); B reaches its
    // function an enqueue after D returned.
    assert!(close(predict(&p, &p.setup), (40.0 + 10.0, 50.0 + 90.0 + 100.0)), "{:?}", predict(&p, &p.setup));
    // B alone remote: A answers after D; B ends 100 ms after the enqueue.
    assert!(close(predict(&p, &b_apart), (10.0, 10.0 + 90.0 + 100.0)), "{:?}", predict(&p, &b_apart));
    // All fused: A answers after D, and B runs on after that in the same invocation.
    assert!(close(predict(&p, &all_local), (10.0, 10.0 + 100.0)), "{:?}", predict(&p, &all_local));
    // Fired before D is called: B runs beside D (fused) or starts an enqueue after A does (remote).
    p.edges[1].after.clear();
    assert!(close(predict(&p, &all_local), (10.0, 100.0)) && close(predict(&p, &p.setup), (50.0, 90.0 + 100.0)));
    // Calibrated like latency: twice the completion measured on the profiled setup doubles every
    // predicted completion, and never brings it before the answer.
    (p.measured.p50_latency_ms, p.measured.p50_completion_ms) = (50.0, 380.0);
    let model = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    assert!((model.correction().completion - 2.0).abs() < 1e-9 && (model.correction().latency - 1.0).abs() < 1e-9, "{:?}", model.correction());
    assert!(close(predict(&p, &all_local), (10.0, 200.0)), "{:?}", predict(&p, &all_local));
    p.measured.p50_completion_ms = 190.0 / 4.0;
    let (latency, completion) = predict(&p, &p.setup);
    assert!((completion - latency).abs() < 1e-9, "{latency} {completion}");
}

#[test]
fn the_async_calls_of_one_invocation_are_handed_over_side_by_side() {
    // A fires B and C, each of which waits 100 ms; Lambda's 90 ms enqueue. A answers at once and
    // its invocation lasts until both calls are handed over: one enqueue, not two.
    let p = profile("fan", &[("A", 0.0, 0.0), ("B", 0.0, 100.0), ("C", 0.0, 100.0)], &[("A", "B", Async), ("A", "C", Async)]);
    let price = |ms: f64| ms / 1000.0 * 0.125 * Pricing::LAMBDA_X86.per_gb_second + Pricing::LAMBDA_X86.per_request;
    let remote = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86).predict(&p.setup);
    assert!(remote.latency_ms.abs() < 1e-9 && (remote.completion_ms - 190.0).abs() < 1e-9, "{remote:?}");
    assert!((remote.cost - (price(90.0) + 2.0 * price(100.0))).abs() < 1e-15, "A is billed for one enqueue: {remote:?}");
}

#[test]
fn the_search_for_completion_buys_cpu_for_async_work_latency_does_not_wait_for() {
    // A waits 5 ms and fires B, which burns 100 ms of CPU and waits 1 s: B's CPU takes ~1.4 s at
    // 128 MB. Latency never waits for B, so its pick saves on memory; completion waits for B, and
    // is soonest fused (no enqueue) with B's CPU at full speed.
    let p = profile("burn", &[("A", 0.0, 5.0), ("B", 100.0, 1000.0)], &[("A", "B", Async)]);
    let model = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    let plan = search(&model, Goal::of(Objective::Completion));
    let done = plan.pick.prediction.completion_ms;
    assert_eq!(plan.pick.grouping.len(), 1, "{:?}", plan.pick.grouping);
    assert!((done - 1100.0).abs() < 1e-9, "{:?} {:?}", plan.pick.grouping, plan.pick.prediction);
    assert!(plan.per_grouping.iter().chain(&plan.pareto).all(|point| point.prediction.completion_ms >= done), "nothing evaluated finishes first");
    let fastest = search(&model, Goal::of(Objective::Latency)).pick.prediction;
    assert!(fastest.latency_ms < 10.0 && fastest.completion_ms > 2000.0, "{fastest:?}");
    // Under a 2 s completion SLO at the lowest cost: not the soonest, but soon enough.
    let within = search(&model, Goal { completion_slo_ms: Some(2000.0), ..Goal::of(Objective::Cost) }).pick;
    assert!(within.prediction.completion_ms <= 2000.0 && within.prediction.completion_ms > done, "{:?}", within.prediction);
    assert!(search(&model, Goal::of(Objective::Cost)).pick.prediction.completion_ms > 2000.0);
}

#[test]
fn the_model_learns_its_corrections_from_every_setup_measured() {
    // The chain of the hand-worked test: all-remote predicted at 150 ms, fused at 110 ms.
    let mut p = profile("chain", &[("A", 0.0, 10.0), ("B", 0.0, 100.0)], &[("A", "B", Sync)]);
    p.measured = Measured { p50_latency_ms: 300.0, p50_completion_ms: 300.0, mean_cost: 1e-5, invocations: 2.0, cost_by_function: BTreeMap::new() };
    let fused = FusionSetup::preset(Preset::AllLocal, "chain", &p.tasks.keys().cloned().collect(), "A");
    let alone = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    assert!((alone.correction().latency - 2.0).abs() < 1e-9, "the profiled setup measured twice the prediction");
    // The fused setup measured half its prediction: together, the model was right on average.
    let also = vec![(fused.clone(), Measured { p50_latency_ms: 55.0, ..p.measured.clone() })];
    let learned = Model::learned(&p, LAMBDA, Pricing::LAMBDA_X86, &also);
    assert!((learned.correction().latency - 1.0).abs() < 1e-9, "{:?}", learned.correction());
    assert!((learned.predict(&fused).latency_ms - 110.0).abs() < 1e-9);
}

#[test]
fn fused_back_to_back_cpu_shares_one_burst_as_the_hosts_budget_does() {
    // A burns 5 ms of CPU and calls B, which burns 5 ms: at 128 MB (0.072 vCPU) each invocation
    // runs its first 20 ms × 0.072 at full speed, the rest at the share.
    let p = profile("burst", &[("A", 5.0, 0.0), ("B", 5.0, 0.0)], &[("A", "B", Sync)]);
    let model = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    let share = 128.0 / 1769.0;
    let burst = 20.0 * share;
    let alone = (5.0 - burst) / share;
    let remote = model.predict(&p.setup);
    assert!((remote.latency_ms - (alone + LAMBDA.sync_hop_ms + alone)).abs() < 1e-9, "a burst each: {remote:?}");
    // Fused, B finds the bank A drained (what refilled while A ran paid for A): 10 ms of CPU on
    // one burst, as the host's per-invocation budget paces it.
    let fused = model.predict(&FusionSetup::preset(Preset::AllLocal, "burst", &p.tasks.keys().cloned().collect(), "A"));
    assert!((fused.latency_ms - (10.0 - burst) / share).abs() < 1e-9, "one burst for both: {fused:?}");
}

#[test]
fn the_search_fuses_a_sync_chain_and_buys_cpu_for_latency() {
    // A calls B sync; B burns 1 s of CPU. Fusing saves the hop and the double billing. For
    // latency, B's function needs a whole vCPU (1,769 MB or more): at 128 MB the burn takes ~14 s.
    let p = profile("burn", &[("A", 0.0, 5.0), ("B", 1000.0, 0.0)], &[("A", "B", Sync)]);
    let model = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    let cheapest = search(&model, Goal::of(Objective::Cost)).pick;
    assert_eq!(cheapest.grouping.len(), 1, "one function: {:?}", cheapest.grouping);
    let fastest = search(&model, Goal::of(Objective::Latency)).pick;
    assert_eq!(fastest.grouping.len(), 1);
    // Full speed from 1,735 MB (the burst covers the rest of a vCPU): the tie on latency goes to
    // the cheapest such size the search tries.
    assert_eq!(fastest.grouping[0].1, 1760, "{:?}", fastest.grouping);
    assert!((fastest.prediction.latency_ms - 1005.0).abs() < 1e-9, "{:?}", fastest.prediction);
    // A 2 s SLO at the lowest cost: the smallest size that meets it.
    let within = search(&model, Goal { latency_slo_ms: Some(2000.0), ..Goal::of(Objective::Cost) });
    assert!(within.pick.prediction.latency_ms <= 2000.0 && within.pick.grouping[0].1 < 1769, "{:?}", within.pick.grouping);
    assert!(within.pareto.windows(2).all(|w| w[0].prediction.latency_ms <= w[1].prediction.latency_ms && w[0].prediction.cost > w[1].prediction.cost));
}

#[test]
fn partitions_keep_every_group_connected() {
    let tasks: Vec<String> = ["A", "B", "C"].map(String::from).into();
    let neighbours: BTreeMap<String, BTreeSet<String>> =
        [("A", &["B"][..]), ("B", &["A", "C"][..]), ("C", &["B"][..])].iter().map(|(t, n)| (t.to_string(), n.iter().map(|s| s.to_string()).collect())).collect();
    let partitions = connected_partitions(&tasks, &neighbours);
    // A-B-C in a line: {A}{B}{C}, {A,B}{C}, {A}{B,C}, {A,B,C}; never {A,C}{B}.
    assert_eq!(partitions.len(), 4, "{partitions:?}");
}

fn span(trace: &str, id: &str, parent: Option<&str>, task: &str, version: u64) -> Record {
    Record::Span(Span {
        trace_id: trace.into(),
        span_id: id.into(),
        parent_span: parent.map(Into::into),
        outside_parent: None,
        function: task.into(),
        setup_version: version,
        task: task.into(),
        caller: None,
        mode: Sync,
        remote: parent.is_some(),
        start_us: 0,
        duration_us: 1000,
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
fn bad_telemetry_gets_a_clear_error() {
    let tasks: BTreeSet<String> = ["A", "B"].map(String::from).into();
    let setup = FusionSetup::preset(Preset::AllRemote, "ab", &tasks, "A");
    let profile = |records: &[Record]| Profile::from_records(records, "ab", "A", &tasks, &setup, Pricing::LAMBDA_X86).unwrap_err().to_string();
    assert!(profile(&[]).contains("no telemetry of setup version 0"), "{}", profile(&[]));
    let cut_off = [span("t", "b", Some("a"), "B", 0)];
    assert!(profile(&cut_off).contains("no complete request"), "{}", profile(&cut_off));
    let other_app = [span("t", "a", None, "I", 0)];
    assert!(profile(&other_app).contains("task 'I' is not a task of 'ab'"), "{}", profile(&other_app));
    let good = [span("t", "a", None, "A", 0), span("t", "b", Some("a"), "B", 0)];
    let ok = Profile::from_records(&good, "ab", "A", &tasks, &setup, Pricing::LAMBDA_X86).unwrap();
    assert_eq!((ok.requests, ok.edges.len()), (1, 1));
}

#[test]
fn calls_made_together_are_concurrent_even_when_their_spans_do_not_overlap() {
    // A calls B twice; B's spans are short and one after the other, as remote callees' are when
    // the hop takes longer than the work.
    let tasks: BTreeSet<String> = ["A", "B"].map(String::from).into();
    let setup = FusionSetup::preset(Preset::AllRemote, "ab", &tasks, "A");
    let records = |together: bool| {
        let mut a = span("t", "a", None, "A", 0);
        if let Record::Span(s) = &mut a {
            (s.start_us, s.duration_us) = (0, 50_000);
            if together {
                s.called_together = vec!["B".into()];
            }
        }
        let b = |id: &str, start_us: u64| match span("t", id, Some("a"), "B", 0) {
            Record::Span(s) => Record::Span(Span { start_us, duration_us: 30, caller: Some("A".into()), ..s }),
            other => other,
        };
        vec![a, b("b1", 20_000), b("b2", 20_100)]
    };
    let concurrent = |together: bool| Profile::from_records(&records(together), "ab", "A", &tasks, &setup, Pricing::LAMBDA_X86).unwrap().edges[0].concurrent;
    assert!(!concurrent(false), "the spans alone say one after the other");
    assert!(concurrent(true), "the caller says it made them with one invoke-all");
}

#[test]
fn the_heuristic_procedure_fuses_then_sweeps_then_sizes_each_function_at_its_cheapest() {
    use fusion_optimizer::heuristic::{Procedure, SWEEP_MB};
    let mut p = profile("tree", &[("A", 0.0, 0.0), ("B", 0.0, 500.0), ("C", 5.0, 0.0)], &[("A", "B", Sync), ("A", "C", Async)]);
    let mut procedure = Procedure::default();
    let mut steps = Vec::new();
    while let Some(next) = procedure.next(&p) {
        // "Measure" it: F(A) is cheapest at 1024 MB, F(C) at 128 MB.
        let size = |f: &str| next.function(f).memory_mb as f64;
        p.measured.cost_by_function = [("A".to_string(), (size("A") - 1024.0).abs() + 1.0), ("C".to_string(), size("C"))].into();
        steps.push(next.clone());
        p.setup = next;
        assert!(steps.len() < 20, "the procedure ends");
    }
    assert_eq!(steps.len(), 1 + SWEEP_MB.len() + 1, "one inline step, the sweep, the final sizing");
    assert_eq!(groups(&steps[0], &p), set(&[&["A", "B"], &["C"]]));
    for (step, size) in steps[1..=SWEEP_MB.len()].iter().zip(SWEEP_MB) {
        assert!(step.functions.values().all(|f| f.memory_mb == size), "{}", step.created_by);
    }
    let last = steps.last().unwrap();
    assert_eq!((last.function("A").memory_mb, last.function("B").memory_mb, last.function("C").memory_mb), (1024, 1024, 128));
}

#[test]
fn fused_async_work_starts_after_the_sync_calls_made_before_it() {
    // A fires C (30 ms of CPU, ~394 ms paced at 128 MB) and calls B, which waits 1 s.
    let mut p = profile("fire", &[("A", 0.0, 0.0), ("B", 0.0, 1000.0), ("C", 30.0, 0.0)], &[("A", "B", Sync), ("A", "C", Async)]);
    let all_local = FusionSetup::preset(Preset::AllLocal, "fire", &p.tasks.keys().cloned().collect(), "A");
    let billed = |p: &Profile| {
        let cost = Model::new(p, LAMBDA, Pricing::LAMBDA_X86).predict(&all_local).cost - Pricing::LAMBDA_X86.per_request;
        cost / (0.125 * Pricing::LAMBDA_X86.per_gb_second) * 1000.0
    };
    let paced_c: f64 = (30.0 - 20.0 * 128.0 / 1769.0) / (128.0 / 1769.0);
    // Fired first: C runs while B waits, and the invocation ends with B.
    assert!((billed(&p) - 1000.0).abs() < 1e-6, "{}", billed(&p));
    // Fired after B returned: C runs on after the response.
    p.edges[1].after = ["B".to_string()].into();
    assert!((billed(&p) - (1000.0 + paced_c).ceil()).abs() < 1e-6, "{} vs {}", billed(&p), 1000.0 + paced_c);
}

#[test]
fn apps_beyond_exhaustive_search_are_hill_climbed_to_a_better_setup() {
    // A root calling 15 tasks sync, each waiting 10 ms: too many groupings to try them all.
    let names: Vec<String> = (0..16).map(|i| format!("T{i:02}")).collect();
    let tasks: Vec<(&str, f64, f64)> = names.iter().map(|n| (n.as_str(), 0.5, 10.0)).collect();
    let edges: Vec<(&str, &str, CallMode)> = names[1..].iter().map(|n| (names[0].as_str(), n.as_str(), Sync)).collect();
    let p = profile("star", &tasks, &edges);
    let model = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    let plan = search(&model, Goal::of(Objective::Balanced));
    let remote = model.predict(&p.setup);
    assert!(plan.pick.prediction.latency_ms < remote.latency_ms && plan.pick.prediction.cost < remote.cost, "{:?} vs {remote:?}", plan.pick.prediction);
    // Every hop saved is 40 ms and a double-billed wait: the climb fuses them all.
    assert_eq!(plan.pick.grouping.len(), 1, "{:?}", plan.pick.grouping);
    assert!((plan.pick.prediction.latency_ms - (0.5 + 15.0 * 10.5 + 10.0)).abs() < 1e-6, "{:?}", plan.pick.prediction);
}

#[test]
fn request_fees_that_dominate_move_the_cost_pick_to_fewer_invocations() {
    // A holds 1,000 MB and fires C, which waits 500 ms. At Lambda's prices C is cheaper in a
    // function of its own at 128 MB than waiting in A's gigabyte; when a request costs 100× as
    // much and a GB-second 100× less, the invocation C costs is what matters.
    let mut p = profile("fire", &[("A", 0.0, 0.0), ("C", 0.0, 500.0)], &[("A", "C", Async)]);
    p.tasks.get_mut("A").unwrap().memory_mb = 1000.0;
    let fees = Pricing { per_gb_second: Pricing::LAMBDA_X86.per_gb_second / 100.0, per_request: Pricing::LAMBDA_X86.per_request * 100.0, ..Pricing::LAMBDA_X86 };
    let cheapest = |pricing: Pricing| search(&Model::new(&p, LAMBDA, pricing), Goal::of(Objective::Cost)).pick;
    let (lambda, fee_heavy) = (cheapest(Pricing::LAMBDA_X86), cheapest(fees));
    assert_eq!((lambda.grouping.len(), lambda.prediction.invocations), (2, 2.0), "{:?}", lambda.grouping);
    assert_eq!((fee_heavy.grouping.len(), fee_heavy.prediction.invocations), (1, 1.0), "{:?}", fee_heavy.grouping);
}

#[test]
fn billing_per_100_ms_changes_what_fusing_short_tasks_saves() {
    // A calls B calls C, sync, each waiting 2 ms, 128 MB. Per 100 ms every one of these
    // invocations is billed one whole period, so fusing the three into one saves two periods and
    // two request fees, more than per 1 ms, where it saves what the callers waited.
    let p = profile("short", &[("A", 0.0, 2.0), ("B", 0.0, 2.0), ("C", 0.0, 2.0)], &[("A", "B", Sync), ("B", "C", Sync)]);
    let all_local = FusionSetup::preset(Preset::AllLocal, "short", &p.tasks.keys().cloned().collect(), "A");
    let per_100_ms = Pricing { granularity_ms: 100, ..Pricing::LAMBDA_X86 };
    // What fusing saves: dollars, and the fraction of all-remote's cost.
    let saving = |overheads: Overheads, pricing: Pricing| {
        let model = Model::new(&p, overheads, pricing);
        let (remote, fused) = (model.predict(&p.setup).cost, model.predict(&all_local).cost);
        (remote - fused, (remote - fused) / remote)
    };
    let (x86, free) = (Pricing::LAMBDA_X86, Overheads { sync_hop_ms: 0.0, async_enqueue_ms: 0.0 });
    let period = 0.1 * 0.125 * x86.per_gb_second + x86.per_request;
    for overheads in [LAMBDA, free] {
        let (per_1, per_100) = (saving(overheads, x86), saving(overheads, per_100_ms));
        assert!((per_100.0 - 2.0 * period).abs() < 1e-15, "two invocations of one period each: {per_100:?}");
        assert!(per_100.0 > per_1.0, "{per_100:?} vs {per_1:?}");
    }
    // Per 1 ms with Lambda's 40 ms hop, all-remote bills A 86 ms (its wait, two hops, B's 44 ms)
    // and fused 6 ms: 126 ms saved. As a share, per 100 ms saves 2/3 whatever the hop, since the
    // fused invocation is billed a whole period too: more than per 1 ms with free hops, less with
    // Lambda's, whose double-billed waits fusing removes.
    let lambda_per_1 = saving(LAMBDA, x86);
    assert!((lambda_per_1.0 - (0.126 * 0.125 * x86.per_gb_second + 2.0 * x86.per_request)).abs() < 1e-15, "{lambda_per_1:?}");
    assert!((saving(LAMBDA, per_100_ms).1 - 2.0 / 3.0).abs() < 1e-9);
    assert!(saving(free, per_100_ms).1 > saving(free, x86).1 && saving(LAMBDA, per_100_ms).1 < lambda_per_1.1);
}
