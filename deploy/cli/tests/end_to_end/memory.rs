//! A function's memory size bounds its environment: concurrent fused work that only the shared
//! budget catches fails with `out-of-memory`, the environment is retired, the telemetry says so,
//! and the optimizer's next step proposes a setup in which the same work fits.

use std::collections::BTreeSet;

use fusion_host::memory::HOST_SHARE;
use fusion_host::telemetry::{InvocationRecord, Record};
use fusion_host::{ErrorKind, FusionSetup, Preset, RuntimeConfig, TraceContext};
use fusion_optimizer::model::{Model, Overheads};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::Profile;
use fusion_optimizer::objective::{Goal, Objective};
use fusion_optimizer::search::search;
use fusion_test_artifacts::{App, manifest, spans, start};
use serde_json::json;
use crate::support;

/// Has the relay take `times` × 40 MB at once through fused calls of `hog`.
async fn fan_out(app: &App, times: usize) -> Result<Vec<u8>, fusion_host::CallError> {
    let request = json!({ "task": "hog", "input": { "mb": 40, "hold_ms": 1000 }, "times": times });
    app.cluster.request(TraceContext::new_request(), request.to_string().into_bytes()).await
}

fn invocations(records: &[Record]) -> Vec<&InvocationRecord> {
    records.iter().filter_map(|r| if let Record::Invocation(i) = r { Some(i) } else { None }).collect()
}

/// Full speed: the test is about memory, not the CPU share of 128 MB.
fn config() -> RuntimeConfig {
    RuntimeConfig { pace_cpu: false, ..RuntimeConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fused_work_over_the_memory_size_fails_typed_retires_its_environment_and_the_optimizer_sizes_for_it() {
    let _machine = support::shared();
    let manifest = manifest("testkit");
    let setup = FusionSetup::preset(Preset::AllLocal, "testkit", &manifest.task_names(), &manifest.entry);
    assert_eq!(setup.function("relay").memory_mb, 128);
    let app = start("testkit", setup.clone(), config());

    // Two stores of 40 MB fit in 128 MB with the host's share; four do not, though each alone would.
    let two = fan_out(&app, 2).await.expect("80 MB of tasks fit in 128 MB");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&two).unwrap(), json!({ "ok": [40, 40] }));
    let four = fan_out(&app, 4).await.expect_err("160 MB of tasks do not fit in 128 MB");
    assert_eq!(four.kind, ErrorKind::OutOfMemory, "{four}");
    assert!(app.cluster.request(TraceContext::new_request(), json!({ "task": "echo", "input": 1 }).to_string().into_bytes()).await.is_ok());
    app.cluster.drain().await;

    let records = app.sink.take();
    let invocations = invocations(&records);
    assert_eq!(invocations.len(), 3, "{invocations:#?}");
    let (fitted, failed, after) = (invocations[0], invocations[1], invocations[2]);
    let host_mb = (HOST_SHARE >> 20) as u32;
    assert!(!fitted.out_of_memory && (host_mb + 80..=128).contains(&fitted.max_memory_used_mb), "{fitted:?}");
    assert!(failed.out_of_memory && failed.max_memory_used_mb > 128, "it says what it wanted: {failed:?}");
    assert!(failed.process_max_rss_mb > 0);
    assert!(after.cold_start, "the environment that ran out of memory was retired, not reused");
    let hogs: Vec<_> = spans(&records).into_iter().filter(|s| s.task == "hog" && s.trace_id == failed.trace_id).collect();
    assert_eq!(hogs.len(), 4);
    assert!(hogs.iter().any(|s| s.error == Some(ErrorKind::OutOfMemory)), "the store refused is in the telemetry: {hogs:#?}");
    assert!(hogs.iter().filter(|s| s.error.is_none()).all(|s| s.memory_used_kb >= 40 << 10), "{hogs:#?}");

    // The optimizer's next step: no group below what it needs; the work that failed now fits.
    let tasks: BTreeSet<String> = manifest.task_names().into_iter().collect();
    let profile = Profile::from_records(&records, "testkit", "relay", &tasks, &setup, Pricing::LAMBDA_X86).unwrap();
    assert!(profile.environments["relay"].out_of_memory);
    let model = Model::new(&profile, Overheads::of(&fusion_host::platform::Platform::LAMBDA), Pricing::LAMBDA_X86);
    let pick = search(&model, Goal::of(Objective::Cost)).pick;
    let relays = pick.grouping.iter().find(|(group, _)| group.contains("relay")).unwrap();
    if relays.0.contains("hog") {
        assert!(relays.1 >= failed.max_memory_used_mb, "the fused group gets at least what it wanted: {:?}", pick.grouping);
    }
    let proposed = FusionSetup { functions: pick.setup.functions.clone(), ..setup };
    let app = start("testkit", proposed, config());
    let four = fan_out(&app, 4).await.expect("the proposed setup holds four at once");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&four).unwrap(), json!({ "ok": [40, 40, 40, 40] }));
}
