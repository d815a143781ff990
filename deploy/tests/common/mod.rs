//! Shared by the integration tests: the real components, built once per test binary.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use fusion_deploy::host_process::{HostProcess, HostSpec};
use fusion_deploy::{Workspace, builder};
use fusion_host::telemetry::{MemorySink, Record, Span};
use fusion_host::{AppManifest, CallMode, FusionSetup, InProcessCluster, RuntimeConfig, Runtime};

/// Builds every task component (once) and returns the workspace.
pub fn workspace() -> &'static Workspace {
    static BUILT: OnceLock<Workspace> = OnceLock::new();
    BUILT.get_or_init(|| {
        let ws = Workspace::locate().expect("a Fusion checkout");
        builder::build(&ws, |_| {}).expect("the task components build");
        ws
    })
}

pub fn manifest(app: &str) -> AppManifest {
    AppManifest::load(&workspace().app_manifest(app)).expect("app manifest")
}

/// A running app in this process, with its telemetry in memory.
pub struct App {
    pub cluster: Arc<InProcessCluster>,
    pub sink: Arc<MemorySink>,
    pub runtime: Arc<Runtime>,
}

pub fn start(app: &str, setup: FusionSetup, config: RuntimeConfig) -> App {
    let ws = workspace();
    let runtime = Runtime::new(&ws.artifacts_dir(), config).expect("runtime");
    let sink = Arc::new(MemorySink::default());
    let cluster = InProcessCluster::start(&runtime, &manifest(app), &ws.components_dir(), setup, sink.clone()).expect("app starts");
    App { cluster, sink, runtime }
}

pub fn spans(records: &[Record]) -> Vec<&Span> {
    records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s) } else { None }).collect()
}

/// (caller, callee, mode) → how many times that call happened.
pub fn edges(records: &[Record]) -> BTreeMap<(String, String, CallMode), usize> {
    let mut edges = BTreeMap::new();
    for span in spans(records) {
        let caller = span.caller.clone().unwrap_or_else(|| "client".into());
        *edges.entry((caller, span.task.clone(), span.mode)).or_default() += 1;
    }
    edges
}

/// Builds an expected edge map from `(caller, callee, mode, count)` rows.
pub fn expect(rows: &[(&str, &str, CallMode, usize)]) -> BTreeMap<(String, String, CallMode), usize> {
    rows.iter().map(|(a, b, m, n)| ((a.to_string(), b.to_string(), *m), *n)).collect()
}

/// IoT's call graph, each edge taken once per request: what one request's spans must show.
pub fn iot_call_graph() -> BTreeMap<(String, String, CallMode), usize> {
    use CallMode::{Async, Sync};
    expect(&[
        ("client", "I", Sync, 1),
        ("I", "CW", Sync, 1),
        ("I", "SE", Sync, 1),
        ("I", "CT", Async, 1),
        ("I", "CS", Async, 1),
        ("I", "CA", Async, 1),
        ("CS", "CSL", Sync, 1),
        ("CS", "CSA", Sync, 1),
        ("CA", "DJ", Sync, 1),
        ("CA", "AS", Async, 1),
        ("CT", "AS", Async, 1),
    ])
}

pub const SMALL_WORK: &str = r#"{"work":{"burn":2.0,"sieve":2000,"db_ms":1,"sleep_ms":2}}"#;

/// A `fusion-host serve` process of the test kit with `peers` and the shared `secret`.
pub fn serve(function: &str, peers: &[(&str, &str)], secret: &str, telemetry: Option<&std::path::Path>) -> HostProcess {
    let peers = peers.iter().map(|(f, u)| (f.to_string(), u.to_string())).collect();
    let spec = HostSpec { peers, telemetry, ..HostSpec::new("testkit", function, secret) };
    HostProcess::start(workspace(), spec).expect("fusion-host starts")
}
