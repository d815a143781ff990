//! What an in-process (fused) sync call costs: the host calling `echo` directly against the host
//! calling `forward`, which calls `echo` in the same process. Both with instances prepared ahead
//! of the request (the default) and with a fresh instance instantiated on the request's path.
//!
//! `cargo bench -p fusion-host --bench inprocess_call`

// `criterion_group!` generates a public function it cannot document.
#![allow(missing_docs)]

use std::sync::Arc;

use fusion_project::Project;
use criterion::{Criterion, criterion_group, criterion_main};
use fusion_host::telemetry::NullSink;
use fusion_test_artifacts::gap::with_gap;
use fusion_host::{FusionSetup, InProcessCluster, Runtime, RuntimeConfig, TraceContext};

const SETUP: &str = r#"{"app":"testkit","functions":{"forward":{"inline":["echo"]}}}"#;

fn cluster(project: &Project, warm_instances: usize) -> Arc<InProcessCluster> {
    let manifest = fusion_test_artifacts::manifest("testkit");
    let config = RuntimeConfig { warm_instances, ..RuntimeConfig::default() };
    let runtime = Runtime::new(&project.artifacts_dir(), config).unwrap();
    let setup = FusionSetup::from_json(SETUP).unwrap();
    InProcessCluster::start(&runtime, &manifest, &project.components_dir(), setup, Arc::new(NullSink), None).unwrap()
}

fn bench(c: &mut Criterion) {
    let project = &fusion_test_artifacts::project("testkit");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let payload = b"{\"hello\":\"world\"}".to_vec();
    for (label, warm) in [("ready instances", 2), ("fresh instance on the path", 0)] {
        let cluster = rt.block_on(async { cluster(project, warm) });
        let mut group = c.benchmark_group(format!("sync call, {label}"));
        for task in ["echo", "forward"] {
            let name = if task == "echo" { "host → echo" } else { "host → forward → echo (fused)" };
            group.bench_function(name, |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    with_gap(iters, || {
                        let (cluster, payload) = (cluster.clone(), payload.clone());
                        async move {
                            let out = cluster.call(task, TraceContext::new_request(), payload.clone()).await.unwrap();
                            assert_eq!(out, payload);
                        }
                    })
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
