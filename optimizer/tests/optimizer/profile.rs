//! Profiles from telemetry: what counts as steady state, what is concurrent, bad input.

use super::*;

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
    // What starting an environment took is kept, per function: the model predicts cold starts
    // from it and the traffic's rate, which counts every request, cold or not.
    assert_eq!(with_cold.environments[&warm.entry].init_ms, Some(2000.0));
    assert_eq!(steady.environments[&warm.entry].init_ms, None, "no cold start seen");
    // A request arrives when its entry invocation starts (before a cold environment's init).
    let roots: BTreeSet<&str> = records.iter().filter_map(|r| if let Record::Span(s) = r { s.parent_span.is_none().then_some(s.span_id.as_str()) } else { None }).collect();
    let mut starts: Vec<u64> = records.iter().filter_map(|r| if let Record::Invocation(i) = r { roots.contains(i.root_span.as_str()).then_some(i.start_us) } else { None }).collect();
    assert_eq!(starts.len(), 4);
    starts.sort();
    let rate = 3.0 / ((starts[3] - starts[0]) as f64 / 1e6);
    assert!((with_cold.arrival_per_s.unwrap() / rate - 1.0).abs() < 1e-9, "{:?} vs {rate}", with_cold.arrival_per_s);
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
