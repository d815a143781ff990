//! Seeing what a `fusion up` cluster does with the tools people already run: one trace per
//! request at an OTLP receiver, continuing the client's W3C trace context; and a real Prometheus
//! server scraping every host from the configuration `fusion up` writes.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fusion_host::CallMode;
use fusion_test_artifacts::{SMALL_WORK, iot_call_graph, project_dir};
use serde_json::Value;
use support::{Killed, fusion, ok, otlp, spawn_up};

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// The value of `prefix` in `fusion up`'s output (`front door: URL  (…)`).
fn printed<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    let line = lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no '{prefix}' in {lines:?}"));
    line[prefix.len()..].split_whitespace().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iot_request_from_a_traced_client_is_one_trace_with_the_right_tree_at_an_otlp_receiver() {
    let _machine = support::shared();
    let receiver = otlp::Receiver::start();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fusion"));
    command.env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url).env("OTEL_BSP_SCHEDULE_DELAY", "100").env("OTEL_SERVICE_NAME", "iot-under-test");
    // Fused (I with CW and SE, CS with CSL and CSA, CA with DJ) and remote calls, sync and async.
    let (_up, lines) = spawn_up(command.args(["up", "-f", project_dir("iot").as_str(), "--setup", "fusionize-optimum"]));
    let door = printed(&lines, "front door: ").to_string();
    let answer = reqwest::Client::new()
        .post(&door)
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .header("tracestate", "client=1")
        .body(SMALL_WORK)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());

    let expected: usize = iot_call_graph().values().sum();
    let started = Instant::now();
    let spans = loop {
        let spans = receiver.spans();
        if spans.len() >= expected || started.elapsed() > Duration::from_secs(60) {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(spans.len(), expected, "one span per task execution: {spans:#?}");
    assert!(spans.iter().all(|s| s["trace_id"] == CLIENT_TRACE), "the client's trace, continued by every span: {spans:#?}");
    let by_id: BTreeMap<&str, &Value> = spans.iter().map(|s| (s["span_id"].as_str().unwrap(), s)).collect();
    assert_eq!(by_id.len(), expected, "span ids are unique");

    // The tree: the request's first span under the client's, every other under its caller's.
    let mut edges: BTreeMap<(String, String, CallMode), usize> = BTreeMap::new();
    for span in &spans {
        let attributes = &span["attributes"];
        let parent = span["parent_span_id"].as_str().unwrap();
        let caller = if parent == CLIENT_SPAN {
            assert_eq!(span["name"], "I", "only the entry task hangs off the client");
            assert!(attributes["fusion.billed_duration_ms"].as_i64().unwrap() >= 1, "its invocation's billing: {span}");
            "client".to_string()
        } else {
            let parent = by_id.get(parent).unwrap_or_else(|| panic!("the parent of {span} was exported"));
            assert_eq!(attributes["fusion.caller"], parent["name"], "the parent is the caller");
            assert!(span["start"].as_u64() >= parent["start"].as_u64(), "a callee starts after its caller");
            parent["name"].as_str().unwrap().to_string()
        };
        let mode = if attributes["fusion.call.mode"] == "async" { CallMode::Async } else { CallMode::Sync };
        *edges.entry((caller, span["name"].as_str().unwrap().to_string(), mode)).or_default() += 1;
        // SERVER starts an invocation (a remote call or the request), INTERNAL is a fused call.
        let expected_kind = if attributes["fusion.call.remote"] == true || parent == CLIENT_SPAN { 2 } else { 1 };
        assert_eq!(span["kind"], expected_kind, "{span}");
        assert_eq!(span["attributes"]["fusion.function"], span["resource"]["faas.name"], "{span}");
        assert_eq!(span["resource"]["service.name"], "iot-under-test");
        assert_eq!(attributes["faas.max_memory"].as_i64(), Some(128 << 20));
    }
    assert_eq!(edges, iot_call_graph());
    let functions: BTreeSet<&str> = spans.iter().map(|s| s["resource"]["faas.name"].as_str().unwrap()).collect();
    assert_eq!(functions, BTreeSet::from(["I", "CS", "CA", "CT", "AS"]), "the request crossed five functions");
    let fused: Vec<&str> = spans.iter().filter(|s| s["kind"] == 1).map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(fused.iter().copied().collect::<BTreeSet<_>>(), BTreeSet::from(["CW", "SE", "CSL", "CSA", "DJ"]));
}

/// A Prometheus server, stopped when dropped.
struct Prometheus {
    _server: Killed,
    url: String,
    _data: tempfile::TempDir,
}

impl Prometheus {
    fn start(config: &std::path::Path) -> Prometheus {
        support::debian_program("prometheus", "prometheus");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let data = tempfile::tempdir().unwrap();
        let server = Killed(Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--storage.tsdb.path={}", data.path().display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"));
        Prometheus { _server: server, url: format!("http://127.0.0.1:{port}"), _data: data }
    }

    /// The values of an instant query's vector result (empty until there is data).
    async fn query(&self, query: &str) -> Vec<f64> {
        let url = reqwest::Url::parse_with_params(&format!("{}/api/v1/query", self.url), [("query", query)]).unwrap();
        let Ok(answer) = reqwest::get(url).await else { return Vec::new() };
        let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap_or_default()).unwrap_or_default();
        let results = body["data"]["result"].as_array().cloned().unwrap_or_default();
        results.iter().filter_map(|r| r["value"][1].as_str()?.parse().ok()).collect()
    }

    /// Polls `query` until `holds` for its values, or fails with what it last answered.
    async fn until(&self, query: &str, holds: impl Fn(&[f64]) -> bool) -> Vec<f64> {
        let started = Instant::now();
        loop {
            let values = self.query(query).await;
            if holds(&values) {
                return values;
            }
            assert!(started.elapsed() < Duration::from_secs(90), "Prometheus never answered '{query}' as expected; last: {values:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_host_from_the_config_fusion_up_writes_and_answers_a_latency_quantile() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    let mut command = Command::new(env!("CARGO_BIN_EXE_fusion"));
    let (_up, lines) = spawn_up(command.args(["up", "-f", project_dir("tree").as_str(), "--setup", "all-remote", "--prometheus", config.to_str().unwrap()]));
    assert!(lines.iter().any(|l| l.contains("prometheus --config.file")), "fusion up says how to use it: {lines:?}");
    let prometheus = Prometheus::start(&config);
    // Every host scraped (Tree has seven functions, all remote here) before the load starts, so
    // that the counters' increase falls within Prometheus' samples.
    prometheus.until("count(up{job=\"fusion-tree\"} == 1)", |v| v == [7.0]).await;
    let load = fusion(&["load", "-f", project_dir("tree").as_str(), "--rate", "10", "--duration", "3s", "--size", "small"]);
    assert!(ok(&load).contains("30 requests"), "{}", ok(&load));

    // Every request's entry task counted, and a median of its latency from the histogram.
    prometheus.until("sum(fusion_task_executions_total{task=\"A\",error_kind=\"\"})", |v| v == [30.0]).await;
    let p50 = prometheus.until("histogram_quantile(0.5, sum by (le) (rate(fusion_task_duration_seconds_bucket{task=\"A\"}[1m])))", |v| v.len() == 1 && v[0].is_finite()).await;
    assert!(p50[0] > 0.0 && p50[0] < 10.0, "the median of A in seconds: {p50:?}");
    // What each function billed and its cold starts, per function.
    let billed = prometheus.until("fusion_billed_duration_seconds_total", |v| v.len() == 7).await;
    assert!(billed.iter().all(|&s| s >= 0.001), "every function billed at least a millisecond: {billed:?}");
    let cold = prometheus.until("sum(fusion_cold_starts_total)", |v| v.len() == 1 && v[0] >= 7.0).await;
    assert!(cold[0] <= 7.0 * 30.0, "{cold:?}");
    prometheus.until("sum(fusion_calls_total{outcome=\"ok\",function=\"A\"})", |v| v == [30.0]).await;
}
