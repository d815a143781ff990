//! Shared by the integration tests: the real components, built once per test binary.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

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

pub const SMALL_WORK: &str = r#"{"work":{"burn":2.0,"sieve":2000,"db_ms":1,"sleep_ms":2}}"#;

/// The `fusion-host` binary of this build profile, built if needed.
pub fn host_binary() -> std::path::PathBuf {
    static BUILT: OnceLock<std::path::PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf();
            let mut cargo = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cargo.args(["build", "-q", "-p", "fusion-host", "--bin", "fusion-host"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cargo.arg("--release");
            }
            assert!(cargo.status().unwrap().success(), "building fusion-host");
            profile_dir.join("fusion-host")
        })
        .clone()
}

/// A `fusion-host serve` process, killed when dropped.
pub struct HostProcess {
    pub url: String,
    child: std::process::Child,
}

impl HostProcess {
    /// Serves `function` of `app` with `peers` (function → URL) and the shared `secret`.
    pub fn start(app: &str, function: &str, peers: &[(&str, &str)], secret: &str, telemetry: Option<&std::path::Path>) -> HostProcess {
        use std::io::BufRead;
        let ws = workspace();
        let dir = tempfile::tempdir().unwrap().keep();
        let peers: BTreeMap<&str, &str> = peers.iter().copied().collect();
        let peers_file = dir.join("peers.json");
        std::fs::write(&peers_file, serde_json::to_string(&peers).unwrap()).unwrap();
        let mut cmd = std::process::Command::new(host_binary());
        cmd.arg("serve")
            .arg("--app")
            .arg(ws.app_manifest(app))
            .arg("--components")
            .arg(ws.components_dir())
            .arg("--artifacts")
            .arg(ws.artifacts_dir())
            .args(["--function", function, "--listen", "127.0.0.1:0", "--peers"])
            .arg(&peers_file)
            .env("FUSION_SECRET", secret)
            .stdout(std::process::Stdio::piped());
        if let Some(path) = telemetry {
            cmd.arg("--telemetry").arg(path);
        }
        let mut child = cmd.spawn().expect("fusion-host starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
        assert!(url.starts_with("http://"), "fusion-host said '{line}'");
        HostProcess { url, child }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
