//! The autopilot on AWS (`fusion optimize --watch --aws`), without an AWS account: moto in server
//! mode is S3 (the store), IAM, DynamoDB and the Lambda control plane; the Lambda emulator
//! (`fusion_lambda::emulator`) runs the environments of the functions `fusion deploy aws` made in
//! moto — unmodified `fusion-host`s in Lambda mode, started from moto's function configurations
//! and started anew when one changes. IoT is deployed one function per task with more memory
//! than it needs; under steady traffic the autopilot applies a cheaper setup: the store's current
//! version, the memory sizes in moto and the environments serving after the change (their
//! telemetry) all have it, no request fails across the change, and Ctrl-C leaves it serving.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fusion_host::router::Transport;
use fusion_host::telemetry::Record;
use fusion_host::{Call, CallMode, TraceContext};
use fusion_lambda::emulator::{Launch, Launcher, LambdaEmulator};
use fusion_lambda::front_end::vars;
use fusion_lambda::invoke::{InvokeConfig, LambdaTransport};
use fusion_store::{Store, StoreConfig};
use fusion_test_artifacts::{SMALL_WORK, checkout, manifest, project_dir};
use fusion_tune::autopilot::Feed;
use serde_json::{Value, json};
use support::autopilot::{Autopilot, journal};
use support::moto::Moto;

const BUCKET: &str = "fusion-autopilot-test";
/// The Lambda function of IoT's task `T` is `fusion-iot-T`.
const PREFIX: &str = "fusion-iot-";
/// What the deployed setup gives every function: more than IoT needs.
const OVERSIZED_MB: u32 = 512;

/// The `fusion-host` binary beside `fusion` (what Lambda starts as the custom runtime's
/// `bootstrap`), built now if it is missing: after changing the host, build it with
/// `cargo build --release --bin fusion-host`, as the other tests that start hosts need.
fn fusion_host() -> PathBuf {
    let profile = Path::new(env!("CARGO_BIN_EXE_fusion")).parent().expect("the fusion binary's folder");
    let host = profile.join("fusion-host");
    if !host.is_file() {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args(["build", "-q", "-p", "fusion-server", "--bin", "fusion-host", "--manifest-path"]).arg(checkout().join("Cargo.toml"));
        if profile.ends_with("release") {
            cargo.arg("--release");
        }
        assert!(cargo.status().expect("cargo runs").success(), "building fusion-host failed");
    }
    host
}

/// Starts an environment as Lambda would, from the function's configuration in moto, with moto's
/// test credentials as the role's. The deployed `FUSION_LAMBDA_ENDPOINT` is moto (`--endpoint`
/// is one endpoint for every service), which stores functions but does not run them: calls
/// between functions go to the emulator's Invoke API instead. Telemetry batches are written
/// after 1 s rather than 10 s, to keep the test short.
fn launcher(host: PathBuf) -> Launcher {
    Arc::new(move |launch: &Launch| {
        Command::new(&host)
            .env_clear()
            .envs(&launch.variables)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("TMPDIR", std::env::temp_dir())
            .env(vars::LAMBDA_ENDPOINT, launch.invoke_url)
            .env(vars::TELEMETRY_BATCH_MS, "1000")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
    })
}

/// The app's store on moto's S3, where `deploy aws` put it.
async fn store(moto: &Moto) -> Store {
    let mut config = StoreConfig::at(&format!("s3://{BUCKET}/fusion/iot"), Some(moto.url.clone()), "us-east-1").unwrap();
    config.credentials = Some(("testing".into(), "testing".into()));
    Store::connect(&config).await.unwrap()
}

/// `fusion optimize --watch --aws` on the app deployed to `moto`.
fn start_autopilot(moto: &Moto, knobs: &[&str]) -> Autopilot {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fusion"));
    command
        .args(["optimize", "-f", project_dir("iot").as_str(), "--watch", "--aws", BUCKET, "--region", "us-east-1", "--endpoint", moto.url.as_str()])
        .args(knobs)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE");
    Autopilot::start("iot", &mut command)
}

