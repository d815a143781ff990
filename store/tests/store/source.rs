//! A host's components from the store: compiled once and published as a sealed artifact; a host
//! with the same key loads that artifact instead of compiling, and a host with another key
//! refuses it and compiles.


use std::sync::Arc;
use std::time::Duration;

use fusion_test_artifacts::*;
use fusion_cluster::{publish, store};
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::Route;
use fusion_host::{FusionSetup, Preset, Runtime, RuntimeConfig};
use fusion_store::Store;
use fusion_store::seal::ArtifactSeal;
use fusion_store::source::StoreSource;

/// Loads F(G) of Tree under `version` with a fresh local artifact cache; true if its code came
/// from an artifact rather than from compiling.
async fn load_g(store: &Store, version: u64, cache: &std::path::Path, key: &str) -> bool {
    let runtime = Runtime::new(cache, RuntimeConfig::default()).unwrap();
    let transport = HttpTransport::new(Default::default(), None, Duration::from_secs(5)).unwrap();
    let source = StoreSource::new(store.clone(), "tree", "G", runtime, transport, Some(ArtifactSeal::new(key)));
    let router = Arc::new(source.router(version).await.unwrap());
    let Route::Local(code) = router.route("G") else { panic!("F(G) runs G") };
    code.from_artifact
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_artifacts_are_used_only_when_sealed_with_the_deployments_key() {
    let project = project("tree");
    let dir = tempfile::tempdir().unwrap();
    let open = store::private(&dir.path().join("s3")).await.unwrap();
    publish::upload(&project, &open.store).await.unwrap();
    let m = manifest("tree");
    let setup = publish::pin_and_apply(&open.store, FusionSetup::preset(Preset::AllRemote, "tree", &m.task_names(), &m.entry)).await.unwrap();

    assert!(!load_g(&open.store, setup.version, &dir.path().join("a"), "deployment key").await, "nothing published yet: compiled");
    assert!(load_g(&open.store, setup.version, &dir.path().join("b"), "deployment key").await, "the first host's sealed artifact");
    assert!(!load_g(&open.store, setup.version, &dir.path().join("c"), "someone else's key").await, "a seal it cannot verify: compiled");
}
