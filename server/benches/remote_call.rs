//! What crossing a function boundary costs on loopback HTTP, against the same call in-process,
//! measured through real `fusion-host serve` processes in one run:
//! - sync: client → forward → echo, with echo remote against echo fused into forward's function;
//! - async: client → relay, which spawns echo, remote against fused (what the caller sees);
//! - the floor: an HTTP round trip to a host's `/healthz`.
//!
//! `cargo bench -p fusion-server --bench remote_call`

// `criterion_group!` generates a public function it cannot document.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fusion_project::Project;
use criterion::{Criterion, criterion_group, criterion_main};
use fusion_cluster::host_process::{HostProcess, HostSpec};
use fusion_host::auth::Signer;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::Transport;
use fusion_host::{Call, CallMode, TraceContext};
use fusion_test_artifacts::gap::{GAP, with_gap};

const SECRET: &str = "bench-secret";
const FUSED: &str = r#"{"app":"testkit","functions":{"forward":{"inline":["echo"]},"relay":{"inline":["echo"]}}}"#;

fn start(project: &Project, function: &str, setup: Option<&std::path::Path>, peers: &[(&str, &str)]) -> HostProcess {
    let peers = peers.iter().map(|(f, u)| (f.to_string(), u.to_string())).collect();
    HostProcess::start(project, HostSpec { setup, peers, ..HostSpec::new("testkit", function, SECRET) }).unwrap()
}

fn bench(c: &mut Criterion) {
    let project = &fusion_test_artifacts::project("testkit");
    let fused_setup = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(fused_setup.path(), FUSED).unwrap();
    let echo = start(project, "echo", None, &[]);
    let hosts = [
        ("remote", start(project, "forward", None, &[("echo", &echo.url)]), start(project, "relay", None, &[("echo", &echo.url)])),
        ("fused", start(project, "forward", Some(fused_setup.path()), &[]), start(project, "relay", Some(fused_setup.path()), &[])),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for (kind, task, payload) in [("sync", "forward", r#"{"hello":"world"}"#), ("async", "relay", r#"{"task":"echo","async":true}"#)] {
        let mut group = c.benchmark_group(format!("{kind} call"));
        for (placement, forward, relay) in &hosts {
            let url = if task == "forward" { &forward.url } else { &relay.url };
            let peers = BTreeMap::from([(task.to_string(), url.clone())]);
            let transport = rt.block_on(async { HttpTransport::new(peers, Some(Signer::new(SECRET)), Duration::from_secs(10)).unwrap() });
            group.bench_function(format!("echo {placement}"), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    with_gap(iters, || {
                        let call = Call { task: task.into(), payload: payload.into(), mode: CallMode::Sync, trace: TraceContext::new_request() };
                        let sent = transport.send(task, call);
                        async move {
                            sent.await.unwrap();
                        }
                    })
                })
            });
        }
        group.finish();
    }
    // The floor under both: one HTTP round trip to a host that runs no task.
    let client = rt.block_on(async { reqwest::Client::builder().tcp_nodelay(true).build().unwrap() });
    hyper_bench(c, &rt, &echo.url);
    let healthz = format!("{}/healthz", echo.url);
    c.benchmark_group("http round trip to healthz").bench_function("reqwest (a connection task)", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            with_gap(iters, || {
                let sent = client.get(&healthz).send();
                async move {
                    sent.await.unwrap().bytes().await.unwrap();
                }
            })
        })
    });
}

/// The round trip as `HttpTransport` does it: the caller drives the connection itself.
fn hyper_bench(c: &mut Criterion, rt: &tokio::runtime::Runtime, url: &str) {
    use http_body_util::BodyExt;
    let addr = url.trim_start_matches("http://").to_string();
    let (send, conn) = rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        hyper::client::conn::http1::handshake::<_, http_body_util::Full<bytes::Bytes>>(hyper_util::rt::TokioIo::new(tcp)).await.unwrap()
    });
    let conn = std::sync::Arc::new(tokio::sync::Mutex::new((send, conn)));
    c.benchmark_group("http round trip to healthz").bench_function("hyper, driven by the caller (as HttpTransport)", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let conn = conn.clone();
            async move {
                let mut guard = conn.lock().await;
                let (send, conn) = &mut *guard;
                let mut measured = Duration::ZERO;
                for _ in 0..iters {
                    std::thread::sleep(GAP);
                    let started = Instant::now();
                    let req = hyper::Request::get("/healthz").header("host", "x").body(http_body_util::Full::new(bytes::Bytes::new())).unwrap();
                    let fut = async { send.send_request(req).await.unwrap().into_body().collect().await.unwrap() };
                    tokio::pin!(fut);
                    tokio::select! {
                        _ = &mut fut => {}
                        _ = &mut *conn => panic!("closed"),
                    }
                    measured += started.elapsed();
                }
                measured
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
