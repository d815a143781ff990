//! A local stand-in for the Lambda service, enough to run unmodified hosts in Lambda mode on one
//! machine: the Invoke API (`RequestResponse` and `Event`) on one port, and for every execution
//! environment a Runtime API (next, response, invocation error, init error) on a port of its own,
//! which is what `AWS_LAMBDA_RUNTIME_API` points a host at. A function has one environment at a
//! time: its invocations queue and run one at a time, as in one Lambda execution environment.
//! Every function also has a Function URL with auth type NONE, `{invoke_url}/url/{function}/`: an
//! HTTP request there becomes a payload format 2.0 event, and the `{statusCode, headers, body}`
//! the function answers becomes the HTTP response (a function error answers 502, as on Lambda).
//!
//! Environments come one of two ways:
//! - [`LambdaEmulator::start`]: one per function for the whole run, whose process the caller
//!   starts, pointed at [`LambdaEmulator::runtime_api`].
//! - [`LambdaEmulator::launching`]: the emulator starts them itself, through a [`Launcher`], from
//!   each function's [`Configuration`] (memory size, timeout, environment variables), given with
//!   [`LambdaEmulator::configure`] or read from a Lambda control plane (moto's, say) with
//!   [`LambdaEmulator::follow`]. As on Lambda, an environment is started when an invocation needs
//!   one, with the configuration's variables and those Lambda sets (`AWS_LAMBDA_RUNTIME_API`,
//!   `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, …). A configuration change retires the function's
//!   environment: new invocations run in a new one started with the new configuration, an
//!   invocation already running in the old one finishes there, and then the old process is
//!   stopped. A retired environment's waiting `next` no longer holds the function's queue, and
//!   gets no answer (as on Lambda) until its process is stopped. An environment whose process
//!   exits fails the invocation it was running (`Runtime.ExitError`) and is replaced when an
//!   invocation needs one.
//!
//! What it does not do: it checks that Invoke requests carry a SigV4 `Authorization` header but
//! does not verify the signature; it has no AWS_IAM Function URLs; it runs one environment per
//! function at a time (no scaling: invocations queue); it freezes no environment and retires none
//! for idleness; a reported init error stays the function's answer until its configuration
//! changes (Lambda tries a new environment at the next invocation); it enforces no timeouts (the
//! deadline it gives a runtime is the configured timeout's) or payload limits; it gives the
//! environments no credentials (the launcher does, as Lambda gives the role's).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::Child;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::aws_api::AwsClient;
use crate::front_end::vars;

/// The region of the emulated functions (their ARNs, `AWS_REGION`).
const REGION: &str = "us-east-1";

/// How often a launched environment's process is looked at: exited, or retired and idle.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// A function's configuration as the Lambda control plane has it: what its environments are
/// started with. Any change starts a new environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// `MemorySize`, MB: the environment's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// `Timeout`, seconds: sets the deadline each invocation is given (not enforced).
    pub timeout_s: u32,
    /// `Environment.Variables`.
    pub environment: BTreeMap<String, String>,
}

impl Configuration {
    /// The configuration in a function's description as the Lambda API gives it
    /// (`GetFunction`'s `Configuration`, an item of `ListFunctions`' `Functions`), with Lambda's
    /// defaults for what it leaves out; None if it is not one.
    pub fn from_lambda(configuration: &Value) -> Option<Configuration> {
        configuration.get("FunctionName")?;
        let environment = configuration["Environment"]["Variables"]
            .as_object()
            .map(|vars| vars.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        Some(Configuration {
            memory_mb: configuration["MemorySize"].as_u64().map_or(128, |mb| mb as u32),
            timeout_s: configuration["Timeout"].as_u64().map_or(3, |s| s as u32),
            environment,
        })
    }
}

/// What one execution environment is started with.
pub struct Launch<'a> {
    /// The function's name.
    pub function: &'a str,
    /// Its configuration.
    pub configuration: &'a Configuration,
    /// The process's environment: the configuration's variables and, over them, those Lambda sets
    /// (the Runtime API, the function's name, version and memory size, the region).
    pub variables: BTreeMap<String, String>,
    /// The emulator's Invoke API, for a launcher whose functions' calls must reach it while their
    /// configuration names another Lambda endpoint (one emulator of AWS's APIs for all, moto's).
    pub invoke_url: &'a str,
}

