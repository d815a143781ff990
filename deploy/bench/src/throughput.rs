//! `fusion bench throughput`: requests per second one host serves over HTTP with kept-alive
//! connections, for a trivial task against the same host's `/healthz` (the HTTP stack alone),
//! measured in the same run.

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

/// Requests per second, each endpoint measured the same way in one run.
pub struct Throughput {
    /// `GET /healthz`: the host's HTTP stack with no task behind it.
    pub healthz: f64,
    /// `POST /v1/invoke/echo`: a signed sync call of a trivial task.
    pub invoke: f64,
}

/// Starts a host of the test kit's `echo` and keeps `connections` requests in flight for
/// `duration` against each endpoint (after a second of warm-up).
pub async fn measure(project: &Project, duration: Duration, connections: usize) -> Result<Throughput> {
    const SECRET: &str = "throughput";
    let host = HostProcess::start(project, HostSpec::new(project.name(), "echo", SECRET))?;
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let healthz_url = format!("{}/healthz", host.url);
    let healthz = rate(duration, connections, move || {
        let request = client.get(&healthz_url).send();
        async move { request.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    let peers = [("echo".to_string(), host.url.clone())].into();
    let transport = HttpTransport::new(peers, Some(Signer::new(SECRET)), Duration::from_secs(10))?;
    let invoke = rate(duration, connections, move || {
        let call = Call { task: "echo".into(), payload: b"{}".to_vec(), mode: CallMode::Sync, trace: TraceContext::new_request() };
        let sent = transport.send("echo", call);
        async move { sent.await.is_ok() }
    })
    .await;
    drop(host);
    Ok(Throughput { healthz, invoke })
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
