//! Tasks in Python and JavaScript beside Rust ones: the mixed IoT app across real host processes,
//! typed errors across languages, and the sandbox as a Python or JavaScript guest meets it.


use fusion_test_artifacts::*;
use fusion_cluster::LocalCluster;
use fusion_measure::load::{self, LoadSpec, Profile};
use fusion_cluster::store;
use fusion_measure::extract;
use fusion_host::{FusionSetup, RuntimeConfig, TraceContext};
use serde_json::{Value, json};
use crate::support;

/// The polyglot app split so that every kind of edge crosses languages: Rust calls JavaScript
/// (CW) and Python (SE) in-process; Python calls Python in-process (CSL) and JavaScript remotely
/// (CSA); JavaScript calls Rust in-process (DJ) and remotely, asynchronously (AS).
fn mixed_setup() -> FusionSetup {
    serde_json::from_value(json!({
        "app": "polyglot",
        "functions": {
            "I": { "inline": ["CW", "SE"] },
            "CS": { "inline": ["CSL"] },
            "CA": { "inline": ["DJ"] }
        }
    }))
    .unwrap()
}

/// The function each task runs in under [`mixed_setup`].
fn function_of(task: &str) -> &str {
    match task {
        "CW" | "SE" => "I",
        "CSL" => "CS",
        "DJ" => "CA",
        other => other,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_python_and_javascript_tasks_call_each_other_in_process_and_remotely() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let store = store::private(&dir.path().join("s3")).await.unwrap();
    let cluster = LocalCluster::start(&project("polyglot"), dir.path(), &mixed_setup(), "mixed", fusion_host::platform::Platform::RAW, store).await.unwrap();
    let spec = LoadSpec { rate: 3.0, duration: std::time::Duration::from_secs(1), profile: Profile::Steady, payload: SMALL_WORK.into() };
    let outcomes = load::run(&cluster.state, &spec, |_| {}).await.unwrap();
    load::wait_idle(&cluster.state).await.unwrap();
    assert!(!outcomes.is_empty() && outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    let (records, _) = extract::read_dir(&cluster.state.telemetry, None).unwrap();
    for outcome in &outcomes {
        let trace: Vec<_> = records.iter().filter(|r| trace_id(r) == outcome.trace_id).cloned().collect();
        assert_eq!(
            edges(&trace),
            iot_call_graph(),
            "the ported tasks make the same calls as IoT's Rust ones"
        );
        for span in spans(&trace) {
            assert_eq!(span.error, None, "{} failed", span.task);
            assert_eq!(span.function, function_of(&span.task), "{} ran in the function the setup gives it", span.task);
            assert_eq!(span.remote, span.function == span.task && span.task != "I", "{} crossed the network exactly when remote", span.task);
        }
    }
    cluster.stop();
}

fn trace_id(record: &fusion_host::telemetry::Record) -> &str {
    match record {
        fusion_host::telemetry::Record::Span(s) => &s.trace_id,
        fusion_host::telemetry::Record::Invocation(i) => &i.trace_id,
    }
}

fn testkit() -> App {
    start("testkit", setup("testkit", "all-local"), RuntimeConfig::default())
}

/// Asks the Rust relay task to call `task` with `input` and returns what the relay saw.
async fn relay(app: &App, task: &str, input: Value) -> Value {
    let request = json!({ "task": task, "input": input }).to_string().into_bytes();
    let out = app.cluster.request(TraceContext::new_request(), request).await.expect("the relay itself succeeds");
    serde_json::from_slice(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_javascript_guests_echo_json_through_a_rust_caller() {
    let _machine = support::shared();
    let app = testkit();
    let input = json!({ "reading": 21.5, "sensor": "s-1", "tags": ["a", "ü"] });
    for task in ["py", "js"] {
        assert_eq!(relay(&app, task, input.clone()).await, json!({ "ok": input }), "{task}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exception_reaches_a_rust_caller_as_a_typed_application_error() {
    let _machine = support::shared();
    let app = testkit();
    let python = relay(&app, "py", json!({ "op": "raise", "message": "bad reading" })).await;
    assert_eq!(python, json!({ "error": { "kind": "application", "message": "ValueError: bad reading" } }));
    let javascript = relay(&app, "js", json!({ "op": "raise", "message": "bad reading" })).await;
    assert_eq!(javascript, json!({ "error": { "kind": "application", "message": "TypeError: bad reading" } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_raise_typed_errors_in_python_and_javascript() {
    let _machine = support::shared();
    let app = testkit();
    // Python: a subclass per kind.
    let seen = relay(&app, "py", json!({ "op": "call", "task": "no-such-task" })).await;
    assert_eq!(seen["ok"]["error"]["class"], "NotFound", "{seen}");
    assert_eq!(seen["ok"]["error"]["kind"], "not-found", "{seen}");
    let seen = relay(&app, "py", json!({ "op": "call", "task": "js", "input": { "op": "raise" } })).await;
    assert_eq!(seen["ok"]["error"]["class"], "Application", "{seen}");
    assert_eq!(seen["ok"]["error"]["message"], "TypeError: thrown in JavaScript", "{seen}");
    // JavaScript: one class with the kind.
    let seen = relay(&app, "js", json!({ "op": "call", "task": "panic" })).await;
    assert_eq!((&seen["ok"]["error"]["class"], &seen["ok"]["error"]["kind"]), (&json!("CallError"), &json!("trapped")), "{seen}");
    let seen = relay(&app, "js", json!({ "op": "call", "task": "py", "input": { "op": "raise" } })).await;
    assert_eq!(seen["ok"]["error"]["message"], "ValueError: raised in Python", "{seen}");
    // And a successful call across languages returns the callee's JSON.
    let seen = relay(&app, "js", json!({ "op": "call", "task": "py", "input": { "n": 1 } })).await;
    assert_eq!(seen, json!({ "ok": { "ok": { "n": 1 } } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_javascript_share_a_key_value_store_with_typed_errors() {
    let _machine = support::shared();
    let app = testkit();
    let count = |key: &str| json!({ "op": "count", "key": key });
    assert_eq!(relay(&app, "py", count("visits")).await, json!({ "ok": { "ok": 1 } }));
    assert_eq!(relay(&app, "js", count("visits")).await, json!({ "ok": { "ok": 2 } }), "JavaScript sees what Python wrote");
    assert_eq!(relay(&app, "py", count("visits")).await, json!({ "ok": { "ok": 3 } }));
    let denied = json!({ "op": "count", "key": "visits", "store": "secrets" });
    let seen = relay(&app, "py", denied.clone()).await;
    assert_eq!((&seen["ok"]["error"]["class"], &seen["ok"]["error"]["kind"]), (&json!("KvError"), &json!("denied")), "{seen}");
    let seen = relay(&app, "js", denied).await;
    assert_eq!((&seen["ok"]["error"]["class"], &seen["ok"]["error"]["kind"]), (&json!("KvError"), &json!("denied")), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_guest_is_denied_files_environment_and_network() {
    let _machine = support::shared();
    let app = testkit();
    let seen = relay(&app, "py", json!({ "op": "snoop" })).await;
    let report = &seen["ok"];
    assert_eq!(report["env_vars"], 0, "{seen}");
    for attempt in ["read_file", "list_dir", "write_file", "connect"] {
        let outcome = report[attempt].as_str().unwrap_or_else(|| panic!("{attempt} got through: {seen}"));
        assert!(outcome.contains("Error"), "{attempt}: {outcome}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_guest_that_tries_the_network_is_stopped_and_the_host_serves_on() {
    let _machine = support::shared();
    let app = testkit();
    let seen = relay(&app, "js", json!({ "op": "fetch" })).await;
    assert_eq!(seen["error"]["kind"], "trapped", "fetch has no way out of the sandbox: {seen}");
    assert_eq!(relay(&app, "js", json!({ "after": "fetch" })).await, json!({ "ok": { "after": "fetch" } }));
}
