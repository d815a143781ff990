//! Components are compiled once: the second load comes from the precompiled artifact, and an
//! artifact that is damaged is ignored and rewritten instead of being trusted. A new environment
//! replays loading the artifact, never the compile.


use fusion_test_artifacts::*;
use fusion_host::components::{engine_fingerprint, evict};
use fusion_host::{Runtime, RuntimeConfig};

#[test]
fn the_second_load_uses_the_artifact_and_a_damaged_one_is_replaced() {
    let component = project("testkit").components_dir().join("echo.wasm");
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(cache.path(), RuntimeConfig::default()).unwrap();

    let compiling = std::time::Instant::now();
    let first = runtime.load("echo", &component).unwrap();
    let compiled_in = compiling.elapsed();
    assert!(!first.from_artifact, "nothing cached yet: compiled");
    // What a cold environment replays is loading the artifact, not compiling (a ratio within
    // one run: compiling takes tens of times longer than mapping the artifact).
    assert!(first.load_time * 2 < compiled_in, "{:?} of {compiled_in:?}", first.load_time);
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

/// The artifacts are kept per user, so they are bounded: the least recently used go first.
#[test]
fn beyond_the_limit_the_least_recently_used_artifact_goes_and_is_compiled_again() {
    let components = project("testkit").components_dir();
    let (echo, tally) = (components.join("echo.wasm"), components.join("tally.wasm"));
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(cache.path(), RuntimeConfig::default()).unwrap();
    let echo_digest = runtime.load("echo", &echo).unwrap().digest.clone();
    std::thread::sleep(std::time::Duration::from_millis(20));
    runtime.load("tally", &tally).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(runtime.load("echo", &echo).unwrap().from_artifact, "echo is used again, after tally");
    let echo_artifact = cache
        .path()
        .join(engine_fingerprint(&runtime.engine.engine))
        .join(format!("{}.cwasm", echo_digest.trim_start_matches("sha256:")));
    evict(cache.path(), std::fs::metadata(&echo_artifact).unwrap().len());
    assert!(runtime.load("echo", &echo).unwrap().from_artifact, "the most recently used stays");
    assert!(!runtime.load("tally", &tally).unwrap().from_artifact, "the other was removed, so it is compiled again");
}
