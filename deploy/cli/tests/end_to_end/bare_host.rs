//! The bare wasmtime host `fusion bench throughput` holds Fusion's host against: it serves the
//! component it was given (a throughput of errors would be no baseline), and a guest that traps
//! fails its own request only.

use fusion_bench::bare_host::BareHost;
use fusion_test_artifacts::project;

use crate::support;

#[tokio::test]
async fn the_bare_host_answers_with_what_the_component_returns_and_survives_a_trap() {
    let _machine = support::shared();
    let components = project("testkit").components_dir();
    let client = reqwest::Client::new();
    let echo = BareHost::start(&components.join("echo.wasm"), 1).unwrap();
    for body in ["{}", r#"{"a": [1, 2, 3]}"#] {
        let answer = client.post(format!("{}/", echo.url)).body(body).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), body, "echo returns its payload");
    }
    let panics = BareHost::start(&components.join("panic.wasm"), 1).unwrap();
    let trapped = client.post(format!("{}/", panics.url)).body("{}").send().await.unwrap();
    assert_eq!(trapped.status(), 500);
    let why = trapped.text().await.unwrap();
    assert!(why.contains("unreachable"), "the trap is reported: {why}");
    assert_eq!(client.get(format!("{}/healthz", panics.url)).send().await.unwrap().status(), 200, "the host serves on");
}
