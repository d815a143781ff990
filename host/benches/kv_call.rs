//! Key-value operations from a task on the embedded (SQLite) backend, against the same call of
//! the same task doing no store operation, in the same run: what a `get`, a `set` and an
//! `increment` add to a fused call.
//!
//! `cargo bench -p fusion-host --bench kv_call`, then `python3 deploy/bench/medians.py`

// `criterion_group!` generates a public function it cannot document.
#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use fusion_host::kv::sqlite::SqliteKv;
use fusion_host::telemetry::NullSink;
use fusion_host::{InProcessCluster, Runtime, RuntimeConfig, TraceContext};
use fusion_test_artifacts::gap::with_gap;

fn bench(c: &mut Criterion) {
    let project = fusion_test_artifacts::project("testkit");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cluster = rt.block_on(async {
        let runtime = Runtime::new(&project.artifacts_dir(), RuntimeConfig::default()).unwrap();
        let kv = SqliteKv::open(&dir.path().join("kv.sqlite"), "testkit").unwrap();
        let setup = fusion_test_artifacts::setup("testkit", "all-remote");
        let manifest = fusion_test_artifacts::manifest("testkit");
        InProcessCluster::start(&runtime, &manifest, &project.components_dir(), setup, Arc::new(NullSink), Some(kv)).unwrap()
    });
    let mut group = c.benchmark_group("key-value from a task");
    for (name, op) in [
        ("host → store, no operation", r#"{"op":"none","store":"data"}"#),
        ("host → store, get", r#"{"op":"get","store":"data","key":"k"}"#),
        ("host → store, set", r#"{"op":"set","store":"data","key":"k","value":"a value of some bytes"}"#),
        ("host → store, increment", r#"{"op":"incr","store":"data","key":"n"}"#),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                with_gap(iters, || {
                    let cluster = cluster.clone();
                    async move {
                        let out = cluster.call("store", TraceContext::new_request(), op.as_bytes().to_vec()).await.unwrap();
                        assert!(!out.starts_with(br#"{"error""#), "{}", String::from_utf8_lossy(&out));
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
