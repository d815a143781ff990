//! Functions as separate processes over loopback HTTP: remote sync and async calls, signed calls
//! only, a peer killed mid-run, and telemetry written by each host.


use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fusion_test_artifacts::*;
use fusion_host::auth::Signer;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::Transport;
use fusion_host::telemetry::Record;
use fusion_host::{Call, CallError, CallMode, ErrorKind, TraceContext};
use serde_json::{Value, json};

const SECRET: &str = "test-secret";

async fn call(url: &str, task: &str, secret: Option<&str>, mode: CallMode, payload: Value) -> Result<Vec<u8>, CallError> {
    let peers = BTreeMap::from([(task.to_string(), url.to_string())]);
    let transport = HttpTransport::new(peers, secret.map(Signer::new), Duration::from_secs(30)).unwrap();
    let call = Call { task: task.into(), payload: payload.to_string().into_bytes(), mode, trace: TraceContext::new_request() };
    transport.send(task, call).await
}

fn json_of(bytes: Vec<u8>) -> Value {
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_sync_call_crosses_processes() {
    let echo = serve("echo", &[], SECRET, None);
    let relay = serve("relay", &[("echo", &echo.url)], SECRET, None);
    let out = call(&relay.url, "relay", Some(SECRET), CallMode::Sync, json!({ "task": "echo", "input": [1, 2, 3] })).await;
    assert_eq!(json_of(out.expect("relay answers")), json!({ "ok": [1, 2, 3] }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_async_call_is_accepted_and_runs_in_the_callee() {
    let spans = tempfile::tempdir().unwrap();
    let log = spans.path().join("echo.jsonl");
    let echo = serve("echo", &[], SECRET, Some(&log));
    let relay = serve("relay", &[("echo", &echo.url)], SECRET, None);
    let out = call(&relay.url, "relay", Some(SECRET), CallMode::Sync, json!({ "task": "echo", "async": true })).await;
    assert_eq!(json_of(out.expect("relay answers")), json!({ "ok": null }), "accepted, no result");
    // The callee runs it on its own: its telemetry shows a remote async execution of echo.
    let started = Instant::now();
    let span = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let found = text.lines().filter_map(|l| serde_json::from_str::<Record>(l).ok()).find_map(|r| match r {
            Record::Span(s) if s.task == "echo" => Some(s),
            _ => None,
        });
        if let Some(span) = found {
            break span;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "echo never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((span.mode, span.remote, span.caller.as_deref(), span.function.as_str()), (CallMode::Async, true, Some("relay"), "echo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_or_wrongly_signed_calls_are_refused_and_run_nothing() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("echo.jsonl");
    let echo = serve("echo", &[], SECRET, Some(&log));
    for secret in [None, Some("wrong-secret")] {
        let err = call(&echo.url, "echo", secret, CallMode::Sync, json!("hi")).await.expect_err("refused");
        assert_eq!(err.kind, ErrorKind::Rejected, "{err}");
        assert!(err.message.contains("unauthenticated"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "", "nothing ran");
    assert_eq!(json_of(call(&echo.url, "echo", Some(SECRET), CallMode::Sync, json!("hi")).await.unwrap()), json!("hi"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_a_typed_413_and_the_host_serves_on() {
    let echo = serve("echo", &[], SECRET, None);
    let big = vec![b'x'; fusion_host::http_server::MAX_BODY_BYTES + 1];
    let refused = reqwest::Client::new().post(format!("{}/v1/invoke/echo", echo.url)).body(big).send().await.unwrap();
    assert_eq!(refused.status(), 413);
    let error: Value = serde_json::from_slice(&refused.bytes().await.unwrap()).expect("a JSON error");
    assert_eq!(error["kind"], "rejected", "{error}");
    assert_eq!(json_of(call(&echo.url, "echo", Some(SECRET), CallMode::Sync, json!("hi")).await.unwrap()), json!("hi"));
}

/// A signed call captured on the wire and sent again, as is or with a header changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_or_altered_signed_call_is_refused_and_runs_nothing() {
    use fusion_host::wire;
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("echo.jsonl");
    let echo = serve("echo", &[], SECRET, Some(&log));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(wire::TRACE_ID, "0123456789abcdef0123456789abcdef".parse().unwrap());
    headers.insert(wire::MODE, "sync".parse().unwrap());
    headers.insert(wire::DEPTH, "0".parse().unwrap());
    let path = "/v1/invoke/echo";
    let signature = Signer::new(SECRET).sign(path, &headers, b"\"hi\"");
    headers.insert(wire::SIGNATURE, signature.parse().unwrap());
    let client = reqwest::Client::new();
    let send = |headers: reqwest::header::HeaderMap| client.post(format!("{}{path}", echo.url)).headers(headers).body("\"hi\"").send();

    let first = send(headers.clone()).await.unwrap();
    assert_eq!(first.status(), 200, "the captured call ran once");
    let again = send(headers.clone()).await.unwrap();
    assert_eq!(again.status(), 401);
    assert!(again.text().await.unwrap().contains("unauthenticated: replayed call"));
    for (name, value) in [(wire::DEPTH, "31"), (wire::SETUP_VERSION, "1"), (wire::CALLER, "relay"), (wire::PARENT_SPAN, "00f067aa0ba902b7"), (wire::MODE, "async")] {
        let mut altered = headers.clone();
        altered.insert(name, value.parse().unwrap());
        let refused = send(altered).await.unwrap();
        assert_eq!(refused.status(), 401, "{name} changed");
        assert!(refused.text().await.unwrap().contains("signature does not match"), "{name} changed");
    }
    // A refused call is answered without running, so once the first call's span is written the
    // log shows everything that ran.
    let started = Instant::now();
    let (runs, text) = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let runs = text.lines().filter_map(|l| serde_json::from_str::<Record>(l).ok()).filter(|r| matches!(r, Record::Span(s) if s.task == "echo")).count();
        if runs > 0 || started.elapsed() > Duration::from_secs(30) {
            break (runs, text);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(runs, 1, "only the first call ran: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_peer_is_unavailable_and_the_caller_stays_healthy() {
    let mut echo = serve("echo", &[], SECRET, None);
    let relay = serve("relay", &[("echo", &echo.url)], SECRET, None);
    let request = json!({ "task": "echo", "input": "x" });
    assert_eq!(json_of(call(&relay.url, "relay", Some(SECRET), CallMode::Sync, request.clone()).await.unwrap()), json!({ "ok": "x" }));
    echo.kill();
    for _ in 0..2 {
        let seen = json_of(call(&relay.url, "relay", Some(SECRET), CallMode::Sync, request.clone()).await.expect("relay itself answers"));
        assert_eq!(seen["error"]["kind"], "unavailable", "{seen}");
    }
    let health = reqwest::get(format!("{}/healthz", relay.url)).await.unwrap();
    assert_eq!(health.status(), 200);
}
