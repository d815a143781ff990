//! `fusion bench cold-start`: a new host process for one function, started from the store, timed
//! from spawn to its first response (less the cold start the host then emulates: it has really
//! started). Three ways, each run with an empty local artifact cache
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
use fusion_host::telemetry::Record;
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
        starts.compile.push(start_once(project, &unsealed, &dir.path().join(format!("compile-{run}")), function, payload).await?.0);
        let (took, host) = start_once(project, &store.access, &cache, function, payload).await?;
        starts.store_artifact.push(took);
        // A host loads a store artifact from memory and caches it on the side: the next start
        // finds it once that write is done.
        wait_for_artifacts(&cache, starts.group.len()).await?;
        drop(host);
        starts.local_artifact.push(start_once(project, &store.access, &cache, function, payload).await?.0);
    }
    Ok(starts)
}

/// Waits until `count` artifacts are in the cache under `dir`.
async fn wait_for_artifacts(dir: &std::path::Path, count: usize) -> Result<()> {
    let cached = || walk_cwasm(dir);
    for _ in 0..300 {
        if cached() >= count {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the host cached {} of its {count} artifacts in {}", cached(), dir.display())
}

fn walk_cwasm(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { walk_cwasm(&path) } else { usize::from(path.extension().is_some_and(|e| e == "cwasm")) }
        })
        .sum()
}

/// One host, from spawn to the first successful response; the host lives until it is dropped.
/// The host has really loaded its group before it listens; the init it then replays for its first
/// execution environment (the emulated cold start, see `fusion_host::function`) would count the
/// load twice, so it is left out, as the invocation's record states it.
async fn start_once(project: &Project, access: &StoreAccess, artifacts: &std::path::Path, function: &str, payload: &[u8]) -> Result<(Duration, HostProcess)> {
    let telemetry = artifacts.with_extension("jsonl");
    let _ = std::fs::remove_file(&telemetry);
    let started = Instant::now();
    let spec = HostSpec { store: Some(access), artifacts: Some(artifacts), telemetry: Some(&telemetry), ..HostSpec::new(project.name(), function, SECRET) };
    let host = tokio::task::block_in_place(|| HostProcess::start(project, spec))?;
    let transport = HttpTransport::new([(function.to_string(), host.url.clone())].into(), Some(Signer::new(SECRET)), Duration::from_secs(30))?;
    let call = Call { task: function.to_string(), payload: payload.to_vec(), mode: CallMode::Sync, trace: TraceContext::new_request() };
    transport.send(function, call).await.map_err(|e| anyhow::anyhow!("{e}")).with_context(|| format!("the first call of '{function}' failed"))?;
    let took = started.elapsed();
    Ok((took.saturating_sub(replayed_init(&telemetry).await?), host))
}

/// The init the host replayed for its first invocation, from the record it wrote.
async fn replayed_init(telemetry: &std::path::Path) -> Result<Duration> {
    for _ in 0..100 {
        let text = std::fs::read_to_string(telemetry).unwrap_or_default();
        let init = text.lines().filter_map(|line| serde_json::from_str::<Record>(line).ok()).find_map(|record| match record {
            Record::Invocation(invocation) => Some(Duration::from_micros(invocation.init_us)),
            Record::Span(_) => None,
        });
        if let Some(init) = init {
            return Ok(init);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("the host recorded no invocation in {}", telemetry.display())
}