/// Starts the process of an execution environment (a host in Lambda mode), given what to start
/// it with; the emulator stops it (kills it) when the environment is retired and idle, or when
/// the emulator is dropped. Its output is the launcher's to take.
pub type Launcher = Arc<dyn Fn(&Launch<'_>) -> std::io::Result<Child> + Send + Sync>;

/// One execution environment as it is now, for whoever watches the emulator.
#[derive(Debug, Clone)]
pub struct EnvironmentState {
    /// The memory size it was started with; None for an environment the caller started.
    pub memory_mb: Option<u32>,
    /// Its Runtime API, `host:port`.
    pub runtime_api: String,
    /// Invocations handed to it so far.
    pub invocations: u64,
    /// Invocations it is running now.
    pub in_flight: usize,
    /// No longer given invocations.
    pub retired: bool,
    /// Its process runs (for one the caller started: it is not retired).
    pub running: bool,
}

/// How an invocation ended, as the Runtime API heard it.
#[derive(Debug)]
enum Outcome {
    Response(Bytes),
    /// A function error: the body `{"errorType", "errorMessage"}`.
    Error(Bytes),
}

struct Pending {
    request_id: String,
    event: Bytes,
    /// None for an `Event` invocation: nobody waits for it.
    reply: Option<oneshot::Sender<Outcome>>,
}

/// One execution environment: its Runtime API and, when the emulator started it, its process.
struct Environment {
    runtime_api: SocketAddr,
    /// What it was started with; None when the caller started it.
    configuration: Option<Configuration>,
    in_flight: Mutex<HashMap<String, Option<oneshot::Sender<Outcome>>>>,
    invocations: AtomicU64,
    /// Cancelled when it is retired: it gets no more invocations.
    retired: CancellationToken,
    /// Cancelled once its process is gone: its Runtime API closes.
    stopped: CancellationToken,
    process: Mutex<Option<Child>>,
}

impl Environment {
    /// Kills and reaps its process, if it has one left.
    fn stop(&self) {
        if let Some(mut child) = self.process.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stopped.cancel();
    }

    fn state(&self) -> EnvironmentState {
        let running = match self.process.lock().unwrap().as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => self.configuration.is_none() && !self.retired.is_cancelled(),
        };
        EnvironmentState {
            memory_mb: self.configuration.as_ref().map(|c| c.memory_mb),
            runtime_api: self.runtime_api.to_string(),
            invocations: self.invocations.load(Ordering::Relaxed),
            in_flight: self.in_flight.lock().unwrap().len(),
            retired: self.retired.is_cancelled(),
            running,
        }
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One function: its queue, its configuration and its environments.
struct Function {
    name: String,
    arn: String,
    queue: mpsc::UnboundedSender<Pending>,
    /// Shared by its environments: whichever asks next gets the next invocation.
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    /// Invocations in the queue, not yet handed to an environment.
    queued: AtomicUsize,
    /// The error its runtime reported at init, if it did.
    init_error: Mutex<Option<Bytes>>,
    /// What its environments are started with (when the emulator starts them).
    configuration: Mutex<Option<Configuration>>,
    /// The environment invocations go to; None until one is needed (when the emulator starts
    /// them). Locked before `configuration`.
    current: Mutex<Option<Arc<Environment>>>,
    /// Every environment it had, oldest first.
    environments: Mutex<Vec<Arc<Environment>>>,
}

/// What the Invoke API and the control-plane follower serve from.
struct Shared {
    invoke_url: String,
    functions: BTreeMap<String, Arc<Function>>,
    /// Request ids handed out.
    ids: AtomicU64,
    /// Starts environments; None: the caller does.
    launcher: Option<Launcher>,
}

/// A running emulator: the Invoke API and a Runtime API per environment, on loopback.
pub struct LambdaEmulator {
    /// Base URL of the Invoke API.
    pub invoke_url: String,
    shared: Arc<Shared>,
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl LambdaEmulator {
    /// Starts the Invoke API and one environment's Runtime API per function name, all on
    /// loopback; the caller starts each environment's process ([`LambdaEmulator::runtime_api`]).
    pub async fn start(function_names: &[String]) -> std::io::Result<LambdaEmulator> {
        let emulator = LambdaEmulator::open(function_names, None).await?;
        for function in emulator.shared.functions.values() {
            let environment = open_environment(function, None)?;
            *function.current.lock().unwrap() = Some(environment);
        }
        Ok(emulator)
    }

    /// Starts the Invoke API for these functions, whose environments `launcher` starts from their
    /// configuration ([`LambdaEmulator::configure`], [`LambdaEmulator::follow`]) when an
    /// invocation needs one; until a function has a configuration its invocations wait.
    pub async fn launching(function_names: &[String], launcher: Launcher) -> std::io::Result<LambdaEmulator> {
        LambdaEmulator::open(function_names, Some(launcher)).await
    }

    async fn open(function_names: &[String], launcher: Option<Launcher>) -> std::io::Result<LambdaEmulator> {
        let mut functions = BTreeMap::new();
        for name in function_names {
            let (queue, next) = mpsc::unbounded_channel();
            let function = Arc::new(Function {
                name: name.clone(),
                arn: format!("arn:aws:lambda:{REGION}:000000000000:function:{name}"),
                queue,
                next: tokio::sync::Mutex::new(next),
                queued: AtomicUsize::new(0),
                init_error: Mutex::default(),
                configuration: Mutex::default(),
                current: Mutex::default(),
                environments: Mutex::default(),
            });
            functions.insert(name.clone(), function);
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let invoke_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared { invoke_url: invoke_url.clone(), functions, ids: AtomicU64::new(0), launcher });
        let app = axum::Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .route("/url/{name}/", post(function_url))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(LambdaEmulator { invoke_url, shared, follower: Mutex::default() })
    }

    /// Sets a function's configuration, as UpdateFunctionConfiguration does; true if it changed.
    /// A change retires the function's environment (it finishes its invocation in flight, then
    /// its process is stopped) and the next invocation starts a new one. Only for an emulator
    /// that starts environments itself ([`LambdaEmulator::launching`]); call it on its runtime.
    pub fn configure(&self, function: &str, configuration: Configuration) -> anyhow::Result<bool> {
        anyhow::ensure!(self.shared.launcher.is_some(), "this emulator starts no environments: its caller does");
        let function = self.shared.functions.get(function).ok_or_else(|| anyhow::anyhow!("no function '{function}'"))?;
        Ok(self.shared.configure(function, configuration))
    }

    /// Follows the functions' configurations in a Lambda control plane at `endpoint` (moto's,
    /// say): its ListFunctions every `every`, through `client`, each change applied as by
    /// [`LambdaEmulator::configure`]. Functions it does not list keep theirs. Replaces the
    /// control plane followed before; stops when the emulator is dropped.
    pub fn follow(&self, client: AwsClient, endpoint: &str, every: Duration) -> anyhow::Result<()> {
        anyhow::ensure!(self.shared.launcher.is_some(), "this emulator starts no environments: its caller does");
        let shared = self.shared.clone();
        let url = format!("{}/2015-03-31/functions/", endpoint.trim_end_matches('/'));
        let follower = tokio::spawn(async move {
            loop {
                match list_functions(&client, &url).await {
                    Ok(listed) => {
                        for configuration in listed {
                            let Some(function) = configuration["FunctionName"].as_str().and_then(|name| shared.functions.get(name)) else { continue };
                            if let Some(configuration) = Configuration::from_lambda(&configuration) {
                                shared.configure(function, configuration);
                            }
                        }
                    }
                    Err(err) => tracing::warn!("the Lambda emulator cannot read the functions' configurations: {err:#}"),
                }
                tokio::time::sleep(every).await;
            }
        });
        if let Some(before) = self.follower.lock().unwrap().replace(follower) {
            before.abort();
        }
        Ok(())
    }

    /// The Function URL (auth NONE) of a function.
    pub fn function_url(&self, function: &str) -> String {
        format!("{}/url/{function}/", self.invoke_url)
    }

    /// The `AWS_LAMBDA_RUNTIME_API` value (host:port) of a function's current environment.
    pub fn runtime_api(&self, function: &str) -> Option<String> {
        let function = self.shared.functions.get(function)?;
        function.current.lock().unwrap().as_ref().map(|e| e.runtime_api.to_string())
    }

    /// The configuration a function's environments are started with, if it has one.
    pub fn configuration(&self, function: &str) -> Option<Configuration> {
        self.shared.functions.get(function)?.configuration.lock().unwrap().clone()
    }

    /// Every environment a function has had, oldest first.
    pub fn environments(&self, function: &str) -> Vec<EnvironmentState> {
        let Some(function) = self.shared.functions.get(function) else { return Vec::new() };
        function.environments.lock().unwrap().iter().map(|e| e.state()).collect()
    }

    /// The error a function's runtime reported at init, if any.
    pub fn init_error(&self, function: &str) -> Option<serde_json::Value> {
        let error = self.shared.functions.get(function)?.init_error.lock().unwrap().clone()?;
        Some(serde_json::from_slice(&error).unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&error).into())))
    }

    /// Invocations accepted so far.
    pub fn invocations(&self) -> u64 {
        self.shared.ids.load(Ordering::Relaxed)
    }
}

