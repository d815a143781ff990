//! Every function of a setup in one process. Calls between functions still cross a function
//! boundary (a new invocation, its own record, async work handed over), just without a network:
//! the in-process stand-in for the HTTP and Lambda transports.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Weak};

use anyhow::Result;
use tokio_util::task::TaskTracker;

use crate::app::AppManifest;
use crate::call::{Call, CallMode};
use crate::trace_context::TraceContext;
use crate::error::{CallError, ErrorKind};
use crate::function::FunctionHost;
use crate::kv::KvBackend;
use crate::router::{Router, Transport};
use crate::routers::Routers;
use crate::runtime::{BoxFuture, Runtime};
use crate::setup::FusionSetup;
use crate::telemetry::RecordSink;

/// Every function of a setup running in this process, one [`FunctionHost`] per task, sharing one
/// tracker of their work.
pub struct InProcessCluster {
    entry: String,
    functions: BTreeMap<String, Arc<FunctionHost>>,
    work: TaskTracker,
}

impl InProcessCluster {
    /// Validates `setup`, loads every component of the app from `dir` and starts one function per
    /// task; `kv` is the app's key-value backend, if it has one.
    pub fn start(
        runtime: &Arc<Runtime>,
        manifest: &AppManifest,
        dir: &Path,
        setup: FusionSetup,
        sink: Arc<dyn RecordSink>,
        kv: Option<Arc<dyn KvBackend>>,
    ) -> Result<Arc<InProcessCluster>> {
        let tasks = manifest.task_names();
        setup.validate(&manifest.app, &tasks)?;
        let code = runtime.load_tasks(manifest, dir, tasks.iter().map(String::as_str))?;
        let setup = Arc::new(setup);
        let work = TaskTracker::new();
        let mut failure = None;
        let cluster = Arc::new_cyclic(|weak: &Weak<InProcessCluster>| {
            let transport: Arc<dyn Transport> = Arc::new(ClusterTransport(weak.clone()));
            let mut functions = BTreeMap::new();
            for task in &tasks {
                match Router::new(setup.clone(), task, code.clone(), tasks.clone(), transport.clone()) {
                    Ok(router) => {
                        functions.insert(task.clone(), FunctionHost::new(runtime.clone(), Routers::new(router, None), sink.clone(), work.clone(), kv.clone()));
                    }
                    Err(err) => failure = Some(err),
                }
            }
            InProcessCluster { entry: manifest.entry.clone(), functions, work }
        });
        match failure {
            Some(err) => Err(err),
            None => Ok(cluster),
        }
    }

    /// Sends one external request to the entry task and returns its response.
    pub async fn request(&self, trace: TraceContext, payload: Vec<u8>) -> Result<Vec<u8>, CallError> {
        self.call(&self.entry, trace, payload).await
    }

    /// Sends an external request to `F(task)`, as a client of that function would.
    pub async fn call(&self, task: &str, trace: TraceContext, payload: Vec<u8>) -> Result<Vec<u8>, CallError> {
        let Some(function) = self.functions.get(task) else {
            return Err(CallError::new(ErrorKind::NotFound, format!("no function '{task}'")));
        };
        let call = Call { task: task.to_string(), payload, mode: CallMode::Sync, trace };
        function.invoke(call).await
    }

    /// Retires every function's execution environments: the next invocations start cold.
    pub fn expire_environments(&self) {
        for function in self.functions.values() {
            function.environments().expire();
        }
    }

    /// Waits until every function has finished all work, including async calls still running.
    pub async fn drain(&self) {
        self.work.close();
        self.work.wait().await;
        self.work.reopen();
    }
}

struct ClusterTransport(Weak<InProcessCluster>);

impl Transport for ClusterTransport {
    fn send(&self, function: &str, call: Call) -> BoxFuture<Result<Vec<u8>, CallError>> {
        let target = self.0.upgrade().and_then(|cluster| cluster.functions.get(function).cloned());
        let function = function.to_string();
        Box::pin(async move {
            let Some(host) = target else {
                return Err(CallError::new(ErrorKind::Unavailable, format!("function '{function}' is not running")));
            };
            match call.mode {
                CallMode::Sync => host.invoke(call).await,
                CallMode::Async => host.accept(call).map(|()| Vec::new()),
            }
        })
    }
}
