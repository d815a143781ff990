//! The router of one function: which tasks run in this process, and how to reach the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::call::Call;
use crate::error::CallError;
use crate::runtime::{BoxFuture, TaskCode};
use crate::setup::FusionSetup;

/// How a call leaves the process. The router does not care which transport it is.
pub trait Transport: Send + Sync + 'static {
    /// Sends `call` to function `function`. A sync call resolves with the callee's result; an
    /// async call resolves as soon as the callee has accepted the work.
    fn send(&self, function: &str, call: Call) -> BoxFuture<Result<Vec<u8>, CallError>>;
}

/// An immutable routing table for one function under one setup. A new setup means a new router;
/// an invocation keeps the router it started with.
pub struct Router {
    /// The setup this router routes by; its version is recorded on every span.
    pub setup: Arc<FusionSetup>,
    /// The function this router belongs to (named after its task).
    pub function: String,
    /// The tasks of this function's group, loaded and ready.
    code: BTreeMap<String, Arc<TaskCode>>,
    /// Every task of the application, to tell "remote" from "does not exist".
    app_tasks: BTreeSet<String>,
    /// Carries calls of tasks that run in other functions.
    pub remote: Arc<dyn Transport>,
}

/// Where a call goes.
pub enum Route<'a> {
    /// The task runs in this process, from this code.
    Local(&'a Arc<TaskCode>),
    /// The task runs in another function; the call goes through the transport.
    Remote,
    /// The application has no such task.
    Unknown,
}

impl Router {
    /// `code` must hold every task of the function's group (see [`group`]).
    pub fn new(
        setup: Arc<FusionSetup>,
        function: &str,
        code: BTreeMap<String, Arc<TaskCode>>,
        app_tasks: BTreeSet<String>,
        remote: Arc<dyn Transport>,
    ) -> anyhow::Result<Router> {
        for task in group(&setup, function) {
            anyhow::ensure!(code.contains_key(&task), "function '{function}' has no code for its task '{task}'");
        }
        Ok(Router { setup, function: function.to_string(), code, app_tasks, remote })
    }

    /// Where a call of `task` made inside this function goes.
    pub fn route(&self, task: &str) -> Route<'_> {
        if !self.app_tasks.contains(task) {
            Route::Unknown
        } else if self.setup.is_local(&self.function, task) {
            self.code.get(task).map_or(Route::Unknown, Route::Local)
        } else {
            Route::Remote
        }
    }

    /// The function's memory size in MB under this setup; it also sets its CPU share.
    pub fn memory_mb(&self) -> u32 {
        self.setup.function(&self.function).memory_mb
    }

    /// What loading this function's group took: the Fusion part of its cold start.
    pub fn load_time(&self) -> std::time::Duration {
        group(&self.setup, &self.function).iter().filter_map(|task| self.code.get(task)).map(|code| code.load_time).sum()
    }
}

/// The tasks that run inside `F(function)`: its own and the inlined ones.
pub fn group(setup: &FusionSetup, function: &str) -> BTreeSet<String> {
    let mut tasks = setup.function(function).inline;
    tasks.insert(function.to_string());
    tasks
}