impl Drop for LambdaEmulator {
    /// Stops following the control plane and every environment's process it started.
    fn drop(&mut self) {
        if let Some(follower) = self.follower.lock().unwrap().take() {
            follower.abort();
        }
        for function in self.shared.functions.values() {
            for environment in function.environments.lock().unwrap().iter() {
                environment.retired.cancel();
                environment.stop();
            }
        }
    }
}

/// Every function ListFunctions gives, page after page.
async fn list_functions(client: &AwsClient, url: &str) -> anyhow::Result<Vec<Value>> {
    let mut functions = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page_url = match &marker {
            Some(marker) => reqwest::Url::parse_with_params(url, [("Marker", marker)])?.to_string(),
            None => url.to_string(),
        };
        let answer = client.send("lambda", "GET", &page_url, &[], Vec::new()).await?;
        anyhow::ensure!(answer.status == 200, "ListFunctions answered {}: {}", answer.status, String::from_utf8_lossy(&answer.body));
        let page: Value = serde_json::from_slice(&answer.body)?;
        functions.extend(page["Functions"].as_array().cloned().unwrap_or_default());
        match page["NextMarker"].as_str().filter(|m| !m.is_empty()) {
            Some(next) => marker = Some(next.to_string()),
            None => return Ok(functions),
        }
    }
}

