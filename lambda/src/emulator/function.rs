//! What the emulator keeps per function and per execution environment: a function's queue,
//! configuration and environments; an environment's Runtime API address, process and
//! invocations in flight. Their lifecycle is in `environments`, their Runtime API in
//! `runtime_api`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Child;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Configuration, EnvironmentState};

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
