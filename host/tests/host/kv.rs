//! Key-value stores: the embedded backend against what every backend must do, and from real task
//! components: atomic increments from concurrent callers, the grants and limits, and the same
//! data whether a task runs fused or remote.

use std::sync::Arc;

use fusion_host::kv::KvBackend;
use fusion_host::kv::sqlite::SqliteKv;
use fusion_host::telemetry::NullSink;
use fusion_host::{FusionSetup, InProcessCluster, Runtime, RuntimeConfig, TraceContext};
use fusion_test_artifacts::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_backend_does_what_every_backend_must() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.sqlite");
    let (kv, other_app) = (SqliteKv::open(&path, "a").unwrap(), SqliteKv::open(&path, "b").unwrap());
    fusion_test_artifacts::kv::check_operations(kv.as_ref()).await;
    let get = fusion_host::kv::KvOp::Get { store: "s".into(), key: "u/2".into() };
    assert!(matches!(kv.run(get.clone()).await.unwrap(), fusion_host::kv::KvAnswer::Value(Some(_))));
    assert_eq!(other_app.run(get).await.unwrap(), fusion_host::kv::KvAnswer::Value(None), "another app's data is unreachable in a shared file");
    fusion_test_artifacts::kv::check_concurrent_increments(kv, 8, 100).await;
}

async fn store_op(app: &App, op: Value) -> Value {
    let out = app.cluster.call("store", TraceContext::new_request(), op.to_string().into_bytes()).await.expect("the store task answers");
    serde_json::from_slice(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_callers_of_a_thousand_increments_lose_no_update() {
    let app = Arc::new(start("testkit", setup("testkit", "all-remote"), RuntimeConfig::default()));
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let app = app.clone();
        callers.spawn(async move { store_op(&app, json!({ "op": "incr", "store": "data", "key": "hits", "times": 1000 })).await });
    }
    while let Some(answer) = callers.join_next().await {
        assert!(answer.unwrap().is_i64(), "each caller's last increment is a number");
    }
    assert_eq!(store_op(&app, json!({ "op": "get", "store": "data", "key": "hits" })).await, json!("8000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_a_grant_and_oversized_input_are_refused_typed() {
    let app = start("testkit", setup("testkit", "all-remote"), RuntimeConfig::default());
    let kind = |answer: Value| answer["error"]["kind"].as_str().map(str::to_string);
    let denied = store_op(&app, json!({ "op": "set", "store": "secrets", "key": "k", "value": "v" })).await;
    assert_eq!(kind(denied.clone()).as_deref(), Some("denied"), "{denied}");
    assert!(denied["error"]["message"].as_str().unwrap().contains("granted: data"), "{denied}");
    let big = store_op(&app, json!({ "op": "set", "store": "data", "key": "big", "fill": fusion_host::kv::MAX_VALUE_BYTES + 1 })).await;
    assert_eq!(kind(big).as_deref(), Some("too-large"));
    let long_key = "k".repeat(fusion_host::kv::MAX_KEY_BYTES + 1);
    assert_eq!(kind(store_op(&app, json!({ "op": "get", "store": "data", "key": long_key })).await).as_deref(), Some("too-large"));
    store_op(&app, json!({ "op": "set", "store": "data", "key": "word", "value": "abc" })).await;
    assert_eq!(kind(store_op(&app, json!({ "op": "incr", "store": "data", "key": "word" })).await).as_deref(), Some("not-a-number"));
    // Nothing refused was written; what fits was.
    assert_eq!(store_op(&app, json!({ "op": "exists", "store": "data", "key": "big" })).await, json!(false));
    let fits = store_op(&app, json!({ "op": "set", "store": "data", "key": "big", "fill": fusion_host::kv::MAX_VALUE_BYTES })).await;
    assert!(fits["error"].is_null(), "{fits}");
    assert_eq!(store_op(&app, json!({ "op": "cas", "store": "data", "key": "word", "expected": "abc", "value": "def" })).await, json!(true));
    assert_eq!(store_op(&app, json!({ "op": "cas", "store": "data", "key": "word", "expected": "abc", "value": "xyz" })).await, json!(false));
    assert_eq!(store_op(&app, json!({ "op": "keys", "store": "data", "key": "w" })).await, json!(["word"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fused_or_remote_a_task_sees_the_same_data() {
    let project = project("testkit");
    let dir = tempfile::tempdir().unwrap();
    let kv = SqliteKv::open(&dir.path().join("kv.sqlite"), "testkit").unwrap();
    let runtime = Runtime::new(&project.artifacts_dir(), RuntimeConfig::default()).unwrap();
    let policy = setup("testkit", "all-remote").policy;
    let remote = FusionSetup { policy: policy.clone(), ..setup("testkit", "all-remote") };
    let fused = FusionSetup { policy, ..FusionSetup::from_json(r#"{"app":"testkit","functions":{"relay":{"inline":["store"]}}}"#).unwrap() };
    let through_relay = |op: Value| json!({ "task": "store", "input": op }).to_string().into_bytes();
    for (setup, op, expected) in [
        (remote, json!({ "op": "set", "store": "data", "key": "shared", "value": "from a remote call" }), json!({ "ok": null })),
        (fused, json!({ "op": "get", "store": "data", "key": "shared" }), json!({ "ok": "from a remote call" })),
    ] {
        let cluster = InProcessCluster::start(&runtime, &manifest("testkit"), &project.components_dir(), setup, Arc::new(NullSink), Some(kv.clone())).unwrap();
        let out = cluster.request(TraceContext::new_request(), through_relay(op)).await.unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&out).unwrap(), expected);
    }
}
