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
    pub setup: Arc<FusionSetup>,
    pub function: String,
    /// The tasks of this function's group, loaded and ready.
    code: BTreeMap<String, Arc<TaskCode>>,
    /// Every task of the application, to tell "remote" from "does not exist".
    app_tasks: BTreeSet<String>,
    pub remote: Arc<dyn Transport>,
}

/// Where a call goes.
pub enum Route<'a> {
    Local(&'a Arc<TaskCode>),
    Remote,
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

    pub fn route(&self, task: &str) -> Route<'_> {
        if !self.app_tasks.contains(task) {
            Route::Unknown
        } else if self.setup.is_local(&self.function, task) {
            self.code.get(task).map_or(Route::Unknown, Route::Local)
        } else {
            Route::Remote
        }
    }

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