/// Opens an environment of `function`: its Runtime API, on a loopback port of its own.
fn open_environment(function: &Arc<Function>, configuration: Option<Configuration>) -> std::io::Result<Arc<Environment>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let environment = Arc::new(Environment {
        runtime_api: listener.local_addr()?,
        configuration,
        in_flight: Mutex::default(),
        invocations: AtomicU64::new(0),
        retired: CancellationToken::new(),
        stopped: CancellationToken::new(),
        process: Mutex::default(),
    });
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(invocation_response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(Runtime { function: function.clone(), environment: environment.clone() });
    let stopped = environment.stopped.clone();
    tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped.cancelled_owned()).await });
    function.environments.lock().unwrap().push(environment.clone());
    Ok(environment)
}

impl Shared {
    fn configure(self: &Arc<Self>, function: &Arc<Function>, configuration: Configuration) -> bool {
        {
            let mut current = function.current.lock().unwrap();
            let mut have = function.configuration.lock().unwrap();
            if have.as_ref() == Some(&configuration) {
                return false;
            }
            *have = Some(configuration);
            // The new configuration may well start where the old one failed.
            *function.init_error.lock().unwrap() = None;
            if let Some(old) = current.take() {
                // It finishes its invocation in flight; its watcher stops it then.
                old.retired.cancel();
            }
        }
        if function.queued.load(Ordering::SeqCst) > 0
            && let Err(err) = self.ensure_environment(function)
        {
            tracing::warn!("the Lambda emulator cannot start an environment of {}: {err}", function.name);
        }
        true
    }

