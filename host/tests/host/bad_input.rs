//! Misbehaving tasks and bad input: each gets a clear, typed error and the host keeps serving.


use std::time::{Duration, Instant};

use fusion_test_artifacts::*;
use fusion_host::{ErrorKind, FusionSetup, RuntimeConfig, Preset, Runtime, TraceContext};
use serde_json::{Value, json};

fn testkit(config: RuntimeConfig) -> App {
    let manifest = manifest("testkit");
    let setup = FusionSetup::preset(Preset::AllLocal, "testkit", &manifest.task_names(), &manifest.entry);
    start("testkit", setup, config)
}

/// Asks the relay task to call `task` and returns what the relay saw.
async fn relay(app: &App, task: &str) -> Value {
    let request = json!({ "task": task, "input": { "hello": "world" } }).to_string().into_bytes();
    let out = app.cluster.request(TraceContext::new_request(), request).await.expect("the relay itself succeeds");
    serde_json::from_slice(&out).unwrap()
}

async fn assert_still_serving(app: &App) {
    assert_eq!(relay(app, "echo").await, json!({ "ok": { "hello": "world" } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_task_reaches_its_caller_as_trapped() {
    let app = testkit(RuntimeConfig::default());
    let seen = relay(&app, "panic").await;
    assert_eq!(seen["error"]["kind"], "trapped", "{seen}");
    assert!(seen["error"]["message"].as_str().unwrap().contains("this task always panics"), "the panic message reaches the caller: {seen}");
    assert_still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allocation_without_bound_stops_at_the_memory_limit() {
    let app = testkit(RuntimeConfig { memory_bytes: 64 << 20, ..RuntimeConfig::default() });
    let seen = relay(&app, "hog").await;
    assert_eq!(seen["error"]["kind"], "trapped", "{seen}");
    assert_still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_loop_is_stopped_at_its_deadline() {
    let deadline = Duration::from_millis(300);
    let app = testkit(RuntimeConfig { deadline, ..RuntimeConfig::default() });
    let started = Instant::now();
    let err = app.cluster.call("spin", TraceContext::new_request(), b"{}".to_vec()).await.expect_err("spin never ends");
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    // Stopped, not merely abandoned: the caller hears back (generous bound for a loaded machine).
    assert!(started.elapsed() < deadline * 20, "took {:?}", started.elapsed());
    assert_still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_unknown_tasks_are_not_found() {
    let app = testkit(RuntimeConfig::default());
    let seen = relay(&app, "no-such-task").await;
    assert_eq!(seen["error"]["kind"], "not-found", "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_see_no_files_environment_or_network() {
    let app = testkit(RuntimeConfig::default());
    let seen = relay(&app, "snoop").await;
    assert_eq!(
        seen["ok"],
        json!({ "read_dir": false, "read_file": false, "env_vars": 0, "connect": false }),
        "{seen}"
    );
}

fn runtime() -> std::sync::Arc<Runtime> {
    let dir = tempfile::tempdir().unwrap();
    Runtime::new(&dir.keep(), RuntimeConfig::default()).unwrap()
}

fn load_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.wasm");
    std::fs::write(&path, bytes).unwrap();
    match runtime().load("bad", &path) {
        Ok(_) => panic!("a bad component was accepted"),
        Err(err) => format!("{err:#}"),
    }
}

#[test]
fn a_file_that_is_not_wasm_is_refused_naming_the_file() {
    let err = load_error(b"#!/bin/sh\necho not wasm\n");
    assert!(err.contains("bad.wasm") && err.contains("not a WebAssembly file"), "{err}");
}

#[test]
fn a_core_module_is_refused_as_not_a_component() {
    let err = load_error(b"\0asm\x01\0\0\0");
    assert!(err.contains("bad.wasm") && err.contains("core WebAssembly module"), "{err}");
}

#[test]
fn a_truncated_component_is_refused() {
    let echo = std::fs::read(project("testkit").components_dir().join("echo.wasm")).unwrap();
    let err = load_error(&echo[..echo.len() / 2]);
    assert!(err.contains("bad.wasm") && err.contains("not a valid component"), "{err}");
}

#[test]
fn a_component_of_another_world_is_refused() {
    let other = std::fs::read(other_world_component()).unwrap();
    let err = load_error(&other);
    assert!(err.contains("bad.wasm") && err.contains("does not implement the fusion:task world"), "{err}");
}

fn start_error(setup_json: &str) -> String {
    let project = project("iot");
    let manifest = manifest("iot");
    let result = FusionSetup::from_json(setup_json).and_then(|setup| {
        fusion_host::InProcessCluster::start(&runtime(), &manifest, &project.components_dir(), setup, std::sync::Arc::new(fusion_host::telemetry::NullSink), None)
    });
    match result {
        Ok(_) => panic!("a bad setup was accepted"),
        Err(err) => format!("{err:#}"),
    }
}

#[test]
fn a_setup_naming_an_unknown_task_is_refused_before_anything_runs() {
    let err = start_error(r#"{"app":"iot","functions":{"I":{"inline":["CW","NOPE"]}}}"#);
    assert!(err.contains("unknown task 'NOPE'"), "{err}");
    let err = start_error(r#"{"app":"iot","functions":{"GHOST":{}}}"#);
    assert!(err.contains("'GHOST'"), "{err}");
}

#[test]
fn malformed_setup_json_is_refused() {
    let err = start_error(r#"{"app":"iot","functions":{"I":{"inline":"CW"}}"#);
    assert!(err.contains("malformed fusion setup JSON"), "{err}");
    let err = start_error(r#"{"app":"iot","functions":{"I":{"memory_mb":64}}}"#);
    assert!(err.contains("memory_mb 64"), "{err}");
    let err = start_error(r#"{"app":"tree","functions":{}}"#);
    assert!(err.contains("setup is for app 'tree'"), "{err}");
}

#[test]
fn a_missing_component_is_refused_before_anything_runs() {
    let project = project("iot");
    let mut manifest = manifest("iot");
    manifest.tasks.insert("CW".into(), "no_such_component".into());
    let setup = FusionSetup::preset(Preset::AllRemote, "iot", &manifest.task_names(), &manifest.entry);
    let err = fusion_host::InProcessCluster::start(&runtime(), &manifest, &project.components_dir(), setup, std::sync::Arc::new(fusion_host::telemetry::NullSink), None)
        .err()
        .map(|e| format!("{e:#}"))
        .expect("a missing component is refused");
    assert!(err.contains("component of task 'CW' is missing") && err.contains("no_such_component.wasm"), "{err}");
}
