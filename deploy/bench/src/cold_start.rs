//! `fusion bench cold-start`: a new host process for one function, started from the store, timed
//! from spawn to its first response. Three ways, each run with an empty local artifact cache
//! unless said otherwise:
//! - *compile*: the store has no usable artifact, so the host downloads and compiles its group;
//! - *store artifact*: the host fetches the sealed artifacts another host published;
//! - *local artifact*: the artifacts are already in the host's local cache (a restart on the
//!   same machine, or a Lambda environment whose /tmp survived).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fusion_host::auth::Signer;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::{Transport, group};
use fusion_host::{Call, CallMode, TraceContext};

use fusion_cluster::host_process::{HostProcess, HostSpec};
use fusion_cluster::publish;
use fusion_cluster::store::{self, StoreAccess};
use fusion_cluster::resolve_setup;
use fusion_project::Project;

/// Spawn → first response of every start, by where the host's components came from.
pub struct ColdStarts {
    /// The tasks of the function's group.
    pub group: Vec<String>,
    /// Compiling them (no usable artifact anywhere): the baseline.
    pub compile: Vec<Duration>,
    /// Sealed artifacts fetched from the store, local cache empty.
    pub store_artifact: Vec<Duration>,
    /// Artifacts already in the host's local cache.
    pub local_artifact: Vec<Duration>,
}

const SECRET: &str = "cold-start";

/// Pushes the project, applies `setup` in a private store and starts `function`'s host `runs` times
/// each way; `payload` is its first request.
pub async fn measure(project: &Project, setup: &str, function: &str, runs: usize, payload: &[u8]) -> Result<ColdStarts> {
    let dir = tempfile::tempdir()?;
    let store = store::private(&dir.path().join("s3")).await?;
    let app = project.name();
    publish::upload(project, &store.store).await?;
    let applied = publish::pin_and_apply(&store.store, resolve_setup(project, setup)?).await?;
    anyhow::ensure!(applied.components.contains_key(function), "app '{app}' has no function '{function}'");
    let unsealed = StoreAccess { artifact_key: None, ..store.access.clone() };
    // The first start compiles and publishes the sealed artifacts the store runs use.
    start_once(project, &store.access, &dir.path().join("publish"), function, payload).await?;
    let mut starts = ColdStarts { group: group(&applied, function).into_iter().collect(), compile: vec![], store_artifact: vec![], local_artifact: vec![] };
    for run in 0..runs {
        let cache = dir.path().join(format!("cache-{run}"));
        starts.compile.push(start_once(project, &unsealed, &dir.path().join(format!("compile-{run}")), function, payload).await?);
        starts.store_artifact.push(start_once(project, &store.access, &cache, function, payload).await?);
        starts.local_artifact.push(start_once(project, &store.access, &cache, function, payload).await?);
    }
    Ok(starts)
}

/// One host, from spawn to the first successful response.
async fn start_once(project: &Project, access: &StoreAccess, artifacts: &std::path::Path, function: &str, payload: &[u8]) -> Result<Duration> {
    let started = Instant::now();
    let spec = HostSpec { store: Some(access), artifacts: Some(artifacts), ..HostSpec::new(project.name(), function, SECRET) };
    let host = tokio::task::block_in_place(|| HostProcess::start(project, spec))?;
    let transport = HttpTransport::new([(function.to_string(), host.url.clone())].into(), Some(Signer::new(SECRET)), Duration::from_secs(30))?;
    let call = Call { task: function.to_string(), payload: payload.to_vec(), mode: CallMode::Sync, trace: TraceContext::new_request() };
    transport.send(function, call).await.map_err(|e| anyhow::anyhow!("{e}")).with_context(|| format!("the first call of '{function}' failed"))?;
    Ok(started.elapsed())
}
