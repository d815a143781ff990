//! A function's host as a Lambda custom runtime. The binary is the same `fusion-host`; it runs
//! this way when Lambda starts it (as `bootstrap`, with `AWS_LAMBDA_RUNTIME_API` set and no
//! arguments). Everything else comes from the function's environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `FUSION_STORE` | `s3://BUCKET[/PREFIX]`: the store with the app's setups and components |
//! | `FUSION_APP`, `FUSION_FUNCTION` | the application, and the Fusion function this Lambda function serves |
//! | `FUSION_FUNCTION_PREFIX` | the Lambda name of Fusion function `F` is `{prefix}F` (default empty) |
//! | `FUSION_ARTIFACT_KEY` | the key that seals precompiled artifacts in the store (optional) |
//! | `FUSION_KV_TABLE` | the DynamoDB table of the app's key-value stores (set by `fusion deploy aws`) |
//! | `FUSION_STORE_ENDPOINT`, `FUSION_LAMBDA_ENDPOINT`, `FUSION_KV_ENDPOINT` | S3, Lambda and DynamoDB endpoints other than AWS's (for emulators) |
//! | `FUSION_TELEMETRY_BATCH_MS` | write telemetry to the store once its oldest record is this old (default 10 s) |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, … | also export spans to an OpenTelemetry collector (`fusion-otlp`), flushed at the end of each invocation |
//!
//! Of the variables Lambda itself sets, the host reads `AWS_LAMBDA_RUNTIME_API`, `AWS_REGION` and
//! `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`: the environment's memory is the function's configured size,
//! which is what its invocations get and record, even while the store's setup names another (a
//! setup applied to the store before the function's configuration caught up).
//!
//! Init loads the current setup and the group's components from the store (precompiled artifacts
//! cached in /tmp and sealed in the store). A failed init is reported on the Runtime API's
//! init-error endpoint; a failed invocation on its invocation-error endpoint, typed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fusion_host::platform::Platform;
use fusion_host::kv::KvBackend;
use fusion_host::metrics::ExportCounters;
use fusion_host::telemetry::{RecordSink, Tee};
use fusion_host::{CallError, ErrorKind, FunctionHost, Runtime, RuntimeConfig, TraceContext};
use fusion_otlp::{OtlpConfig, OtlpSink};
use fusion_store::seal::ArtifactSeal;
use fusion_store::source::StoreSource;
use fusion_store::{Store, StoreConfig};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use tokio_util::task::TaskTracker;

use fusion_store::aws_api::AwsClient;
use crate::dynamodb::DynamoKv;
use crate::event;
use crate::invoke::{InvokeConfig, LambdaTransport};
use crate::telemetry::LambdaSink;

/// The names of the environment variables above, for whoever sets them (`fusion deploy aws`).
pub mod vars {
    /// The store with the app's setups and components, `s3://BUCKET[/PREFIX]`.
    pub const STORE: &str = "FUSION_STORE";
    /// The application the function belongs to.
    pub const APP: &str = "FUSION_APP";
    /// The Fusion function this Lambda function serves.
    pub const FUNCTION: &str = "FUSION_FUNCTION";
    /// Prefix of Lambda function names: Fusion function `F` is `{prefix}F` (default empty).
    pub const FUNCTION_PREFIX: &str = "FUSION_FUNCTION_PREFIX";
    /// The key sealing artifacts in the store; unset, they are neither trusted nor published.
    pub const ARTIFACT_KEY: &str = "FUSION_ARTIFACT_KEY";
    /// The DynamoDB table of the app's key-value stores (set by `fusion deploy aws`).
    pub const KV_TABLE: &str = "FUSION_KV_TABLE";
    /// An S3 endpoint other than AWS's (an emulator's).
    pub const STORE_ENDPOINT: &str = "FUSION_STORE_ENDPOINT";
    /// A DynamoDB endpoint other than AWS's (an emulator's).
    pub const KV_ENDPOINT: &str = "FUSION_KV_ENDPOINT";
    /// An Invoke API endpoint other than AWS's (an emulator's).
    pub const LAMBDA_ENDPOINT: &str = "FUSION_LAMBDA_ENDPOINT";
    /// Telemetry goes to the store once its oldest record is this old, ms (default 10 s).
    pub const TELEMETRY_BATCH_MS: &str = "FUSION_TELEMETRY_BATCH_MS";

    /// Set by Lambda (and by its stand-in, `crate::emulator`): the Runtime API, `host:port`.
    pub const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";
    /// Set by Lambda: the function's name.
    pub const FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
    /// Set by Lambda: the function's version (`$LATEST`).
    pub const FUNCTION_VERSION: &str = "AWS_LAMBDA_FUNCTION_VERSION";
    /// Set by Lambda: the function's configured memory size, MB, which the environment has.
    pub const MEMORY_SIZE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    /// Set by Lambda: the region the function runs in.
    pub const REGION: &str = "AWS_REGION";
}

