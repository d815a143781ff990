//! Hosts in Lambda mode, unmodified `fusion-host` binaries started the way Lambda starts a custom
//! runtime, against the local Lambda stand-in (`fusion_lambda::emulator`): invocations through
//! the Runtime API, calls between functions through the Invoke API, sync and async, setups and
//! components from the store, telemetry as CloudWatch lines and as batches in the store, and
//! spans to an OpenTelemetry collector flushed before each environment freezes.


use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fusion_test_artifacts::*;
use fusion_cluster::store::{self, OpenStore};
use fusion_optimizer::pricing::Pricing;
use fusion_cluster::publish;
use fusion_measure::extract;
use fusion_host::router::{Transport, group};
use fusion_host::telemetry::Record;
use fusion_host::{Call, CallMode, ErrorKind, TraceContext};
use fusion_lambda::aws_api::AwsClient;
use fusion_lambda::emulator::LambdaEmulator;
use fusion_lambda::invoke::{InvokeConfig, LambdaTransport};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use prost::Message;
use CallMode::{Async, Sync};

const PREFIX: &str = "fusion-test-";

/// A host in Lambda mode; its stdout (the CloudWatch lines) is collected.
struct LambdaHost {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Drop for LambdaHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `function` of `app` as Lambda would: no arguments, everything in the environment.
fn start_host(store: &OpenStore, emulator: &LambdaEmulator, app: &str, function: &str, env: &[(&str, &str)]) -> LambdaHost {
    let access = &store.access;
    let (key, secret) = access.keys.clone().expect("the private store has keys");
    let name = format!("{PREFIX}{function}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_fusion-host"));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api(&name).expect("the emulator knows the function"))
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("FUSION_STORE", &access.location)
        .env("FUSION_STORE_ENDPOINT", access.endpoint.as_deref().unwrap())
        .env("FUSION_LAMBDA_ENDPOINT", &emulator.invoke_url)
        .env("FUSION_APP", app)
        .env("FUSION_FUNCTION", function)
        .env("FUSION_FUNCTION_PREFIX", PREFIX)
        .env("FUSION_ARTIFACT_KEY", access.artifact_key.as_deref().unwrap())
        .env("TMPDIR", std::env::temp_dir())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("fusion-host starts");
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let lines = stdout.clone();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            lines.lock().unwrap().push(line);
        }
    });
    LambdaHost { child, stdout }
}

/// A private store with `app` pushed and `setup` applied, and an emulator knowing its functions.
async fn deployed(app: &str, setup: &str, dir: &std::path::Path) -> (OpenStore, LambdaEmulator, Vec<String>) {
    let store = store::private(&dir.join("s3")).await.unwrap();
    publish::upload(&project(app), &store.store).await.unwrap();
    let manifest = manifest(app);
    publish::pin_and_apply(&store.store, fusion_test_artifacts::setup(&manifest.app, setup)).await.unwrap();
    // As on AWS: a Lambda function per task, each serving the group the setup gives it.
    let functions: Vec<String> = manifest.task_names().into_iter().collect();
    let names: Vec<String> = functions.iter().map(|f| format!("{PREFIX}{f}")).collect();
    let emulator = LambdaEmulator::start(&names).await.unwrap();
    (store, emulator, functions)
}

/// The caller's side: the same Invoke transport the hosts use, with test credentials.
fn transport(emulator: &LambdaEmulator) -> Arc<LambdaTransport> {
    let config = InvokeConfig {
        endpoint: emulator.invoke_url.clone(),
        region: "us-east-1".into(),
        function_prefix: PREFIX.into(),
        timeout: Duration::from_secs(60),
    };
    LambdaTransport::new(config, test_credentials()).unwrap()
}

fn test_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("AKIDFUSIONTEST", "test-secret", None, None, "test"))
}

fn call(task: &str, payload: &str, mode: CallMode) -> Call {
    Call { task: task.into(), payload: payload.as_bytes().to_vec(), mode, trace: TraceContext::new_request() }
}

/// An OTLP/HTTP receiver on loopback that keeps every span sent to it, decoded with the
/// protocol's own messages; returns its base URL.
async fn otlp_receiver() -> (String, Arc<Mutex<Vec<OtlpSpan>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let kept = spans.clone();
    let receive = move |body: axum::body::Bytes| {
        let kept = kept.clone();
        async move {
            let request = ExportTraceServiceRequest::decode(body).expect("an OTLP export request");
            let received = request.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans);
            kept.lock().unwrap().extend(received);
            ExportTraceServiceResponse::default().encode_to_vec()
        }
    };
    let app = axum::Router::new().route("/v1/traces", axum::routing::post(receive));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, spans)
}

fn records_of(hosts: &[LambdaHost]) -> Vec<Record> {
    hosts.iter().flat_map(|h| h.stdout.lock().unwrap().clone()).filter_map(|line| serde_json::from_str(&line).ok()).collect()
}

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
