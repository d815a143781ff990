//! The emulator's functions and their execution environments: each function's queue and
//! configuration, an environment's Runtime API and process, and their lifecycle — started when an
//! invocation needs one, retired by a configuration change, stopped once retired and idle,
//! replaced when its process exits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Child;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Configuration, EnvironmentState, Launch, REGION, Shared, runtime_api};
use crate::front_end::vars;

/// How often a launched environment's process is looked at: exited, or retired and idle.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// How an invocation ended, as the Runtime API heard it.
#[derive(Debug)]
pub(super) enum Outcome {
    Response(Bytes),
    /// A function error: the body `{"errorType", "errorMessage"}`.
    Error(Bytes),
}

pub(super) struct Pending {
    pub(super) request_id: String,
    pub(super) event: Bytes,
    /// None for an `Event` invocation: nobody waits for it.
    pub(super) reply: Option<oneshot::Sender<Outcome>>,
}

/// One execution environment: its Runtime API and, when the emulator started it, its process.
pub(super) struct Environment {
    pub(super) runtime_api: SocketAddr,
    /// What it was started with; None when the caller started it.
    pub(super) configuration: Option<Configuration>,
    pub(super) in_flight: Mutex<HashMap<String, Option<oneshot::Sender<Outcome>>>>,
    pub(super) invocations: AtomicU64,
    /// Cancelled when it is retired: it gets no more invocations.
    pub(super) retired: CancellationToken,
    /// Cancelled once its process is gone: its Runtime API closes.
    pub(super) stopped: CancellationToken,
    pub(super) process: Mutex<Option<Child>>,
}

impl Environment {
    /// Kills and reaps its process, if it has one left.
    pub(super) fn stop(&self) {
        if let Some(mut child) = self.process.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stopped.cancel();
    }

    pub(super) fn state(&self) -> EnvironmentState {
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
pub(super) struct Function {
    pub(super) name: String,
    pub(super) arn: String,
    pub(super) queue: mpsc::UnboundedSender<Pending>,
    /// Shared by its environments: whichever asks next gets the next invocation.
    pub(super) next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    /// Invocations in the queue, not yet handed to an environment.
    pub(super) queued: AtomicUsize,
    /// The error its runtime reported at init, if it did.
    pub(super) init_error: Mutex<Option<Bytes>>,
    /// What its environments are started with (when the emulator starts them).
    pub(super) configuration: Mutex<Option<Configuration>>,
    /// The environment invocations go to; None until one is needed (when the emulator starts
    /// them). Locked before `configuration`.
    pub(super) current: Mutex<Option<Arc<Environment>>>,
    /// Every environment it had, oldest first.
    pub(super) environments: Mutex<Vec<Arc<Environment>>>,
}

/// Opens an environment of `function`: its Runtime API, on a loopback port of its own.
pub(super) fn open_environment(function: &Arc<Function>, configuration: Option<Configuration>) -> std::io::Result<Arc<Environment>> {
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
    let app = runtime_api::router(function.clone(), environment.clone());
    let stopped = environment.stopped.clone();
    tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped.cancelled_owned()).await });
    function.environments.lock().unwrap().push(environment.clone());
    Ok(environment)
}

impl Shared {
    pub(super) fn configure(self: &Arc<Self>, function: &Arc<Function>, configuration: Configuration) -> bool {
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
    pub(super) fn enqueue(self: &Arc<Self>, function: &Arc<Function>, pending: Pending) -> std::io::Result<()> {
        function.queued.fetch_add(1, Ordering::SeqCst);
        let _ = function.queue.send(pending);
        self.ensure_environment(function)
    }

    /// Starts an environment of the function when it has none, the emulator starts them, and it
    /// has a configuration and no init error.
    pub(super) fn ensure_environment(self: &Arc<Self>, function: &Arc<Function>) -> std::io::Result<()> {
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