/// The store's current setup is looked up at most this often, at the start of an invocation (a
/// frozen environment cannot poll).
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// Where precompiled artifacts are cached: the only writable place on Lambda.
const ARTIFACTS_DIR: &str = "/tmp/fusion-artifacts";

/// True when Lambda started this process: the Runtime API is set and no command was given.
pub fn started_by_lambda() -> bool {
    std::env::var_os(vars::RUNTIME_API).is_some() && std::env::args_os().len() == 1
}

/// Rewrites `AWS_LAMBDA_RUNTIME_API` to the `host:port` form Lambda gives and lambda_runtime
/// expects, from the `http://host:port/` form some emulators (cargo lambda) give.
///
/// # Safety
/// It sets an environment variable: call it before the process starts a second thread.
pub unsafe fn normalize_runtime_api() {
    let Ok(api) = std::env::var(vars::RUNTIME_API) else { return };
    let bare = api.strip_prefix("http://").unwrap_or(&api).trim_end_matches('/');
    if bare != api {
        // SAFETY: the caller guarantees no other thread reads the environment meanwhile.
        unsafe { std::env::set_var(vars::RUNTIME_API, bare) };
    }
}

/// The function's settings, read from its environment.
struct Settings {
    store: String,
    app: String,
    function: String,
    function_prefix: String,
    region: String,
    store_endpoint: Option<String>,
    lambda_endpoint: Option<String>,
    artifact_key: Option<String>,
    kv_table: Option<String>,
    kv_endpoint: Option<String>,
    telemetry_batch_age: Duration,
    /// The environment's memory, as Lambda configured the function (None outside Lambda).
    memory_mb: Option<u32>,
}

impl Settings {
    fn from_env() -> Result<Settings> {
        let required = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()).with_context(|| format!("{name} is not set"));
        let optional = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Settings {
            store: required(vars::STORE)?,
            app: required(vars::APP)?,
            function: required(vars::FUNCTION)?,
            function_prefix: optional(vars::FUNCTION_PREFIX).unwrap_or_default(),
            region: optional(vars::REGION).unwrap_or_else(|| "us-east-1".into()),
            store_endpoint: optional(vars::STORE_ENDPOINT),
            lambda_endpoint: optional(vars::LAMBDA_ENDPOINT),
            artifact_key: optional(vars::ARTIFACT_KEY),
            kv_table: optional(vars::KV_TABLE),
            kv_endpoint: optional(vars::KV_ENDPOINT),
            telemetry_batch_age: match optional(vars::TELEMETRY_BATCH_MS) {
                Some(ms) => Duration::from_millis(ms.parse().with_context(|| format!("{} '{ms}' is not a number", vars::TELEMETRY_BATCH_MS))?),
                None => crate::telemetry::BATCH_AGE,
            },
            memory_mb: match optional(vars::MEMORY_SIZE) {
                Some(mb) => Some(mb.parse().with_context(|| format!("{} '{mb}' is not a number of MB", vars::MEMORY_SIZE))?),
                None => None,
            },
        })
    }
}

/// What every invocation of this environment shares.
struct Function {
    host: Arc<FunctionHost>,
    store: Store,
    sink: Arc<LambdaSink>,
    /// Exports spans to an OpenTelemetry collector, when one is configured.
    otlp: Option<Arc<OtlpSink>>,
    settings: Settings,
    /// Names this environment's telemetry batches.
    environment: String,
    last_refresh: Mutex<Instant>,
}

