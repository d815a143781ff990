//! Lambda's resource model in the emulator: CPU time paced to the memory size, cold starts per
//! execution environment with a billed init phase, and the `lambda` platform's hop delays. Every
//! check is a bound the model guarantees, never a wall-clock time.


use std::collections::BTreeMap;

use fusion_test_artifacts::*;
use fusion_host::cpu::{BURST_PERIOD, vcpus};
use fusion_host::platform::Platform;
use fusion_host::telemetry::{InvocationRecord, Record};
use fusion_host::{FusionSetup, Preset, RuntimeConfig, TraceContext};

fn invocation_records(records: &[Record]) -> Vec<&InvocationRecord> {
    records.iter().filter_map(|r| if let Record::Invocation(i) = r { Some(i) } else { None }).collect()
}

fn preset(app: &str, preset: Preset) -> FusionSetup {
    let m = manifest(app);
    FusionSetup::preset(preset, app, &m.task_names(), &m.entry)
}

async fn one_request(app: &App, payload: &str) -> Vec<Record> {
    app.cluster.request(TraceContext::new_request(), payload.as_bytes().to_vec()).await.expect("request succeeds");
    app.cluster.drain().await;
    app.sink.take()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_cpu_time_is_paced_to_the_memory_share() {
    // Tree in one 128 MB function: C, F and G burn in parallel on ~0.07 vCPU.
    let app = start("tree", preset("tree", Preset::AllLocal), RuntimeConfig::default());
    let records = one_request(&app, r#"{"work":{"burn":5.0,"burn_reps":1,"sleep_ms":0}}"#).await;
    let cpu_us: u64 = spans(&records).iter().map(|s| s.cpu_us).sum();
    let [invocation] = invocation_records(&records)[..] else { panic!("one invocation expected") };
    let share = vcpus(invocation.memory_mb);
    let burst_us = BURST_PERIOD.as_micros() as f64 * share;
    assert!(cpu_us as f64 > burst_us, "the work ({cpu_us} µs) must exceed the burst allowance to be paced");
    assert!(
        cpu_us as f64 <= burst_us + share * invocation.duration_us as f64,
        "{cpu_us} µs of guest CPU in {} µs at {share:.3} vCPU",
        invocation.duration_us
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_spent_waiting_is_not_guest_cpu_time() {
    // E only sleeps (emulated I/O): its span lasts the sleep, its CPU time is a sliver of it.
    let app = start("tree", preset("tree", Preset::AllRemote), RuntimeConfig::default());
    let records = one_request(&app, r#"{"work":{"burn":1.0,"burn_reps":1,"sleep_ms":50}}"#).await;
    let e = spans(&records).into_iter().find(|s| s.task == "E").expect("E ran");
    assert!(e.duration_us >= 50_000, "E sleeps 50 ms");
    assert!(e.cpu_us * 10 < e.duration_us, "E ran {} µs of {} µs", e.cpu_us, e.duration_us);
    // D calls E sync, then sleeps: it waited on the call at least as long as E ran.
    let d = spans(&records).into_iter().find(|s| s.task == "D").expect("D ran");
    assert_eq!(e.calls_us, 0, "E calls nothing");
    assert!(d.calls_us >= e.duration_us && d.calls_us < d.duration_us, "D waited {} µs on E's {} µs, of its {} µs", d.calls_us, e.duration_us, d.duration_us);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_environment_starts_cold_once_and_bills_its_init() {
    let app = start("tree", preset("tree", Preset::AllRemote), RuntimeConfig::default());
    let cold = |records: &[Record]| -> BTreeMap<String, bool> {
        invocation_records(records).iter().map(|i| (i.function.clone(), i.cold_start)).collect()
    };
    let first = one_request(&app, SMALL_WORK).await;
    assert!(cold(&first).values().all(|c| *c), "every function starts cold: {:?}", cold(&first));
    for inv in invocation_records(&first) {
        assert!(inv.init_us > 0, "a cold start loads the group's components");
        assert!(inv.billed_ms * 1000 >= inv.init_us, "the init phase is billed");
    }
    let second = one_request(&app, SMALL_WORK).await;
    assert!(cold(&second).values().all(|c| !*c), "requests one after the other reuse warm environments");
    assert!(invocation_records(&second).iter().all(|i| i.init_us == 0));
    app.cluster.expire_environments();
    let third = one_request(&app, SMALL_WORK).await;
    assert!(cold(&third).values().all(|c| *c), "expired environments start cold again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_platform_adds_its_hop_delays() {
    let config = RuntimeConfig { platform: Platform::LAMBDA, ..RuntimeConfig::default() };
    let app = start("tree", preset("tree", Preset::AllRemote), config);
    let records = one_request(&app, r#"{"work":{"burn":1.0,"burn_reps":1,"sleep_ms":1}}"#).await;
    let all = spans(&records);
    let span = |task: &str| all.iter().find(|s| s.task == task).expect("task ran");
    let (a, b, c) = (span("A"), span("B"), span("C"));
    let hop = Platform::LAMBDA.sync_hop.as_micros() as u64;
    let enqueue = Platform::LAMBDA.async_enqueue.as_micros() as u64;
    // A calls C async, then B sync: the hop comes on top of B, while the call of C waits out the
    // enqueue in A's outbox without holding A up.
    assert!(a.duration_us >= b.duration_us + hop, "A {} µs, B {} µs", a.duration_us, b.duration_us);
    assert!(a.duration_us < b.duration_us + hop + enqueue, "the async call held A up: A {} µs, B {} µs", a.duration_us, b.duration_us);
    assert!(c.start_us >= a.start_us + enqueue, "C reached its function an enqueue after A called it");
    let a_invocation = invocation_records(&records).into_iter().find(|i| i.function == "A").expect("A's invocation");
    assert!(a_invocation.duration_us >= enqueue, "A's invocation lasts until the call of C is handed over");
    assert!(a_invocation.init_us >= Platform::LAMBDA.runtime_init.as_micros() as u64, "a cold start pays the runtime's init");
}
