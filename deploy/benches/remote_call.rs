//! What crossing a function boundary costs on loopback HTTP, against the same call in-process,
//! measured through real `fusion-host serve` processes in one run:
//! - sync: client → forward → echo, with echo remote against echo fused into forward's function;
//! - async: client → relay, which spawns echo, remote against fused (what the caller sees).
//!
//! `cargo bench -p fusion-deploy --bench remote_call`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use fusion_deploy::host_process::{HostProcess, HostSpec};
use fusion_deploy::{Workspace, builder};
use fusion_host::auth::Signer;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::Transport;
use fusion_host::{Call, CallMode, TraceContext};

const SECRET: &str = "bench-secret";
/// Idle time between requests (not measured), as on a host that is not saturated.
const GAP: Duration = Duration::from_micros(500);
const FUSED: &str = r#"{"app":"testkit","functions":{"forward":{"inline":["echo"]},"relay":{"inline":["echo"]}}}"#;

fn start(ws: &Workspace, function: &str, setup: Option<&std::path::Path>, peers: &[(&str, &str)]) -> HostProcess {
    let peers = peers.iter().map(|(f, u)| (f.to_string(), u.to_string())).collect();
    HostProcess::start(ws, HostSpec { setup, peers, ..HostSpec::new("testkit", function, SECRET) }).unwrap()
}

fn bench(c: &mut Criterion) {
    let ws = Workspace::locate().unwrap();
    builder::build(&ws, |_| {}).unwrap();
    let fused_setup = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(fused_setup.path(), FUSED).unwrap();
    let echo = start(&ws, "echo", None, &[]);
    let hosts = [
        ("remote", start(&ws, "forward", None, &[("echo", &echo.url)]), start(&ws, "relay", None, &[("echo", &echo.url)])),
        ("fused", start(&ws, "forward", Some(fused_setup.path()), &[]), start(&ws, "relay", Some(fused_setup.path()), &[])),
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
                    let transport = transport.clone();
                    async move {
                        let mut measured = Duration::ZERO;
                        for _ in 0..iters {
                            std::thread::sleep(GAP);
                            let call = Call { task: task.into(), payload: payload.into(), mode: CallMode::Sync, trace: TraceContext::new_request() };
                            let started = Instant::now();
                            transport.send(task, call).await.unwrap();
                            measured += started.elapsed();
                        }
                        measured
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
