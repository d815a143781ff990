//! `fusion bench throughput`: requests per second one host serves over HTTP with kept-alive
//! connections, for a trivial task against the same host's `/healthz` (the HTTP stack alone),
//! measured in the same run: once with a fresh instance per execution (the default), once on a
//! second host whose setup lets the task reuse its instances, and once on a bare wasmtime host
//! of the same component ([`crate::bare_host`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use fusion_host::auth::Signer;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::Transport;
use fusion_host::{Call, CallMode, TraceContext};

use fusion_cluster::host_process::{HostProcess, HostSpec};
use fusion_project::Project;

use crate::bare_host::BareHost;

/// Requests per second of three hosts of the same task, each endpoint measured the same way.
pub struct Throughput {
    /// A fresh instance for every execution.
    pub fresh: Rates,
    /// The task's instances reused between executions.
    pub reused: Rates,
    /// The bare wasmtime host: a new instance per request.
    pub bare: Rates,
}

/// Requests per second of one host.
pub struct Rates {
    /// `GET /healthz`: the host's HTTP stack with no task behind it.
    pub healthz: f64,
    /// A call of the trivial task: on Fusion's host a signed sync call (`POST /v1/invoke/echo`),
    /// on the bare host a plain `POST /`.
    pub invoke: f64,
}

/// Starts a host of the test kit's `echo`, then one whose setup has `echo` reuse its instances,
/// then a bare wasmtime host of it, and keeps `connections` requests in flight for `duration`
/// against each endpoint of each (after a second of warm-up).
pub async fn measure(project: &Project, duration: Duration, connections: usize) -> Result<Throughput> {
    let fresh = measure_host(project, None, duration, connections).await?;
    // All-remote under the project's policy from fusion.toml, with reuse on for the task.
    let mut reuse = fusion_cluster::resolve_setup(project, "all-remote")?;
    reuse.policy.functions.entry(TASK.into()).or_default().reuse_instances = true;
    let setup_file = tempfile::NamedTempFile::new()?;
    std::fs::write(setup_file.path(), serde_json::to_string(&reuse)?)?;
    let reused = measure_host(project, Some(setup_file.path()), duration, connections).await?;
    let bare = measure_bare(project, duration, connections).await?;
    Ok(Throughput { fresh, reused, bare })
}

const TASK: &str = "echo";

async fn measure_host(project: &Project, setup: Option<&Path>, duration: Duration, connections: usize) -> Result<Rates> {
    const SECRET: &str = "throughput";
    let host = HostProcess::start(project, HostSpec { setup, ..HostSpec::new(project.name(), TASK, SECRET) })?;
    let healthz = healthz_rate(&host.url, duration, connections).await?;
    let peers = [(TASK.to_string(), host.url.clone())].into();
    let transport = HttpTransport::new(peers, Some(Signer::new(SECRET)), Duration::from_secs(10))?;
    let invoke = rate(duration, connections, move || {
        let call = Call { task: TASK.into(), payload: b"{}".to_vec(), mode: CallMode::Sync, trace: TraceContext::new_request() };
        let sent = transport.send(TASK, call);
        async move { sent.await.is_ok() }
    })
    .await;
    drop(host);
    Ok(Rates { healthz, invoke })
}

/// The bare host of the same component, with as many worker threads as a host process has.
async fn measure_bare(project: &Project, duration: Duration, connections: usize) -> Result<Rates> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let host = BareHost::start(&project.components_dir().join(format!("{TASK}.wasm")), workers)?;
    let healthz = healthz_rate(&host.url, duration, connections).await?;
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let url = format!("{}/", host.url);
    let invoke = rate(duration, connections, move || {
        let request = client.post(&url).body("{}").send();
        async move { request.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    Ok(Rates { healthz, invoke })
}

/// `GET /healthz` of the host at `url`: its HTTP stack alone.
async fn healthz_rate(url: &str, duration: Duration, connections: usize) -> Result<f64> {
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let url = format!("{url}/healthz");
    Ok(rate(duration, connections, move || {
        let request = client.get(&url).send();
        async move { request.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await)
}

/// Successful requests per second with `connections` in flight, after a warm-up second.
async fn rate<F, Fut>(duration: Duration, connections: usize, request: F) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (request, counting, stop, done) = (request.clone(), counting.clone(), stop.clone(), done.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if request().await && counting.load(Ordering::Relaxed) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    let counted = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    counted as f64 / elapsed.as_secs_f64()
}
