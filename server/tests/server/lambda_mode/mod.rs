//! Hosts in Lambda mode, unmodified `fusion-host` binaries started the way Lambda starts a custom
//! runtime, against the local Lambda stand-in (`fusion_lambda::emulator`): invocations through
//! the Runtime API, calls between functions through the Invoke API, sync and async, setups and
//! components from the store, telemetry as CloudWatch lines and as batches in the store, and
//! spans to an OpenTelemetry collector flushed before each environment freezes.

mod harness;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fusion_test_artifacts::*;
use fusion_optimizer::pricing::Pricing;
use fusion_measure::extract;
use fusion_host::router::{Transport, group};
use fusion_host::telemetry::Record;
use fusion_host::setup::FunctionConfig;
use fusion_host::{CallMode, ErrorKind};
use fusion_store::aws_api::AwsClient;
use fusion_lambda::emulator::{Configuration, Launch, Launcher, LambdaEmulator};
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use CallMode::{Async, Sync};

use harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iot_runs_on_hosts_in_lambda_mode_calling_each_other_through_the_invoke_api() {
    let dir = tempfile::tempdir().unwrap();
    // Fusionize++'s grouping: fused calls inside functions, sync and async calls between them.
    let (store, emulator, functions) = deployed("iot", "fusionize-optimum", dir.path()).await;
    // Spans also go to a collector; the schedule is far off, so only the flush at the end of each
    // invocation can have sent them.
    let (collector, exported) = otlp_receiver().await;
    let env = [("FUSION_TELEMETRY_BATCH_MS", "0"), ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "600000")];
    let hosts: Vec<LambdaHost> = functions.iter().map(|f| start_host(&store, &emulator, "iot", f, &env)).collect();
    let client = transport(&emulator);
    let mut traces = Vec::new();
    for _ in 0..2 {
        let request = call("I", SMALL_WORK, Sync);
        traces.push(request.trace.trace_id.clone());
        let output = client.send("I", request).await.expect("the request succeeds");
        let output: serde_json::Value = serde_json::from_slice(&output).unwrap();
        assert_eq!(output["task"], "I", "{output}");
    }
    // Async work runs on after the answer; wait until every invocation's spans are out.
    let expected = 11 * traces.len();
    let mut records = Vec::new();
    for _ in 0..200 {
        records = records_of(&hosts);
        if spans(&records).len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for trace in &traces {
        let of_trace: Vec<Record> = records.iter().filter(|r| matches!(r, Record::Span(s) if &s.trace_id == trace)).cloned().collect();
        assert_eq!(
            edges(&of_trace),
            iot_call_graph()
        );
        let version = store.store.current_version("iot").await.unwrap().unwrap();
        let setup = store.store.setup("iot", version).await.unwrap();
        for span in spans(&of_trace) {
            assert!(group(&setup, &span.function).contains(&span.task), "{} ran in F({})", span.task, span.function);
            assert_eq!(span.error, None);
        }
    }
    // One Lambda invocation per function entered: I, CS, CA, CT, and AS twice.
    assert_eq!(emulator.invocations(), 6 * traces.len() as u64);
    // The same spans reached the store as batches.
    let batched = String::from_utf8(store.store.telemetry("iot").await.unwrap()).unwrap();
    let batched_spans = batched.lines().filter_map(|l| serde_json::from_str::<Record>(l).ok()).filter(|r| matches!(r, Record::Span(_))).count();
    assert_eq!(batched_spans, spans(&records).len(), "every CloudWatch span is in a store batch");
    // Each environment's first invocation carries the process's init, which Lambda does not
    // show the host per invocation; the invocations after it start warm.
    let invocations: Vec<_> = batched.lines().filter_map(|l| match serde_json::from_str::<Record>(l) { Ok(Record::Invocation(i)) => Some(i), _ => None }).collect();
    assert!(invocations.iter().any(|i| i.cold_start), "{invocations:?}");
    for invocation in &invocations {
        assert_eq!(invocation.cold_start, invocation.init_us > 0, "{invocation:?}");
    }
    // And the extractor rebuilds the requests from the batches alone, as `fusion extract --store`.
    let (batched, skipped) = extract::parse_lines(batched.as_bytes(), None);
    assert_eq!(skipped.total(), 0, "{skipped}");
    let versions = extract::extract(&batched, Pricing::LAMBDA_X86, Some(&traces.iter().cloned().collect()));
    let [version] = &versions[..] else { panic!("one setup version expected") };
    assert_eq!(version.requests.len(), traces.len());
    for request in &version.requests {
        assert_eq!(request.invocations, 6, "I, CS, CA, CT and AS twice: one invocation per function entered");
    }
    // At the collector: one trace per request, every span under its caller's, across functions.
    // Each invocation flushes once it has ended, a moment after its spans were printed.
    let mut waited = 0;
    while exported.lock().unwrap().len() < spans(&records).len() && waited < 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let exported = exported.lock().unwrap().clone();
    assert_eq!(exported.len(), spans(&records).len(), "every span was exported");
    for trace in &traces {
        let of_trace: Vec<&OtlpSpan> = exported.iter().filter(|s| hex::encode(&s.trace_id) == *trace).collect();
        let by_id: BTreeMap<&[u8], &OtlpSpan> = of_trace.iter().map(|s| (s.span_id.as_slice(), *s)).collect();
        let mut graph: BTreeMap<(String, String), usize> = BTreeMap::new();
        for span in &of_trace {
            let caller = match by_id.get(span.parent_span_id.as_slice()) {
                Some(parent) => parent.name.clone(),
                None => {
                    assert_eq!((span.name.as_str(), span.parent_span_id.len()), ("I", 8), "only the request's first span hangs off the client's");
                    "client".into()
                }
            };
            *graph.entry((caller, span.name.clone())).or_default() += 1;
        }
        let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
        for ((caller, callee, _), n) in iot_call_graph() {
            *expected.entry((caller, callee)).or_default() += n;
        }
        assert_eq!(graph, expected, "the trace of {trace} is IoT's call tree");
    }
    drop(hosts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_is_a_typed_invocation_error_and_a_bad_init_an_init_error() {
    let dir = tempfile::tempdir().unwrap();
    let (store, emulator, _) = deployed("testkit", "all-remote", dir.path()).await;
    let panic = start_host(&store, &emulator, "testkit", "panic", &[]);
    // The Runtime API as some emulators give it, with a scheme.
    let with_scheme = |function: &str| format!("http://{}/", emulator.runtime_api(&format!("{PREFIX}{function}")).unwrap());
    let echo = start_host(&store, &emulator, "testkit", "echo", &[("AWS_LAMBDA_RUNTIME_API", &with_scheme("echo"))]);
    let client = transport(&emulator);
    let err = client.send("panic", call("panic", "{}", Sync)).await.expect_err("the task panics");
    assert_eq!(err.kind, ErrorKind::Trapped, "{err}");
    assert!(err.message.contains("this task always panics"), "{err}");
    // The environment survives its guest's trap.
    assert_eq!(client.send("echo", call("echo", r#"{"n":1}"#, Sync)).await.unwrap(), br#"{"n":1}"#);
    assert_eq!(client.send("echo", call("echo", r#"{"n":2}"#, Async)).await.unwrap(), b"", "an Event invocation is accepted");
    // A function Lambda does not have.
    let err = client.send("nowhere", call("nowhere", "{}", Sync)).await.expect_err("no such function");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    // Events that are not JSON get a Fusion error type, not a Rust type name, and the
    // environment goes on serving.
    let raw = AwsClient::new(test_credentials(), "us-east-1", Duration::from_secs(60)).unwrap();
    let url = format!("{}/2015-03-31/functions/{PREFIX}echo/invocations", emulator.invoke_url.trim_end_matches('/'));
    for event in [&b"not json"[..], b"", b"\xff{"] {
        let answer = raw.send("lambda", "POST", &url, &[], event.to_vec()).await.unwrap();
        assert!(answer.headers.contains_key("x-amz-function-error"), "a function error");
        let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(error["errorType"], "Fusion.Rejected", "{error}");
        assert!(error["errorMessage"].as_str().unwrap().contains("not JSON"), "{error}");
    }
    assert_eq!(client.send("echo", call("echo", r#"{"n":3}"#, Sync)).await.unwrap(), br#"{"n":3}"#);

    // An environment whose init fails (its app is not in the store) reports it and exits.
    let mut bad = start_host(&store, &emulator, "no-such-app", "relay", &[("AWS_LAMBDA_RUNTIME_API", &with_scheme("relay"))]);
    let status = bad.child.wait().unwrap();
    assert!(!status.success(), "a failed init ends the runtime");
    let reported = emulator.init_error(&format!("{PREFIX}relay")).expect("the init error was reported");
    assert_eq!(reported["errorType"], "Fusion.InitError", "{reported}");
    assert!(reported["errorMessage"].as_str().unwrap().contains("no-such-app"), "{reported}");
    let err = client.send("relay", call("relay", "{}", Sync)).await.expect_err("its invocations fail");
    assert!(err.message.contains("Fusion.InitError") && err.message.contains("no-such-app"), "{err}");
    drop((panic, echo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_url_request_is_the_front_door_with_http_statuses_and_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (store, emulator, _) = deployed("testkit", "all-remote", dir.path()).await;
    let echo = start_host(&store, &emulator, "testkit", "echo", &[]);
    let panic = start_host(&store, &emulator, "testkit", "panic", &[]);
    let client = reqwest::Client::new();
    let post = |function: &str, body: &'static str| {
        client.post(emulator.function_url(&format!("{PREFIX}{function}"))).header("content-type", "application/json").header("x-fusion-depth", "31").body(body).send()
    };
    let answer = post("echo", r#"{"hello":"url"}"#).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), r#"{"hello":"url"}"#, "the entry task's JSON output, whatever x-fusion-* headers said");
    let refused = post("echo", "not json").await.unwrap();
    assert_eq!(refused.status(), 400);
    let error: serde_json::Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    assert_eq!(error["kind"], "rejected", "{error}");
    let trapped = post("panic", "{}").await.unwrap();
    assert_eq!(trapped.status(), 500, "a trap is a typed 500, not Lambda's 502 for a function error");
    let error: serde_json::Value = serde_json::from_str(&trapped.text().await.unwrap()).unwrap();
    assert_eq!(error["kind"], "trapped", "{error}");
    drop((echo, panic));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_change_reaches_a_new_environment_while_the_old_one_finishes_its_invocation() {
    let dir = tempfile::tempdir().unwrap();
    // The setup gives hog 1024 MB, its Lambda function is configured with less: an environment
    // has the memory its function is configured with, as on Lambda.
    let mut setup = fusion_test_artifacts::setup("testkit", "all-remote");
    setup.functions.insert("hog".into(), FunctionConfig { memory_mb: 1024, ..FunctionConfig::default() });
    let (store, names, _) = published("testkit", setup, dir.path()).await;
    // The emulator starts the environments: what each printed, with the memory it was started with.
    let printed: Arc<Mutex<Vec<(u32, String)>>> = Arc::default();
    let (lines, role) = (printed.clone(), role(&store));
    let launcher: Launcher = Arc::new(move |launch: &Launch| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fusion-host"))
            .env_clear()
            .envs(&launch.variables)
            .envs(role.clone())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let (memory_mb, lines) = (launch.configuration.memory_mb, lines.clone());
        collect(&mut child, move |line| lines.lock().unwrap().push((memory_mb, line)));
        Ok(child)
    });
    let emulator = LambdaEmulator::launching(&names, launcher).await.unwrap();
    let hog = format!("{PREFIX}hog");
    let configured = |memory_mb| Configuration { memory_mb, timeout_s: 60, environment: fusion_variables(&store, &emulator.invoke_url, "testkit", "hog") };
    assert!(emulator.configure(&hog, configured(128)).unwrap());
    assert!(!emulator.configure(&hog, configured(128)).unwrap(), "the same configuration is no change");
    assert!(emulator.environments(&hog).is_empty(), "an environment starts when an invocation needs one");
    let client = transport(&emulator);

    // 128 MB: 160 MB of task do not fit, though the setup says 1024.
    let err = client.send("hog", call("hog", r#"{"mb":160}"#, Sync)).await.expect_err("160 MB do not fit in 128");
    assert!(err.kind == ErrorKind::Trapped && err.message.contains(&format!("limit of {} bytes", 128 << 20)), "{err}");

    // An invocation in flight when the memory changes to 512 MB finishes in its environment…
    let holding = call("hog", r#"{"mb":1,"hold_ms":1500}"#, Sync);
    let held = holding.trace.trace_id.clone();
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { client.send("hog", holding).await }
    });
    wait_until("the invocation is in flight", || emulator.environments(&hog).first().is_some_and(|e| e.in_flight == 1)).await;
    assert!(emulator.configure(&hog, configured(512)).unwrap());
    // …while the next runs in a new environment of 512 MB, where 160 MB fit.
    let bigger = call("hog", r#"{"mb":160}"#, Sync);
    let after = bigger.trace.trace_id.clone();
    assert_eq!(client.send("hog", bigger).await.expect("160 MB fit in 512"), b"160");
    assert_eq!(in_flight.await.unwrap().expect("the invocation in flight completes"), b"1");
    wait_until("the retired environment stops once idle", || !emulator.environments(&hog)[0].running).await;

    // A change while the environment waits for its next invocation releases that wait: the
    // environment stops, and the next invocation starts one of 1024 MB.
    assert!(emulator.configure(&hog, configured(1024)).unwrap());
    wait_until("the idle retired environment stops", || !emulator.environments(&hog)[1].running).await;
    assert_eq!(emulator.environments(&hog).len(), 2, "none is started before an invocation needs it");
    let last = call("hog", r#"{"mb":1}"#, Sync);
    let last_trace = last.trace.trace_id.clone();
    assert_eq!(client.send("hog", last).await.unwrap(), b"1");

    let environments: Vec<_> = emulator.environments(&hog).into_iter().map(|e| (e.memory_mb, e.invocations, e.retired, e.running)).collect();
    assert_eq!(environments, [(Some(128), 2, true, false), (Some(512), 1, true, false), (Some(1024), 1, false, true)]);
    // Every record says the memory its environment was started with.
    let records = || -> Vec<(u32, Record)> { printed.lock().unwrap().iter().filter_map(|(mb, line)| Some((*mb, serde_json::from_str(line).ok()?))).collect() };
    let memory_of = |trace: &str| records().into_iter().find_map(|(_, r)| if let Record::Span(s) = r { (s.trace_id == trace).then_some(s.memory_mb) } else { None });
    wait_until("the last invocation's span is printed", || memory_of(&last_trace).is_some()).await;
    assert_eq!([memory_of(&held), memory_of(&after), memory_of(&last_trace)], [Some(128), Some(512), Some(1024)]);
    for (started_with, record) in records() {
        let recorded = match &record {
            Record::Span(span) => span.memory_mb,
            Record::Invocation(invocation) => invocation.memory_mb,
        };
        assert_eq!(recorded, started_with, "{record:?}");
    }
}
