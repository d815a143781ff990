//! Starting hosts the way Lambda starts a custom runtime, against the emulator and a private
//! store, and collecting what they write and export.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fusion_test_artifacts::*;
use fusion_cluster::store::{self, OpenStore};
use fusion_cluster::publish;
use fusion_host::telemetry::Record;
use fusion_host::{Call, CallMode, FusionSetup, TraceContext};
use fusion_lambda::emulator::LambdaEmulator;
use fusion_lambda::invoke::{InvokeConfig, LambdaTransport};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use prost::Message;

pub const PREFIX: &str = "fusion-test-";

/// A host in Lambda mode; its stdout (the CloudWatch lines) is collected.
pub struct LambdaHost {
    pub child: Child,
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl Drop for LambdaHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The variables `fusion deploy aws` gives the Lambda function of `function`, for the private
/// store and the emulator's Invoke API.
pub fn fusion_variables(store: &OpenStore, invoke_url: &str, app: &str, function: &str) -> BTreeMap<String, String> {
    let access = &store.access;
    BTreeMap::from([
        ("FUSION_STORE", access.location.as_str()),
        ("FUSION_STORE_ENDPOINT", access.endpoint.as_deref().unwrap()),
        ("FUSION_LAMBDA_ENDPOINT", invoke_url),
        ("FUSION_APP", app),
        ("FUSION_FUNCTION", function),
        ("FUSION_FUNCTION_PREFIX", PREFIX),
        ("FUSION_ARTIFACT_KEY", access.artifact_key.as_deref().unwrap()),
    ])
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// What Lambda gives an environment besides its configuration: the role's credentials (here the
/// private store's keys), and a writable temporary folder.
pub fn role(store: &OpenStore) -> Vec<(&'static str, String)> {
    let (key, secret) = store.access.keys.clone().expect("the private store has keys");
    vec![("AWS_ACCESS_KEY_ID", key), ("AWS_SECRET_ACCESS_KEY", secret), ("TMPDIR", std::env::temp_dir().display().to_string())]
}

/// Hands every line a host prints on stdout (the CloudWatch lines) to `keep`.
pub fn collect(child: &mut Child, mut keep: impl FnMut(String) + Send + 'static) {
    let out = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || std::io::BufReader::new(out).lines().map_while(Result::ok).for_each(&mut keep));
}

/// Starts `function` of `app` as Lambda would: no arguments, everything in the environment.
pub fn start_host(store: &OpenStore, emulator: &LambdaEmulator, app: &str, function: &str, env: &[(&str, &str)]) -> LambdaHost {
    let name = format!("{PREFIX}{function}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_fusion-host"));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api(&name).expect("the emulator knows the function"))
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .envs(role(store))
        .envs(fusion_variables(store, &emulator.invoke_url, app, function))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("fusion-host starts");
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let lines = stdout.clone();
    collect(&mut child, move |line| lines.lock().unwrap().push(line));
    LambdaHost { child, stdout }
}

/// A private store with `app` pushed and `setup` applied; the Lambda names of its functions (as
/// on AWS, one per task, each serving the group the setup gives it) and their Fusion names.
pub async fn published(app: &str, setup: FusionSetup, dir: &std::path::Path) -> (OpenStore, Vec<String>, Vec<String>) {
    let store = store::private(&dir.join("s3")).await.unwrap();
    publish::upload(&project(app), &store.store).await.unwrap();
    publish::pin_and_apply(&store.store, setup).await.unwrap();
    let functions: Vec<String> = manifest(app).task_names().into_iter().collect();
    let names: Vec<String> = functions.iter().map(|f| format!("{PREFIX}{f}")).collect();
    (store, names, functions)
}

/// A private store with `app` pushed and `setup` applied, and an emulator knowing its functions.
pub async fn deployed(app: &str, setup: &str, dir: &std::path::Path) -> (OpenStore, LambdaEmulator, Vec<String>) {
    let (store, names, functions) = published(app, fusion_test_artifacts::setup(&manifest(app).app, setup), dir).await;
    let emulator = LambdaEmulator::start(&names).await.unwrap();
    (store, emulator, functions)
}

/// The caller's side: the same Invoke transport the hosts use, with test credentials.
pub fn transport(emulator: &LambdaEmulator) -> Arc<LambdaTransport> {
    let config = InvokeConfig {
        endpoint: emulator.invoke_url.clone(),
        region: "us-east-1".into(),
        function_prefix: PREFIX.into(),
        timeout: Duration::from_secs(60),
    };
    LambdaTransport::new(config, test_credentials()).unwrap()
}

pub fn test_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("AKIDFUSIONTEST", "test-secret", None, None, "test"))
}

pub fn call(task: &str, payload: &str, mode: CallMode) -> Call {
    Call { task: task.into(), payload: payload.as_bytes().to_vec(), mode, trace: TraceContext::new_request() }
}

/// An OTLP/HTTP receiver on loopback that keeps every span sent to it, decoded with the
/// protocol's own messages; returns its base URL.
pub async fn otlp_receiver() -> (String, Arc<Mutex<Vec<OtlpSpan>>>) {
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

/// Waits until `condition` holds; fails saying `what` did not happen after a minute.
pub async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < until, "{what}: not within a minute");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn records_of(hosts: &[LambdaHost]) -> Vec<Record> {
    hosts.iter().flat_map(|h| h.stdout.lock().unwrap().clone()).filter_map(|line| serde_json::from_str(&line).ok()).collect()
}