    /// Puts an invocation in the function's queue and makes sure an environment will take it.
    fn enqueue(self: &Arc<Self>, function: &Arc<Function>, pending: Pending) -> std::io::Result<()> {
        function.queued.fetch_add(1, Ordering::SeqCst);
        let _ = function.queue.send(pending);
        self.ensure_environment(function)
    }

    /// Starts an environment of the function when it has none, the emulator starts them, and it
    /// has a configuration and no init error.
    fn ensure_environment(self: &Arc<Self>, function: &Arc<Function>) -> std::io::Result<()> {
        let Some(launcher) = &self.launcher else { return Ok(()) };
        let mut current = function.current.lock().unwrap();
        if current.is_some() || function.init_error.lock().unwrap().is_some() {
            return Ok(());
        }
        let Some(configuration) = function.configuration.lock().unwrap().clone() else { return Ok(()) };
        let environment = open_environment(function, Some(configuration.clone()))?;
        let mut variables = configuration.environment.clone();
        let lambda = [
            (vars::RUNTIME_API, environment.runtime_api.to_string()),
            (vars::FUNCTION_NAME, function.name.clone()),
            (vars::FUNCTION_VERSION, "$LATEST".to_string()),
            (vars::MEMORY_SIZE, configuration.memory_mb.to_string()),
            (vars::REGION, REGION.to_string()),
            ("AWS_DEFAULT_REGION", REGION.to_string()),
        ];
        variables.extend(lambda.into_iter().map(|(k, v)| (k.to_string(), v)));
        let launched = launcher(&Launch { function: &function.name, configuration: &configuration, variables, invoke_url: &self.invoke_url });
        let child = match launched {
            Ok(child) => child,
            Err(err) => {
                environment.retired.cancel();
                environment.stopped.cancel();
                return Err(err);
            }
        };
        *environment.process.lock().unwrap() = Some(child);
        *current = Some(environment.clone());
        tokio::spawn(watch(self.clone(), function.clone(), environment));
        Ok(())
    }
}

/// Watches a launched environment: stops its process once it is retired and idle; when the
/// process exits on its own, fails its invocation in flight and forgets it.
async fn watch(shared: Arc<Shared>, function: Arc<Function>, environment: Arc<Environment>) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let exited = match environment.process.lock().unwrap().as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        };
        if exited {
            environment.retired.cancel();
            {
                let mut current = function.current.lock().unwrap();
                if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &environment)) {
                    *current = None;
                }
            }
            // Dropping the replies answers their callers `Runtime.ExitError`.
            environment.in_flight.lock().unwrap().clear();
            environment.stop();
            // Invocations waiting get a new environment.
            // (Not for one that never took an invocation: it would only fail again.)
            if function.queued.load(Ordering::SeqCst) > 0
                && environment.invocations.load(Ordering::Relaxed) > 0
                && let Err(err) = shared.ensure_environment(&function)
            {
                tracing::warn!("the Lambda emulator cannot start an environment of {}: {err}", function.name);
            }
            return;
        }
        // Checked under the lock `next` hands invocations out under: none is handed to it after.
        let idle = environment.in_flight.lock().unwrap().is_empty();
        if environment.retired.is_cancelled() && idle {
            environment.stop();
            return;
        }
    }
}

