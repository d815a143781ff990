//! What the workspace's tests and benchmarks share: the reference projects of the checkout with
//! their components built (by this crate's build script, once), an app started in-process, and
//! readers of its spans.

pub mod gap;
pub mod kv;

use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use fusion_cluster::host_process::{HostProcess, HostSpec};
use fusion_host::kv::sqlite::SqliteKv;
use fusion_host::telemetry::{MemorySink, Record, Span};
use fusion_host::{AppManifest, CallMode, FusionSetup, InProcessCluster, Runtime, RuntimeConfig};
use fusion_project::Project;

/// The checkout the components were built in.
pub fn checkout() -> &'static Path {
    Path::new(env!("FUSION_TEST_ROOT"))
}

/// The reference project `app` (`tasks/<app>`), its components built.
pub fn project(app: &str) -> Project {
    Project::open(&checkout().join("tasks").join(app)).expect("a reference project")
}

/// The folder of the reference project `app`, for a `-f` on the command line.
pub fn project_dir(app: &str) -> String {
    checkout().join("tasks").join(app).display().to_string()
}

/// A component of another world than `fusion:task`, built from `tasks/testkit/other-world`.
pub fn other_world_component() -> PathBuf {
    PathBuf::from(env!("FUSION_TEST_OTHER_WORLD"))
}

/// The host's view of `app`.
pub fn manifest(app: &str) -> AppManifest {
    fusion_cluster::app_manifest(&project(app))
}

/// The setup `name` (a preset, a shipped setup or a file) of `app`.
pub fn setup(app: &str, name: &str) -> FusionSetup {
    fusion_cluster::resolve_setup(&project(app), name).expect("setup resolves")
}

/// A running app in this process, with its telemetry in memory.
pub struct App {
    /// Every function of the setup, in this process.
    pub cluster: Arc<InProcessCluster>,
    /// What the app recorded.
    pub sink: Arc<MemorySink>,
    /// The runtime it runs on.
    pub runtime: Arc<Runtime>,
    /// Where its key-value stores live, a database of its own.
    pub kv_dir: tempfile::TempDir,
}

/// Starts `app` under `setup` in this process.
pub fn start(app: &str, setup: FusionSetup, config: RuntimeConfig) -> App {
    let project = project(app);
    let runtime = Runtime::new(&project.artifacts_dir(), config).expect("runtime");
    let sink = Arc::new(MemorySink::default());
    let kv_dir = tempfile::tempdir().expect("a temporary folder");
    let kv = SqliteKv::open(&kv_dir.path().join("kv.sqlite"), app).expect("a key-value database");
    let cluster = InProcessCluster::start(&runtime, &manifest(app), &project.components_dir(), setup, sink.clone(), Some(kv)).expect("app starts");
    App { cluster, sink, runtime, kv_dir }
}

/// The spans among `records`.
pub fn spans(records: &[Record]) -> Vec<&Span> {
    records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s) } else { None }).collect()
}

/// A call edge: caller (or `client`), callee, mode.
pub type Edge = (String, String, CallMode);

/// Edge → how many times that call happened.
pub fn edges(records: &[Record]) -> BTreeMap<Edge, usize> {
    let mut edges = BTreeMap::new();
    for span in spans(records) {
        let caller = span.caller.clone().unwrap_or_else(|| "client".into());
        *edges.entry((caller, span.task.clone(), span.mode)).or_default() += 1;
    }
    edges
}

/// Builds an expected edge map from `(caller, callee, mode, count)` rows.
pub fn expect(rows: &[(&str, &str, CallMode, usize)]) -> BTreeMap<Edge, usize> {
    rows.iter().map(|(a, b, m, n)| ((a.to_string(), b.to_string(), *m), *n)).collect()
}

/// IoT's call graph, each edge taken once per request: what one request's spans must show.
pub fn iot_call_graph() -> BTreeMap<Edge, usize> {
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

/// Work small enough for tests.
pub const SMALL_WORK: &str = r#"{"work":{"burn":2.0,"sieve":2000,"db_ms":1,"sleep_ms":2}}"#;

/// A `fusion-host serve` process of the test kit with `peers` and the shared `secret`.
pub fn serve(function: &str, peers: &[(&str, &str)], secret: &str, telemetry: Option<&Path>) -> HostProcess {
    let peers = peers.iter().map(|(f, u)| (f.to_string(), u.to_string())).collect();
    let spec = HostSpec { peers, telemetry, ..HostSpec::new("testkit", function, secret) };
    HostProcess::start(&project("testkit"), spec).expect("fusion-host starts")
}