/// Requests sent to the entry function through the emulator's Invoke API, and those that failed.
#[derive(Default)]
struct Sent {
    requests: usize,
    failed: Vec<String>,
}

/// Sends IoT's small work to the entry function, one request at a time, at most 10 a second,
/// until `stop`.
async fn traffic(client: Arc<LambdaTransport>, stop: Arc<AtomicBool>, sent: Arc<Mutex<Sent>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let call = Call { task: "I".into(), payload: SMALL_WORK.as_bytes().to_vec(), mode: CallMode::Sync, trace: TraceContext::new_request() };
        let outcome = client.send("I", call).await;
        let mut sent = sent.lock().unwrap();
        sent.requests += 1;
        if let Err(err) = outcome {
            sent.failed.push(err.to_string());
        }
    }
}

/// Waits until `condition` gives a value; fails saying `what` did not happen, with `context`,
/// after `within`.
async fn wait_for<T>(what: &str, within: Duration, mut condition: impl AsyncFnMut() -> Option<T>, context: impl Fn() -> String) -> T {
    let until = Instant::now() + within;
    loop {
        if let Some(value) = condition().await {
            return value;
        }
        assert!(Instant::now() < until, "{what}: not within {within:?}\n{}", context());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn memory_of(record: &Record) -> (&str, u64, u32) {
    match record {
        Record::Span(span) => (&span.function, span.setup_version, span.memory_mb),
        Record::Invocation(invocation) => (&invocation.function, invocation.setup_version, invocation.memory_mb),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autopilot_on_aws_applies_smaller_memory_that_reaches_new_environments_with_no_failed_request() {
    let _machine = support::alone();
    let host = fusion_host();
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks: BTreeSet<String> = manifest("iot").task_names();

    // IoT on "AWS": one function per task, each with more memory than IoT needs.
    let functions: BTreeMap<&str, Value> = tasks.iter().map(|t| (t.as_str(), json!({ "memory_mb": OVERSIZED_MB }))).collect();
    let oversized = dir.path().join("oversized.json");
    std::fs::write(&oversized, json!({ "app": "iot", "created_by": "test: one function per task, 512 MB each", "functions": functions }).to_string()).unwrap();
    moto.deploy(dir.path(), &["-f", project_dir("iot").as_str(), "--bucket", BUCKET, "--no-build", "--setup", oversized.to_str().unwrap()]);
    let store = store(&moto).await;
    let start = store.current_version("iot").await.unwrap().expect("deploy made a setup current");

    // Lambda: the functions' environments, started from their configurations in moto.
    let names: Vec<String> = tasks.iter().map(|t| format!("{PREFIX}{t}")).collect();
    let emulator = LambdaEmulator::launching(&names, launcher(host)).await.unwrap();
    emulator.follow(moto.client(), &moto.url, Duration::from_millis(200)).unwrap();
    let configured = |function: &str| emulator.configuration(&format!("{PREFIX}{function}")).map(|c| c.memory_mb);
    wait_for("the emulator reads the configurations", Duration::from_secs(30), async || tasks.iter().all(|t| configured(t) == Some(OVERSIZED_MB)).then_some(()), String::new).await;

    // Steady traffic, its telemetry followed from the store as the autopilot reads it.
    let mut feed = Feed::store(store.clone(), "iot", tasks.clone()).await.unwrap();
    let config = InvokeConfig { endpoint: emulator.invoke_url.clone(), region: "us-east-1".into(), function_prefix: PREFIX.into(), timeout: Duration::from_secs(60) };
    let client = LambdaTransport::new(config, SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "test"))).unwrap();
    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Sent::default())));
    let sender = tokio::spawn(traffic(client, stop.clone(), sent.clone()));

    let autopilot = start_autopilot(&moto, &["--objective", "cost", "--window-requests", "30", "--window", "3s", "--settle", "2s"]);
    let context = || format!("autopilot:\n{}\njournal: {:#?}", autopilot.printed(), journal("iot"));
    let applied = wait_for("the autopilot applies a setup", Duration::from_secs(150), async || journal("iot").into_iter().find(|e| e["action"] == "apply"), context).await;
    // Right away: the setup is current in the store, and the functions in moto have its memory.
    let version = applied["applied"].as_u64().expect("the applied version");
    assert_eq!(applied["version"].as_u64(), Some(start), "{applied:#}");
    assert_eq!(store.current_version("iot").await.unwrap(), Some(version), "{applied:#}");
    let setup = store.setup("iot", version).await.unwrap();
    let memory: BTreeMap<&str, u32> = tasks.iter().map(|t| (t.as_str(), setup.function(t).memory_mb)).collect();
    for (task, mb) in &memory {
        let configuration = moto.configuration(&format!("{PREFIX}{task}")).await.expect("the function exists");
        assert_eq!(configuration["MemorySize"].as_u64(), Some(u64::from(*mb)), "{task}: {configuration:#}");
    }
    assert!(memory.values().all(|mb| *mb < OVERSIZED_MB), "every function smaller than {OVERSIZED_MB} MB: {memory:?}");

    // The environments serving after the change have the new memory: every function that runs
    // under the new setup records it in its telemetry.
    let mut records: Vec<Record> = Vec::new();
    let served = wait_for(
        "the new environments serve the new setup",
        Duration::from_secs(60),
        async || {
            records.extend(feed.poll().await.unwrap());
            let of_version: Vec<(&str, u32)> = records.iter().map(memory_of).filter(|(_, v, _)| *v == version).map(|(f, _, mb)| (f, mb)).collect();
            let entered: BTreeSet<&str> = of_version.iter().map(|(f, _)| *f).collect();
            let renewed = entered.iter().all(|f| of_version.contains(&(f, memory[f])));
            (entered.contains("I") && renewed).then(|| entered.into_iter().map(str::to_string).collect::<BTreeSet<String>>())
        },
        context,
    )
    .await;
    for function in &served {
        // Before the change its environment was started with 512 MB: that one is retired, and
        // stopped once its last invocation has ended; one started with the new memory served.
        let name = format!("{PREFIX}{function}");
        let first = || emulator.environments(&name)[0].clone();
        assert_eq!((first().memory_mb, first().retired), (Some(OVERSIZED_MB), true), "{function}: {:#?}", emulator.environments(&name));
        wait_for("the retired environment stops", Duration::from_secs(60), async || (!first().running).then_some(()), || format!("{:#?}", emulator.environments(&name))).await;
        let environments = emulator.environments(&name);
        assert!(environments.iter().any(|e| e.memory_mb == Some(memory[function.as_str()]) && e.invocations > 0), "{function}: {environments:#?}");
    }
    // Records of the new version with other memory come only from the old environments, before
    // the functions' configurations changed.
    for (function, v, mb) in records.iter().map(memory_of) {
        assert!(v != version || mb == memory[function] || mb == OVERSIZED_MB, "{function} v{v} {mb} MB");
    }

    stop.store(true, Ordering::Relaxed);
    sender.await.unwrap();
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    assert!(sent.failed.is_empty(), "{} of {} requests failed: {:?}", sent.failed.len(), sent.requests, sent.failed);

    // Ctrl-C: the autopilot stops, saying the current setup keeps serving.
    let (stopped, printed) = autopilot.interrupt();
    assert!(stopped, "{printed}");
    let current = store.current_version("iot").await.unwrap().unwrap();
    assert!(printed.contains(&format!("v{current} keeps serving")), "{printed}");
    println!("{} requests, none failed; v{start} → v{version}: {}, memory {memory:?}; functions serving it: {served:?}", sent.requests, setup.describe());
}