fn function_error(body: Bytes) -> Response {
    (StatusCode::OK, [("x-amz-function-error", "Unhandled")], body).into_response()
}

/// The function error of an invocation whose environment could not be started.
fn not_started(err: std::io::Error) -> Response {
    let body = serde_json::json!({ "errorType": "Runtime.InvalidEntrypoint", "errorMessage": format!("the environment did not start: {err}") });
    function_error(Bytes::from(body.to_string()))
}

fn service_error(status: StatusCode, error_type: &str, message: String) -> Response {
    let body = serde_json::json!({ "Type": "User", "message": message }).to_string();
    (status, [("x-amzn-errortype", error_type)], body).into_response()
}

impl Shared {
    fn request_id(&self) -> String {
        format!("req-{:08}", self.ids.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// A Function URL request (auth NONE): the HTTP request as a payload format 2.0 event, the
/// function's `{statusCode, headers, body}` as the HTTP response.
async fn function_url(State(shared): State<Arc<Shared>>, Path(name): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(function) = shared.functions.get(&name) else {
        return (StatusCode::NOT_FOUND, "no such Function URL").into_response();
    };
    if function.init_error.lock().unwrap().is_some() {
        return (StatusCode::BAD_GATEWAY, "the function failed").into_response();
    }
    let request_id = shared.request_id();
    let header_map: serde_json::Map<String, serde_json::Value> =
        headers.iter().filter_map(|(k, v)| Some((k.as_str().to_string(), serde_json::Value::String(v.to_str().ok()?.to_string())))).collect();
    let (text, base64) = match std::str::from_utf8(&body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &body), true),
    };
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "", "headers": header_map,
        "requestContext": { "http": { "method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1" }, "requestId": request_id },
        "body": text, "isBase64Encoded": base64,
    });
    let (reply, outcome) = oneshot::channel();
    if shared.enqueue(function, Pending { request_id, event: Bytes::from(event.to_string()), reply: Some(reply) }).is_err() {
        return (StatusCode::BAD_GATEWAY, "the function's environment did not start").into_response();
    }
    let Ok(Outcome::Response(answer)) = outcome.await else {
        return (StatusCode::BAD_GATEWAY, "the function failed").into_response();
    };
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&answer) else {
        return (StatusCode::BAD_GATEWAY, "the function's answer is not JSON").into_response();
    };
    let status = answer["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let content_type = answer["headers"]["content-type"].as_str().unwrap_or("application/json").to_string();
    (status, [(axum::http::header::CONTENT_TYPE, content_type)], answer["body"].as_str().unwrap_or_default().to_string()).into_response()
}

