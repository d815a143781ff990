//! The local cluster for real: one `fusion-host` process per function, driven by the load
//! generator, telemetry read back from every host's file, profiled and predicted (cold starts
//! included); and `fusion up` as a user runs it.

use crate::support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use fusion_test_artifacts::*;
use fusion_cluster::{ClusterState, LocalCluster};
use fusion_cluster::store;
use fusion_measure::{extract, telemetry_lines};
use fusion_measure::load::{self, LoadSpec, Profile};
use fusion_optimizer::pricing::Pricing;
use fusion_host::telemetry::{Record, Span, unix_micros};
use fusion_store::embedded::EmbeddedS3;
use fusion_host::{CallMode, FusionSetup, Preset};
use CallMode::{Async, Sync};
use support::{Up, fusion, ok, spawn_up};

fn all_remote(app: &str) -> FusionSetup {
    let m = manifest(app);
    FusionSetup::preset(Preset::AllRemote, app, &m.task_names(), &m.entry)
}

fn spec(requests: usize, profile: Profile, payload: &str) -> LoadSpec {
    LoadSpec { rate: requests as f64, duration: Duration::from_secs(1), profile, payload: payload.into() }
}

/// A load run on a fresh all-remote cluster: its outcomes (all successful) and every host's
/// telemetry, read once the cluster is idle.
struct Run {
    cluster: LocalCluster,
    outcomes: Vec<load::Outcome>,
    records: Vec<Record>,
    _dir: tempfile::TempDir,
}

