//! The search and the heuristic: connected groupings, memory sizes, and the reference apps' graphs.

use super::*;

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