/// Runs the function until Lambda stops it. An init failure is reported to Lambda first.
pub async fn run() -> Result<()> {
    let started = Instant::now();
    let function = match init().await {
        Ok(function) => {
            // What Lambda's init of this environment took, as far as the host saw it.
            function.host.started_in(started.elapsed());
            Arc::new(function)
        }
        Err(err) => {
            report_init_error(&err).await;
            return Err(err);
        }
    };
    let handler = service_fn(move |event: LambdaEvent<Incoming>| {
        let function = function.clone();
        async move { function.invoke(event.payload).await }
    });
    lambda_runtime::run(handler).await.map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

async fn init() -> Result<Function> {
    let settings = Settings::from_env()?;
    let store_config = StoreConfig::at(&settings.store, settings.store_endpoint.clone(), &settings.region)?;
    let store = Store::connect(&store_config).await.with_context(|| format!("cannot reach the store {}", settings.store))?;
    // The store's credentials sign every other call too: the chain is read, and fetches, once.
    let credentials = store.credentials();
    // Lambda paces the CPU and starts environments itself: nothing is emulated.
    let config = RuntimeConfig { platform: Platform::AWS, pace_cpu: false, memory_mb: settings.memory_mb, ..RuntimeConfig::default() };
    let mut invoke = InvokeConfig::aws(&settings.region, &settings.function_prefix, config.deadline);
    if let Some(endpoint) = &settings.lambda_endpoint {
        invoke.endpoint = endpoint.clone();
    }
    let kv = match &settings.kv_table {
        Some(table) => {
            let endpoint = settings.kv_endpoint.clone().unwrap_or_else(|| DynamoKv::aws_endpoint(&settings.region));
            let client = AwsClient::new(credentials.clone(), &settings.region, config.deadline)?;
            Some(DynamoKv::new(client, &endpoint, table) as Arc<dyn KvBackend>)
        }
        None => None,
    };
    let transport = LambdaTransport::new(invoke, credentials)?;
    let runtime = Runtime::new(std::path::Path::new(ARTIFACTS_DIR), config)?;
    let seal = settings.artifact_key.as_deref().map(ArtifactSeal::new);
    let routers = StoreSource::new(store.clone(), &settings.app, &settings.function, runtime.clone(), transport, seal).follow().await?;
    let sink = Arc::new(LambdaSink::new(settings.telemetry_batch_age));
    let otlp = OtlpConfig::from_env(&settings.app).map_err(anyhow::Error::msg)?.map(|config| OtlpSink::start(config, Some(&settings.function), ExportCounters::default()));
    let mut sinks: Vec<Arc<dyn RecordSink>> = vec![sink.clone()];
    if let Some(otlp) = &otlp {
        sinks.push(otlp.clone());
    }
    let host = FunctionHost::new(runtime, routers, Arc::new(Tee(sinks)), TaskTracker::new(), kv);
    let environment = TraceContext::new_request().trace_id;
    Ok(Function { host, store, sink, otlp, settings, environment, last_refresh: Mutex::new(Instant::now()) })
}

/// An invocation's event as Lambda delivered it. lambda_runtime refuses an event that does not
/// deserialize with an error type naming a Rust type; reading any bytes as this type instead lets
/// the function refuse a non-JSON or empty event with a `Fusion.Rejected` error of its own.
pub enum Incoming {
    /// A JSON event.
    Json(Value),
    /// Bytes that are not JSON, and why.
    Malformed(String),
}

impl<'de> serde::Deserialize<'de> for Incoming {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Incoming, D::Error> {
        Ok(match Value::deserialize(deserializer) {
            Ok(event) => Incoming::Json(event),
            Err(why) => Incoming::Malformed(why.to_string()),
        })
    }
}

impl Function {
    async fn invoke(&self, event: Incoming) -> Result<Value, Failure> {
        let event = match event {
            Incoming::Json(event) => event,
            Incoming::Malformed(why) => return Err(Failure(CallError::new(ErrorKind::Rejected, format!("the event is not JSON: {why}")))),
        };
        self.refresh_if_due().await;
        let url = event::is_function_url(&event);
        let (call, origin) = match event::decode_event(&self.host.name, event) {
            Ok(decoded) => decoded,
            Err(error) if url => return Ok(event::encode_url_error(&error)),
            Err(error) => return Err(Failure(error)),
        };
        let result = self.host.invoke(call).await;
        // Lambda freezes the environment once the answer is sent: the invocation's fused async
        // work must end first, and its telemetry go out.
        let work = self.host.work();
        work.close();
        work.wait().await;
        work.reopen();
        let s = &self.settings;
        self.sink.flush(&self.store, &s.app, &s.function, &self.environment, false).await;
        if let Some(otlp) = &self.otlp {
            otlp.flush().await;
        }
        match result {
            Ok(output) => Ok(event::encode_reply(&output, origin)),
            Err(error) if origin == event::Origin::FunctionUrl => Ok(event::encode_url_error(&error)),
            Err(error) => Err(Failure(error)),
        }
    }

    /// Takes up a setup applied since the last look; a refused one leaves the current serving.
    async fn refresh_if_due(&self) {
        {
            let mut last = self.last_refresh.lock().unwrap();
            if last.elapsed() < REFRESH_EVERY {
                return;
            }
            *last = Instant::now();
        }
        if let Err(err) = self.host.routers().refresh().await {
            tracing::error!("keeping setup version {}: {err:#}", self.host.routers().current().setup.version);
        }
    }
}

/// A failed invocation, reported to Lambda with its kind as the error type.
#[derive(Debug)]
pub struct Failure(CallError);

impl From<Failure> for Diagnostic {
    fn from(failure: Failure) -> Diagnostic {
        Diagnostic { error_type: event::error_type(failure.0.kind), error_message: failure.0.message }
    }
}

/// `POST /runtime/init/error`: Lambda then fails the pending invocation with this error and
/// retires the environment.
async fn report_init_error(err: &anyhow::Error) {
    let Ok(api) = std::env::var(vars::RUNTIME_API) else { return };
    let body = serde_json::json!({ "errorType": "Fusion.InitError", "errorMessage": format!("{err:#}"), "stackTrace": [] });
    let sent = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", "Fusion.InitError")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    if let Err(e) = sent {
        tracing::error!("could not report the init error to the Runtime API: {e}");
    }
}