async fn run_all_remote(app: &str, requests: usize, profile: Profile, payload: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let store = store::private(&dir.path().join("s3")).await.unwrap();
    let cluster = LocalCluster::start(&project(app), dir.path(), &all_remote(app), "all-remote", fusion_host::platform::Platform::RAW, store).await.unwrap();
    let outcomes = load::run(&cluster.state, &spec(requests, profile, payload), |_| {}).await.unwrap();
    load::wait_idle(&cluster.state).await.unwrap();
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    let (records, skipped) = extract::read_dir(&cluster.state.telemetry, None).unwrap();
    assert_eq!(skipped.total(), 0, "every telemetry line is believed: {skipped}");
    Run { cluster, outcomes, records, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_of_every_host_rebuilds_the_exact_call_tree() {
    let _machine = support::shared();
    let Run { cluster, outcomes, records, _dir } = run_all_remote("iot", 2, Profile::Steady, SMALL_WORK).await;
    for outcome in &outcomes {
        let trace: Vec<Record> = records.iter().filter(|r| trace_of(r) == outcome.trace_id).cloned().collect();
        // Every call of IoT, each in its own process, linked to the span that made it.
        assert_eq!(
            edges(&trace),
            iot_call_graph()
        );
        let all = spans(&trace);
        for span in &all {
            assert_eq!(span.function, span.task, "all-remote runs every task in its own function");
            match &span.parent_span {
                None => assert_eq!(span.task, "I"),
                Some(parent) => {
                    let parent = all.iter().find(|s| &s.span_id == parent).expect("the parent span was recorded by its host");
                    assert_eq!(span.caller.as_deref(), Some(parent.task.as_str()), "the parent is the caller");
                    assert!(span.start_us >= parent.start_us, "a callee starts after its caller");
                }
            }
        }
    }
    let traces: BTreeSet<String> = outcomes.iter().map(|o| o.trace_id.clone()).collect();
    let versions = extract::extract(&records, Pricing::LAMBDA_X86, Some(&traces));
    let [version] = &versions[..] else { panic!("one setup version expected") };
    assert_eq!(version.requests.len(), 2);
    for request in &version.requests {
        assert_eq!(request.invocations, 11, "one invocation per task execution");
        assert!(request.cost > 11.0 * Pricing::LAMBDA_X86.per_request, "every invocation bills its duration");
    }
    cluster.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cold_profile_makes_every_invocation_a_cold_start() {
    let _machine = support::shared();
    let Run { cluster, outcomes, records, _dir } = run_all_remote("tree", 3, Profile::Cold, SMALL_WORK).await;
    let traces = outcomes.iter().map(|o| o.trace_id.clone()).collect();
    let versions = extract::extract(&records, Pricing::LAMBDA_X86, Some(&traces));
    let requests: Vec<_> = versions.iter().flat_map(|v| &v.requests).collect();
    assert_eq!(requests.len(), 3);
    for request in requests {
        assert_eq!((request.invocations, request.cold_starts), (7, 7), "Tree has 7 functions, all cold");
    }
    cluster.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_starts_cost_what_the_model_predicts_once_every_environment_idled_out() {
    let _machine = support::alone();
    // Tree all-remote on Lambda's profile: a steady run to profile (its first request starts
    // every function's environment, so the profile has each init), then requests that each find
    // every environment idled out, as traffic far sparser than the idle timeout would.
    let dir = tempfile::tempdir().unwrap();
    let store = store::private(&dir.path().join("s3")).await.unwrap();
    let lambda = fusion_host::platform::Platform::LAMBDA;
    let cluster = LocalCluster::start(&project("tree"), dir.path(), &all_remote("tree"), "all-remote", lambda, store).await.unwrap();
    let run = async |requests: usize, profile: Profile| {
        let outcomes = load::run(&cluster.state, &spec(requests, profile, SMALL_WORK), |_| {}).await.unwrap();
        load::wait_idle(&cluster.state).await.unwrap();
        assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
        outcomes.into_iter().map(|o| o.trace_id).collect::<BTreeSet<String>>()
    };
    let steady_traces = run(6, Profile::Steady).await;
    let cold_traces = run(3, Profile::Cold).await;
    let (records, _) = extract::read_dir(&cluster.state.telemetry, None).unwrap();
    let steady_records: Vec<Record> = records.iter().filter(|r| steady_traces.contains(trace_of(r))).cloned().collect();
    let m = manifest("tree");
    let setup = cluster.store().setup("tree", cluster.state.setup_version).await.unwrap();
    let mut profile = fusion_optimizer::profile::Profile::from_records(&steady_records, "tree", &m.entry, &m.task_names(), &setup, Pricing::LAMBDA_X86).unwrap();
    assert!(profile.environments.values().all(|e| e.init_ms.is_some_and(|ms| ms >= 18.0)), "every function started once, Lambda's runtime init included: {:?}", profile.environments);
    let overheads = fusion_optimizer::model::Overheads::of(&lambda);
    let steady = fusion_optimizer::model::Model::new(&profile, overheads, Pricing::LAMBDA_X86).predict(&setup);
    assert!(steady.cold_starts < 0.01, "at the profiled rate environments stay warm: {steady:?}");
    // One request a week: every environment has idled out.
    profile.arrival_per_s = Some(1.0 / (7.0 * 86_400.0));
    let cold = fusion_optimizer::model::Model::new(&profile, overheads, Pricing::LAMBDA_X86).predict(&setup);
    assert!((cold.cold_starts - 7.0).abs() < 0.01, "Tree's 7 functions start cold: {cold:?}");

    let [measured] = &extract::extract(&records, Pricing::LAMBDA_X86, Some(&cold_traces))[..] else { panic!("one setup version") };
    assert!(measured.requests.iter().all(|r| r.cold_starts == 7), "{:?}", measured.requests);
    let mean_cost = measured.requests.iter().map(|r| r.cost).sum::<f64>() / 3.0;
    let mut latencies: Vec<f64> = measured.requests.iter().map(|r| r.latency_us as f64 / 1e3).collect();
    let p50_latency = fusion_optimizer::profile::median(&mut latencies);
    // What cold starts add, predicted against measured: each against the steady state of its kind.
    let (added_cost, measured_cost) = (cold.cost - steady.cost, mean_cost - profile.measured.mean_cost);
    let (added_latency, measured_latency) = (cold.latency_ms - steady.latency_ms, p50_latency - profile.measured.p50_latency_ms);
    eprintln!("cold starts added: cost predicted {added_cost:.3e}, measured {measured_cost:.3e}; p50 latency predicted {added_latency:.1} ms, measured {measured_latency:.1} ms");
    assert!(measured_cost > 0.0 && (added_cost / measured_cost - 1.0).abs() < 0.2, "cost added: predicted {added_cost:.3e}, measured {measured_cost:.3e}");
    assert!(measured_latency > 0.0 && (added_latency / measured_latency - 1.0).abs() < 0.2, "latency added: predicted {added_latency:.1} ms, measured {measured_latency:.1} ms");
    cluster.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_of_a_real_run_has_the_apps_calls_and_the_model_prefers_fusing() {
    let _machine = support::shared();
    // CSA's sieve (paced at 128 MB) and CSL's writes both last long enough for their
    // concurrency to show even when one of them starts cold.
    let work = r#"{"work":{"burn":2.0,"sieve":1000000,"db_ms":5,"sleep_ms":2}}"#;
    let Run { cluster, records, _dir, .. } = run_all_remote("iot", 4, Profile::Steady, work).await;
    let m = manifest("iot");
    let setup = cluster.store().setup("iot", cluster.state.setup_version).await.unwrap();
    let profile = fusion_optimizer::profile::Profile::from_records(&records, "iot", &m.entry, &m.task_names(), &setup, Pricing::LAMBDA_X86).unwrap();
    // The first request met the fresh hosts' cold environments: counted, left out.
    assert_eq!(profile.requests + profile.cold_requests, 4);
    assert!(profile.requests >= 1, "{} warm requests", profile.requests);
    let calls: BTreeSet<(String, String, CallMode, bool)> =
        profile.edges.iter().map(|e| (e.caller.clone(), e.callee.clone(), e.mode, e.concurrent)).collect();
    let expected = [
        ("I", "CW", Sync, false),
        ("I", "SE", Sync, false),
        ("I", "CT", Async, false),
        ("I", "CS", Async, false),
        ("I", "CA", Async, false),
        ("CS", "CSL", Sync, true),
        ("CS", "CSA", Sync, true),
        ("CA", "DJ", Sync, false),
        ("CA", "AS", Async, false),
        ("CT", "AS", Async, false),
    ];
    assert_eq!(calls, expected.iter().map(|(a, b, m, c)| (a.to_string(), b.to_string(), *m, *c)).collect(), "CS calls CSL and CSA together");
    assert!((profile.tasks["AS"].runs_per_request - 2.0).abs() < 1e-9, "AS runs for CA and for CT");
    let cw_se: BTreeSet<String> = ["CW", "SE"].map(String::from).into();
    for fired in profile.edges.iter().filter(|e| e.caller == "I" && e.mode == Async) {
        assert_eq!(fired.after, cw_se, "I fires {} after its sync calls return", fired.callee);
    }
    assert!(profile.tasks["SE"].wait_ms >= 5.0, "SE waits on its emulated write (db_ms 5)");
    // AS writes six records (6 × 5 ms) when CA calls it, none when CT does: its waits are kept
    // per caller.
    let as_waits = |caller: &str| profile.edges.iter().find(|e| e.caller == caller && e.callee == "AS").and_then(|e| e.callee_wait_ms).unwrap();
    assert!(as_waits("CA") >= 25.0 && as_waits("CT") < 5.0, "AS waits {} for CA, {} for CT", as_waits("CA"), as_waits("CT"));
    // With Lambda's hop costs, the model predicts fusing beats one function per task on both.
    let model = fusion_optimizer::model::Model::new(&profile, fusion_optimizer::model::Overheads::of(&fusion_host::platform::Platform::LAMBDA), Pricing::LAMBDA_X86);
    let goal = fusion_optimizer::objective::Goal::of(fusion_optimizer::objective::Objective::Balanced);
    let pick = fusion_optimizer::search::search(&model, goal).pick;
    let remote = model.predict(&profile.setup);
    assert!(pick.prediction.latency_ms < remote.latency_ms && pick.prediction.cost < remote.cost, "{:?} vs {remote:?}", pick.prediction);
    assert!(pick.grouping.len() < 10, "some tasks fused: {:?}", pick.grouping);
    cluster.stop();
}

fn trace_of(record: &Record) -> &str {
    match record {
        Record::Span(s) => &s.trace_id,
        Record::Invocation(i) => &i.trace_id,
    }
}

/// Waits (bounded) until nothing listens at `url` any more.
fn gone(url: &str) -> bool {
    let addr = url.trim_start_matches("http://");
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if std::net::TcpStream::connect(addr).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `fusion up` in the background, on the workspace's embedded store or on `s3`; returns it once
/// its cluster is up.
fn fusion_up(app: &str, setup: &str, s3: Option<&EmbeddedS3>) -> (Up, ClusterState) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fusion"));
    if let Some(s3) = s3 {
        command
            .env("FUSION_S3_BUCKET", "up-test")
            .env("FUSION_S3_ENDPOINT", &s3.endpoint)
            .env("AWS_ACCESS_KEY_ID", &s3.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &s3.secret_key)
            .env("AWS_REGION", STORE_REGION);
    }
    let (up, table) = spawn_up(command.args(["up", "-f", project_dir(app).as_str(), "--setup", setup]));
    let state = ClusterState::running(&project(app).cluster_dir()).expect("the cluster's state");
    assert_eq!(state.endpoints.len(), manifest(app).tasks.len(), "one host per function");
    for (function, url) in &state.endpoints {
        assert!(table.iter().any(|l| l.starts_with(function.as_str()) && l.contains(url.as_str())), "{function} missing in {table:?}");
    }
    (up, state)
}

#[test]
fn fusion_up_serves_fusion_load_and_stops_every_host_on_ctrl_c() {
    let _machine = support::shared();
    let (mut up, state) = fusion_up("tree", "fusionize-optimum", None);
    let load = fusion(&["load", "-f", project_dir("tree").as_str(), "--rate", "4", "--duration", "1s", "--size", "small"]);
    let stdout = String::from_utf8_lossy(&load.stdout);
    assert!(load.status.success(), "{stdout}{}", String::from_utf8_lossy(&load.stderr));
    assert!(stdout.contains("tree · fusionize-optimum"), "fusion load used the running cluster: {stdout}");
    assert!(stdout.contains("4 requests") && stdout.contains("0 failed"), "{stdout}");
    assert!(stdout.contains("invocations 4.00"), "F(A), F(C), F(F), F(G) per request: {stdout}");
    let extracted = fusion(&["extract", "-f", project_dir("tree").as_str()]);
    let text = String::from_utf8_lossy(&extracted.stdout);
    assert!(extracted.status.success());
    for edge in ["A → B", "A → C", "B → D", "D → E", "C → F", "C → G"] {
        assert!(text.contains(edge), "missing {edge} in\n{text}");
    }
    // What each function's environments used: F(A), F(C), F(F), F(G) under the optimum.
    let memory: Vec<&str> = text.lines().skip_while(|l| !l.contains("MEMORY BY FUNCTION")).skip(1).collect();
    assert_eq!(memory.len(), 4, "{text}");
    for row in memory {
        let cells: Vec<&str> = row.split_whitespace().collect();
        let (size, max): (u32, u32) = (cells[1].parse().unwrap(), cells[3].parse().unwrap());
        assert!(max > 0 && max <= size, "peak within the memory size: {row}");
    }
    // Hostile lines beside the hosts' telemetry are skipped and counted, and change no number.
    let hostile = state.telemetry.join("hostile.jsonl");
    std::fs::write(&hostile, hostile_lines(state.setup_version)).unwrap();
    let poisoned = fusion(&["extract", "-f", project_dir("tree").as_str()]);
    let warning = String::from_utf8_lossy(&poisoned.stderr).into_owned();
    assert!(warning.contains("skipped 3 telemetry lines"), "{warning}");
    assert!(warning.contains("1 longer than 64 KiB, 1 not UTF-8, 1 with an impossible duration"), "{warning}");
    assert_eq!(requests_and_latency(&ok(&poisoned)), requests_and_latency(&text), "the endless request is not one of the run's");
    // A new setup reaches the running hosts without restarting them.
    let applied = fusion(&["setup", "apply", "all-local", "-f", project_dir("tree").as_str()]);
    let said = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{said}{}", String::from_utf8_lossy(&applied.stderr));
    let version = state.setup_version + 1;
    assert!(said.contains(&format!("all 7 hosts of the running cluster serve version {version}")), "{said}");
    let load = fusion(&["load", "-f", project_dir("tree").as_str(), "--rate", "4", "--duration", "1s", "--size", "small"]);
    let stdout = String::from_utf8_lossy(&load.stdout);
    assert!(stdout.contains(&format!("setup        v{version} (4 requests)")) && stdout.contains("invocations 1.00"), "all-local: {stdout}");
    assert!(stdout.contains(&format!("tree · setup v{version} (swapped since it started with fusionize-optimum")), "not titled with the starting setup: {stdout}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(up.0.id() as i32, libc::SIGINT) };
    assert!(up.0.wait().unwrap().success());
    for url in state.endpoints.values() {
        assert!(gone(url), "host at {url} outlived fusion up");
    }
    std::fs::remove_file(hostile).unwrap();
}

/// A root span of the entry task that lasts `u64::MAX` µs, a line with a byte that is not UTF-8
/// and a line over the limit.
fn hostile_lines(setup_version: u64) -> Vec<u8> {
    let endless = Record::Span(Span {
        trace_id: "endless".into(),
        span_id: "endless".into(),
        parent_span: None,
        outside_parent: None,
        function: "A".into(),
        setup_version,
        task: "A".into(),
        caller: None,
        mode: Sync,
        remote: false,
        start_us: unix_micros(SystemTime::now()),
        duration_us: u64::MAX,
        cpu_us: u64::MAX,
        calls_us: u64::MAX,
        called_together: Vec::new(),
        kv_ops: 0,
        kv_us: 0,
        memory_mb: 128,
        memory_used_kb: 0,
        cold_start: false,
        error: None,
    });
    let mut lines = serde_json::to_vec(&endless).unwrap();
    lines.extend_from_slice(b"\n{\"kind\":\"span\",\"trace_id\":\"\xff\"}\n");
    lines.extend("x".repeat(telemetry_lines::MAX_LINE_BYTES + 1).bytes());
    lines
}

/// The lines of `fusion extract`'s output with each version's request count and latency.
fn requests_and_latency(extracted: &str) -> Vec<&str> {
    extracted.lines().filter(|l| l.starts_with("setup version") || l.contains("latency")).collect()
}

/// The region of the store `fusion_up` is given, not the default one: the hosts must sign their
/// requests to it for the region the user configured.
const STORE_REGION: &str = "eu-west-1";

/// On a store of its own in `STORE_REGION`, reached as any S3 is (the hosts take their keys from
/// the environment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_do_not_outlive_a_killed_fusion_up() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let s3 = EmbeddedS3::start(dir.path(), "127.0.0.1:0", "up-key", "up-secret", STORE_REGION).await.unwrap();
    let (mut up, state) = fusion_up("iot", "all-remote", Some(&s3));
    up.0.kill().unwrap();
    up.0.wait().unwrap();
    for url in state.endpoints.values() {
        assert!(gone(url), "host at {url} was orphaned");
    }
}
