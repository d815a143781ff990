//! Instance reuse is the task's opt-in: by default every execution gets a fresh instance (nothing
//! carries over between requests); a task that reuses its instances sees what earlier executions
//! left, until one traps and its instance is dropped.

use fusion_host::{ErrorKind, FunctionPolicy, FusionSetup, Preset, RuntimeConfig, TraceContext};
use fusion_test_artifacts::*;

fn tally_app(reuse_instances: bool) -> App {
    let manifest = manifest("testkit");
    let mut setup = FusionSetup::preset(Preset::AllRemote, "testkit", &manifest.task_names(), &manifest.entry);
    setup.policy.functions.insert("tally".into(), FunctionPolicy { reuse_instances, ..FunctionPolicy::default() });
    start("testkit", setup, RuntimeConfig::default())
}

/// What `tally` answers to `payload`: how many executions its instance has served.
async fn tally(app: &App, payload: &str) -> Result<u64, ErrorKind> {
    let out = app.cluster.call("tally", TraceContext::new_request(), payload.as_bytes().to_vec()).await.map_err(|e| e.kind)?;
    Ok(String::from_utf8(out).unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_execution_gets_a_fresh_instance_by_default() {
    let app = tally_app(false);
    for _ in 0..4 {
        assert_eq!(tally(&app, "").await, Ok(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_reuses_instances_keeps_its_state_until_it_traps() {
    let app = tally_app(true);
    assert_eq!(tally(&app, "").await, Ok(1));
    assert_eq!(tally(&app, "").await, Ok(2));
    assert_eq!(tally(&app, "").await, Ok(3));
    assert_eq!(tally(&app, "panic").await, Err(ErrorKind::Trapped));
    // The trapped instance is gone: the next execution starts over in a fresh one.
    assert_eq!(tally(&app, "").await, Ok(1));
    assert_eq!(tally(&app, "").await, Ok(2));
}
