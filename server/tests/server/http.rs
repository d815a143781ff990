//! Functions as separate processes over loopback HTTP: remote sync and async calls, signed calls
//! only, a peer killed mid-run, telemetry written by each host, and the limits on connections
//! (slow or silent clients are cut, a listener holds at most so many connections).


use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fusion_cluster::host_process::{HostProcess, HostSpec};
use fusion_test_artifacts::*;
use fusion_host::auth::Signer;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::Transport;
use fusion_host::telemetry::Record;
use fusion_host::{Call, CallError, CallMode, ErrorKind, TraceContext};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    use fusion_host::trace_context::{TRACEPARENT, TRACESTATE};
    use fusion_host::wire;
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("echo.jsonl");
    let echo = serve("echo", &[], SECRET, Some(&log));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(TRACEPARENT, "00-0123456789abcdef0123456789abcdef-00f067aa0ba902b7-01".parse().unwrap());
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
    for (name, value) in [(wire::DEPTH, "31"), (wire::SETUP_VERSION, "1"), (wire::CALLER, "relay"), (TRACESTATE, "vendor=x"), (wire::MODE, "async")] {
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

/// The value of the gauge `name` of the host at `url`.
async fn gauge(url: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{name}{{"))).unwrap_or_else(|| panic!("no {name} in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_its_concurrency_limit_a_function_throttles_sync_calls_queues_async_ones_and_stops_each_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let setup = dir.path().join("setup.json");
    let policy = r#"{"app":"testkit","functions":{},"policy":{"functions":{"spin":{"timeout_s":1,"concurrency":1}}}}"#;
    std::fs::write(&setup, policy).unwrap();
    let log = dir.path().join("spin.jsonl");
    let spec = HostSpec { setup: Some(&setup), telemetry: Some(&log), ..HostSpec::new("testkit", "spin", SECRET) };
    let spin = HostProcess::start(&project("testkit"), spec).expect("fusion-host starts");

    // A runaway task holds the function's only slot until its timeout.
    let url = spin.url.clone();
    let first = tokio::spawn(async move { call(&url, "spin", Some(SECRET), CallMode::Sync, json!(null)).await });
    while gauge(&spin.url, "fusion_invocations_running").await < 1.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let throttled = call(&spin.url, "spin", Some(SECRET), CallMode::Sync, json!(null)).await.expect_err("no slot is free");
    assert_eq!(throttled.kind, ErrorKind::Throttled, "{throttled}");
    assert_eq!(call(&spin.url, "spin", Some(SECRET), CallMode::Async, json!(null)).await.unwrap(), b"", "async work is queued");
    assert_eq!(gauge(&spin.url, "fusion_async_queued").await, 1.0);

    let stopped = first.await.unwrap().expect_err("the runaway task is stopped");
    assert_eq!(stopped.kind, ErrorKind::Timeout, "{stopped}");
    assert!(stopped.message.contains("timeout of 1s"), "the function's own timeout, not the default: {stopped}");
    // The queued invocation runs once the slot is free, and meets the same timeout.
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let spans: Vec<_> = text.lines().filter_map(|l| serde_json::from_str::<Record>(l).ok()).filter_map(|r| match r {
            Record::Span(s) => Some(s),
            _ => None,
        }).collect();
        if spans.len() == 2 {
            assert!(spans.iter().all(|s| s.error == Some(ErrorKind::Timeout)), "{text}");
            assert_eq!(spans.iter().filter(|s| s.mode == CallMode::Async).count(), 1, "the throttled call never ran: {text}");
            break;
        }
        assert!(spans.len() < 2 && started.elapsed() < Duration::from_secs(60), "the queued call did not run: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gauge(&spin.url, "fusion_async_queued").await, 0.0);
}

/// A `fusion-host serve` of a test kit function started with `flags` (the connection limits);
/// killed when dropped.
struct LimitedHost {
    child: Child,
    /// The signed listener's base URL.
    url: String,
}

impl LimitedHost {
    fn serve(function: &str, flags: &[&str]) -> LimitedHost {
        let project = project("testkit");
        let mut child = Command::new(env!("CARGO_BIN_EXE_fusion-host"))
            .arg("serve")
            .arg("--app")
            .arg(fusion_cluster::write_app_manifest(&project).unwrap())
            .arg("--components")
            .arg(project.components_dir())
            .arg("--artifacts")
            .arg(project.artifacts_dir())
            .args(["--function", function, "--listen", "127.0.0.1:0"])
            .args(flags)
            .env("FUSION_SECRET", SECRET)
            .stdout(Stdio::piped())
            .spawn()
            .expect("fusion-host starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        assert!(url.starts_with("http://"), "the host did not start: {line}");
        LimitedHost { child, url }
    }

    /// The signed listener's `host:port`.
    fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

impl Drop for LimitedHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `head` to `addr` at once, then one `byte` every 100 ms until an answer starts, and
/// returns what the server answered before it closed the connection. Fails the test when the
/// server lets the request go on for a minute.
async fn trickle(addr: String, head: &'static [u8], byte: u8) -> String {
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(head).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut every = tokio::time::interval(Duration::from_millis(100));
    let cut = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tokio::select! {
                read = tcp.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                },
                // Once the server closed, writes fail; the read says how it ended.
                _ = every.tick(), if answer.is_empty() => { let _ = tcp.write_all(&[byte]).await; }
            }
        }
    })
    .await;
    cut.expect("the server never cut the slow request");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Connects to `addr` and sends nothing.
async fn silent(addr: &str) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

/// Reads what the server says on `tcp` until it closes the connection; fails the test after a
/// minute.
async fn until_closed(tcp: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the server never closed the connection");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A connection cut at the header timeout is closed, or told 408.
fn cut_at_the_header_timeout(answer: &str) -> bool {
    answer.is_empty() || answer.starts_with("HTTP/1.1 408")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_sent_a_byte_at_a_time_or_never_is_cut_at_the_header_timeout_and_others_are_served() {
    let echo = LimitedHost::serve("echo", &["--header-timeout-ms", "1000"]);
    let slow = tokio::spawn(trickle(echo.addr().to_string(), b"POST /v1/invoke/echo HTTP/1.1\r\nhost: echo\r\nx-padding: ", b'a'));
    let mut idle = silent(echo.addr()).await;
    // Meanwhile, other connections are served.
    for _ in 0..3 {
        assert_eq!(json_of(call(&echo.url, "echo", Some(SECRET), CallMode::Sync, json!("hi")).await.unwrap()), json!("hi"));
    }
    let answer = slow.await.unwrap();
    assert!(cut_at_the_header_timeout(&answer), "the trickled head was answered: {answer}");
    let answer = until_closed(&mut idle).await;
    assert!(cut_at_the_header_timeout(&answer), "the silent connection was answered: {answer}");
    assert_eq!(json_of(call(&echo.url, "echo", Some(SECRET), CallMode::Sync, json!("hi")).await.unwrap()), json!("hi"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_holds_at_most_max_connections_and_serves_the_next_once_one_closes() {
    // Timeouts far beyond the test: only a closed connection frees a slot.
    let echo = LimitedHost::serve("echo", &["--max-connections", "2", "--header-timeout-ms", "600000"]);
    let first = silent(echo.addr()).await;
    let _second = silent(echo.addr()).await;
    let mut third = TcpStream::connect(echo.addr()).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nhost: echo\r\nconnection: close\r\n\r\n").await.unwrap();
    // Beyond the cap the connection is not accepted, so nothing can answer it. (A host that
    // ignored the cap would answer at once; a slow one might pass this check, never fail it.)
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(early.is_err(), "a connection beyond the cap was served: {early:?}");
    drop(first);
    let answer = until_closed(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_fill_the_cap_and_send_nothing_are_cut_and_the_host_serves_again() {
    let echo = LimitedHost::serve("echo", &["--max-connections", "2", "--header-timeout-ms", "1000"]);
    let mut idle = [silent(echo.addr()).await, silent(echo.addr()).await];
    assert_eq!(json_of(call(&echo.url, "echo", Some(SECRET), CallMode::Sync, json!("hi")).await.expect("served once a slot is free")), json!("hi"));
    for tcp in &mut idle {
        let answer = until_closed(tcp).await;
        assert!(cut_at_the_header_timeout(&answer), "an idle connection was answered: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_gets_a_typed_408_on_both_listeners_and_the_host_serves_on() {
    let door = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let echo = LimitedHost::serve("echo", &["--body-timeout-ms", "1000", "--public-listen", &door]);
    // A byte every 100 ms: each piece of the body arrives well within the timeout, the whole
    // body (1,000 bytes) never does.
    let signed = b"POST /v1/invoke/echo HTTP/1.1\r\nhost: echo\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n\"";
    let public = b"POST / HTTP/1.1\r\nhost: echo\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n\"";
    for (addr, head) in [(echo.addr().to_string(), &signed[..]), (door, &public[..])] {
        let answer = trickle(addr.clone(), head, b'a').await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{addr}: {answer}");
        let (_, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{addr}: {answer}"));
        let error: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{addr}: not a JSON error ({e}): {body}"));
        assert_eq!(error["kind"], "rejected", "{addr}: {error}");
        assert!(error["message"].as_str().unwrap().contains("did not arrive within 1s"), "{addr}: {error}");
    }
    assert_eq!(json_of(call(&echo.url, "echo", Some(SECRET), CallMode::Sync, json!("hi")).await.unwrap()), json!("hi"));
}
