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

mod environments;
mod function;
mod invoke_api;
mod runtime_api;

use std::collections::BTreeMap;
use std::process::Child;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use fusion_store::aws_api::AwsClient;
use environments::open_environment;
use function::Function;

/// The region of the emulated functions (their ARNs, `AWS_REGION`).
const REGION: &str = "us-east-1";

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
            .route("/2015-03-31/functions/{name}/invocations", post(invoke_api::invoke))
            .route("/url/{name}/", post(invoke_api::function_url))
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
