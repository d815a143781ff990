//! Hot swap for real: host processes that follow the embedded S3 store switch setups under load
//! without a failed request, each request under one setup version; a bad setup is refused and
//! the one before keeps serving.


use std::collections::BTreeMap;
use std::time::Duration;

use fusion_test_artifacts::*;
use fusion_cluster::admin;
use fusion_cluster::LocalCluster;
use fusion_measure::load::{self, LoadSpec, Profile};
use fusion_cluster::store;
use fusion_bench::refusion::{self, RefusionSpec};
use fusion_cluster::publish;
use fusion_host::router::group;
use fusion_host::telemetry::Record;
use fusion_host::{FusionSetup, Preset};
use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setups_switch_under_load_with_no_failed_and_no_mixed_request() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let setups: Vec<String> = ["all-remote", "fusionize-optimum", "all-local", "fusionize-optimum"].map(String::from).into();
    // A load the machine can serve: beyond it, functions would throttle (tests/overload.rs).
    let spec = RefusionSpec { setups: &setups, every: Duration::from_secs(2), rate: 50.0, payload: SMALL_WORK.as_bytes().to_vec(), platform: fusion_host::platform::Platform::RAW };
    let run = refusion::run(&project("iot"), dir.path(), &spec).await.unwrap();

    let failed: Vec<_> = run.outcomes.iter().filter_map(|o| o.error.as_ref()).collect();
    assert!(failed.is_empty(), "{} of {} requests failed: {:?}", failed.len(), run.outcomes.len(), &failed[..failed.len().min(5)]);
    assert_eq!(run.outcomes.len(), 400, "50 req/s for 8 s");
    assert_eq!(run.mixed_requests(), Vec::<String>::new(), "every request ran under one setup version");
    let served = run.requests_per_version();
    assert_eq!(served.keys().copied().collect::<Vec<_>>(), (run.first_version..run.first_version + 4).collect::<Vec<_>>(), "all four setups served: {served:?}");
    assert_eq!(served.values().sum::<usize>(), 400, "every request's entry span was recorded");

    // Each call ran where its request's setup puts it: in the caller's function when fused,
    // else in the callee's own.
    let spans: BTreeMap<&str, _> = spans(&run.records).into_iter().map(|s| (s.span_id.as_str(), s)).collect();
    for span in spans.values() {
        let setup = &run.setups[&span.setup_version];
        let expected = match span.parent_span.as_deref().map(|p| spans[p]) {
            None => span.task.clone(),
            Some(parent) if group(setup, &parent.function).contains(&span.task) => parent.function.clone(),
            Some(_) => span.task.clone(),
        };
        assert_eq!(span.function, expected, "task {} under v{}", span.task, span.setup_version);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_that_cannot_be_loaded_is_refused_and_the_last_one_keeps_serving() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let store = store::private(&dir.path().join("s3")).await.unwrap();
    let m = manifest("tree");
    let all_remote = FusionSetup::preset(Preset::AllRemote, "tree", &m.task_names(), &m.entry);
    let cluster = LocalCluster::start(&project("tree"), dir.path(), &all_remote, "all-remote", fusion_host::platform::Platform::RAW, store).await.unwrap();
    let serving = cluster.state.setup_version;

    // Written straight to the store, past the CLI's checks: F(A) now needs a component that the
    // store does not have.
    let mut bad = FusionSetup::preset(Preset::AllLocal, "tree", &m.task_names(), &m.entry);
    bad.components = cluster.store().current_setup("tree").await.unwrap().unwrap().components;
    bad.components.insert("B".into(), format!("sha256:{}", "0".repeat(64)));
    let bad = cluster.store().apply_setup(bad).await.unwrap();
    let refused = admin::swap_all(&cluster.state, bad.version).await.unwrap_err().to_string();
    assert!(refused.contains("A:") && refused.contains("no component sha256:000"), "F(A) says why: {refused}");
    assert!(refused.contains(&format!("keeps serving version {serving}")), "{refused}");

    let load = LoadSpec { rate: 20.0, duration: Duration::from_secs(1), profile: Profile::Steady, payload: SMALL_WORK.into() };
    let outcomes = load::run(&cluster.state, &load, |_| {}).await.unwrap();
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    load::wait_idle(&cluster.state).await.unwrap();

    // A good setup after the bad one is taken up as usual.
    let good = publish::pin_and_apply(cluster.store(), all_remote).await.unwrap();
    admin::swap_all(&cluster.state, good.version).await.unwrap();
    let outcomes = load::run(&cluster.state, &load, |_| {}).await.unwrap();
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    load::wait_idle(&cluster.state).await.unwrap();

    let (records, _) = fusion_measure::extract::read_dir(&cluster.state.telemetry, None).unwrap();
    let versions: std::collections::BTreeSet<u64> = records
        .iter()
        .map(|r| match r {
            Record::Span(s) => s.setup_version,
            Record::Invocation(i) => i.setup_version,
        })
        .collect();
    assert_eq!(versions, [serving, good.version].into(), "nothing ran under the refused version");
    cluster.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_data_survives_a_hot_swap_under_load_and_a_restart() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let project = project("testkit");
    let remote = setup("testkit", "all-remote");
    let start = || async {
        let store = store::private(&root).await.unwrap();
        LocalCluster::start(&project, &dir.path().join("cluster"), &remote, "all-remote", fusion_host::platform::Platform::RAW, store).await.unwrap()
    };
    let through_relay = |op: serde_json::Value| {
        let payload = serde_json::json!({ "task": "store", "input": op }).to_string().into_bytes();
        fusion_host::Call { task: "relay".into(), payload, mode: fusion_host::CallMode::Sync, trace: fusion_host::TraceContext::new_request() }
    };
    let transport = |cluster: &LocalCluster| {
        let signer = fusion_host::auth::Signer::new(cluster.state.secret.clone());
        fusion_host::http_transport::HttpTransport::new(cluster.state.endpoints.clone(), Some(signer), Duration::from_secs(60)).unwrap()
    };
    use fusion_host::router::Transport;

    // 40 callers of 100 increments each through relay → store, while store moves into relay's function.
    let cluster = start().await;
    let calls = transport(&cluster);
    let mut increments = tokio::task::JoinSet::new();
    for _ in 0..40 {
        increments.spawn(calls.send("relay", through_relay(serde_json::json!({ "op": "incr", "store": "data", "key": "n", "times": 100 }))));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fused = FusionSetup::from_json(r#"{"app":"testkit","functions":{"relay":{"inline":["store"]}}}"#).unwrap();
    let applied = publish::pin_and_apply(cluster.store(), fused).await.unwrap();
    admin::swap_all(&cluster.state, applied.version).await.unwrap();
    while let Some(answer) = increments.join_next().await {
        let answer: serde_json::Value = serde_json::from_slice(&answer.unwrap().expect("served across the swap")).unwrap();
        assert!(answer["ok"].is_i64(), "{answer}");
    }
    cluster.stop();

    // A new cluster on the same store and database: nothing was lost.
    let cluster = start().await;
    let read = transport(&cluster).send("relay", through_relay(serde_json::json!({ "op": "get", "store": "data", "key": "n" }))).await.unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&read).unwrap(), serde_json::json!({ "ok": "4000" }));
    cluster.stop();
}
