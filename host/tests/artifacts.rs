//! Components are compiled once: the second load comes from the precompiled artifact, and an
//! artifact that is damaged is ignored and rewritten instead of being trusted.


use fusion_test_artifacts::*;
use fusion_host::components::engine_fingerprint;
use fusion_host::{Runtime, RuntimeConfig};

#[test]
fn the_second_load_uses_the_artifact_and_a_damaged_one_is_replaced() {
    let component = project("testkit").components_dir().join("echo.wasm");
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(cache.path(), RuntimeConfig::default()).unwrap();

    let first = runtime.load("echo", &component).unwrap();
    assert!(!first.from_artifact, "nothing cached yet: compiled");
    let second = runtime.load("echo", &component).unwrap();
    assert!(second.from_artifact, "cached: deserialized, not compiled");
    assert_eq!(first.digest, second.digest);

    let artifact = cache
        .path()
        .join(engine_fingerprint(&runtime.engine.engine))
        .join(format!("{}.cwasm", first.digest.trim_start_matches("sha256:")));
    // Replaced as a new file, the way Fusion writes artifacts: the loaded component keeps its
    // mapping of the old one (truncating a mapped file in place would pull it from under it).
    let damaged = artifact.with_extension("damaged");
    std::fs::write(&damaged, b"garbage").unwrap();
    std::fs::rename(&damaged, &artifact).unwrap();
    let third = runtime.load("echo", &component).unwrap();
    assert!(!third.from_artifact, "a damaged artifact is not used");
    assert!(runtime.load("echo", &component).unwrap().from_artifact, "and it was rewritten");
}