async fn invoke(State(shared): State<Arc<Shared>>, Path(name): Path<String>, headers: HeaderMap, event: Bytes) -> Response {
    let signed = headers.get("authorization").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed {
        return service_error(StatusCode::FORBIDDEN, "MissingAuthenticationTokenException", "the request is not signed with SigV4".into());
    }
    let Some(function) = shared.functions.get(&name) else {
        return service_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", format!("Function not found: {name}"));
    };
    if let Some(error) = function.init_error.lock().unwrap().clone() {
        return function_error(error);
    }
    let request_id = shared.request_id();
    match headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()).unwrap_or("RequestResponse") {
        "Event" => match shared.enqueue(function, Pending { request_id, event, reply: None }) {
            Ok(()) => StatusCode::ACCEPTED.into_response(),
            Err(err) => not_started(err),
        },
        "RequestResponse" => {
            let (reply, outcome) = oneshot::channel();
            if let Err(err) = shared.enqueue(function, Pending { request_id, event, reply: Some(reply) }) {
                return not_started(err);
            }
            match outcome.await {
                Ok(Outcome::Response(body)) => (StatusCode::OK, body).into_response(),
                Ok(Outcome::Error(body)) => function_error(body),
                // The runtime went away mid-invocation, or reported an init error meanwhile.
                Err(_) => match function.init_error.lock().unwrap().clone() {
                    Some(error) => function_error(error),
                    None => function_error(Bytes::from_static(br#"{"errorType":"Runtime.ExitError","errorMessage":"the runtime exited"}"#)),
                },
            }
        }
        other => service_error(StatusCode::BAD_REQUEST, "InvalidParameterValueException", format!("unknown invocation type '{other}'")),
    }
}

/// What an environment's Runtime API serves from.
#[derive(Clone)]
struct Runtime {
    function: Arc<Function>,
    environment: Arc<Environment>,
}

/// The answer to a retired environment's `next`: none, as Lambda gives none, until its process
/// is stopped (then an error, for a runtime still there to hear it).
async fn retired(environment: &Environment) -> Response {
    environment.stopped.cancelled().await;
    (StatusCode::GONE, r#"{"errorType":"Runtime.Retired","errorMessage":"this execution environment was retired"}"#).into_response()
}

async fn next_invocation(State(Runtime { function, environment }): State<Runtime>) -> Response {
    // A retired environment's runtime must not hold the queue: its wait ends when it is retired.
    let received = tokio::select! {
        biased;
        () = environment.retired.cancelled() => return retired(&environment).await,
        received = async { function.next.lock().await.recv().await } => received,
    };
    let Some(pending) = received else {
        return StatusCode::GONE.into_response();
    };
    {
        let mut in_flight = environment.in_flight.lock().unwrap();
        if environment.retired.is_cancelled() {
            // Retired while it was being handed over: the next environment takes it.
            drop(in_flight);
            let _ = function.queue.send(pending);
            return retired(&environment).await;
        }
        function.queued.fetch_sub(1, Ordering::SeqCst);
        environment.invocations.fetch_add(1, Ordering::Relaxed);
        in_flight.insert(pending.request_id.clone(), pending.reply);
    }
    let timeout_ms = environment.configuration.as_ref().map_or(900_000, |c| u128::from(c.timeout_s) * 1000);
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() + timeout_ms;
    let headers = [
        ("lambda-runtime-aws-request-id", pending.request_id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", function.arn.clone()),
        ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".to_string()),
        ("content-type", "application/json".to_string()),
    ];
    (StatusCode::OK, headers, pending.event).into_response()
}

fn finish(environment: &Environment, id: &str, outcome: Outcome) -> Response {
    match environment.in_flight.lock().unwrap().remove(id) {
        Some(reply) => {
            if let Some(reply) = reply {
                let _ = reply.send(outcome);
            }
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
        }
        None => (StatusCode::BAD_REQUEST, format!("no invocation '{id}' in flight")).into_response(),
    }
}

async fn invocation_response(State(runtime): State<Runtime>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&runtime.environment, &id, Outcome::Response(body))
}

async fn invocation_error(State(runtime): State<Runtime>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&runtime.environment, &id, Outcome::Error(body))
}

async fn init_error(State(Runtime { function, environment }): State<Runtime>, body: Bytes) -> Response {
    *function.init_error.lock().unwrap() = Some(body);
    // Like Lambda, fail what waits for this environment: its invocation in flight and the queue.
    environment.in_flight.lock().unwrap().clear();
    tokio::spawn(async move {
        let mut queue = function.next.lock().await;
        while let Ok(pending) = queue.try_recv() {
            function.queued.fetch_sub(1, Ordering::SeqCst);
            drop(pending);
        }
    });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}
