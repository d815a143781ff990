//! Overload on a local cluster: more than one 128 MB function's CPU share can serve, and a hot
//! swap in the middle of it. Alone in its test binary: it loads the machine on purpose, which
//! would starve tests running beside it.

use std::time::Duration;

use fusion_cluster::{LocalCluster, admin, publish, store};
use fusion_host::{FusionSetup, Preset};
use fusion_measure::load::{self, LoadSpec, Profile};
use fusion_test_artifacts::*;
use crate::support;

/// The sum over the cluster's hosts of metric `name` where its labels include `label`.
async fn metric_sum(cluster: &fusion_cluster::ClusterState, name: &str, label: &str) -> f64 {
    let mut sum = 0.0;
    for url in cluster.endpoints.values() {
        let text = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
        let lines = text.lines().filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label));
        sum += lines.filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum::<f64>();
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overloaded_functions_throttle_run_every_accepted_async_call_and_still_swap() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let store = store::private(&dir.path().join("s3")).await.unwrap();
    let m = manifest("iot");
    let all_remote = FusionSetup::preset(Preset::AllRemote, "iot", &m.task_names(), &m.entry);
    let cluster = LocalCluster::start(&project("iot"), dir.path(), &all_remote, "all-remote", fusion_host::platform::Platform::RAW, store).await.unwrap();

    // 100 req/s of the default work; two seconds in, all-local is applied: one 128 MB function's
    // CPU share cannot keep up with what ten of them did.
    let load = LoadSpec { rate: 100.0, duration: Duration::from_secs(6), profile: Profile::Steady, payload: r#"{"work":{"burn":5.0}}"#.into() };
    let swap = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let all_local = FusionSetup::preset(Preset::AllLocal, "iot", &m.task_names(), &m.entry);
        let applied = publish::pin_and_apply(cluster.store(), all_local).await?;
        admin::swap_all(&cluster.state, applied.version).await
    };
    let (outcomes, swapped) = tokio::join!(load::run(&cluster.state, &load, |_| {}), swap);
    swapped.expect("the swap reached every host under load");
    let outcomes = outcomes.unwrap();
    assert_eq!(outcomes.len(), 600, "100 req/s for 6 s");
    let unexpected: Vec<&str> = outcomes.iter().filter_map(|o| o.error.as_deref()).filter(|e| !e.starts_with("throttled:")).collect();
    assert!(unexpected.is_empty(), "{} requests failed other than throttled: {:?}", unexpected.len(), &unexpected[..unexpected.len().min(5)]);

    // Every async call a host accepted ran in it; the callers' outboxes report the calls they
    // could not hand over as spans that never ran.
    load::wait_idle(&cluster.state).await.unwrap();
    let accepted = metric_sum(&cluster.state, "fusion_calls_total", "outcome=\"accepted\"").await;
    let (records, _) = fusion_measure::extract::read_dir(&cluster.state.telemetry, None).unwrap();
    let all = spans(&records);
    let ran = all.iter().filter(|s| s.mode == fusion_host::CallMode::Async && s.remote && !s.never_ran()).count();
    let refused = all.iter().filter(|s| s.never_ran()).count();
    assert!(accepted > 0.0, "IoT makes remote async calls under all-remote");
    assert_eq!(accepted, ran as f64, "every accepted async call ran");
    let throttled = outcomes.iter().filter(|o| o.error.is_some()).count();
    eprintln!("{throttled} of 600 requests throttled, {ran} async calls accepted and run, {refused} refused after every retry");
    cluster.stop();
}
