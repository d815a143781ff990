//! The lifecycle of the emulator's execution environments: opened with a Runtime API of their
//! own, started when an invocation needs one, retired by a configuration change, stopped once
//! retired and idle, replaced when their process exits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::function::{Environment, Function, Pending};
use super::{Configuration, Launch, REGION, Shared, runtime_api};
use crate::front_end::vars;

/// How often a launched environment's process is looked at: exited, or retired and idle.
const WATCH_EVERY: Duration = Duration::from_millis(50);

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
