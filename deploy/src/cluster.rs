//! A local cluster: one `fusion-host serve` process per function of a setup, on loopback ports,
//! sharing a fresh secret, each writing its telemetry to `<dir>/telemetry/<function>.jsonl`.
//! The cluster's state file lets other commands (`fusion load`, `fusion extract`) find it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fusion_host::{AppManifest, FusionSetup};
use serde::{Deserialize, Serialize};

use crate::host_process::{HostProcess, HostSpec};
use crate::random::random_hex;
use crate::workspace::Workspace;

/// What a running cluster tells other commands about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    pub app: String,
    pub entry: String,
    /// The setup as chosen on the command line, and what it looks like.
    pub setup: String,
    pub groups: String,
    pub platform: String,
    /// Function → base URL.
    pub endpoints: BTreeMap<String, String>,
    pub secret: String,
    pub telemetry: PathBuf,
    /// The process that owns the hosts.
    pub pid: u32,
}

impl ClusterState {
    const FILE: &'static str = "cluster.json";

    /// The state of the cluster in `dir`, if its owner is still running.
    pub fn running(dir: &Path) -> Option<ClusterState> {
        let text = std::fs::read_to_string(dir.join(Self::FILE)).ok()?;
        let state: ClusterState = serde_json::from_str(&text).ok()?;
        // SAFETY: signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(state.pid as libc::pid_t, 0) } == 0;
        alive.then_some(state)
    }

    /// The state last written in `dir`, running or not (its telemetry stays behind).
    pub fn last(dir: &Path) -> Result<ClusterState> {
        let path = dir.join(Self::FILE);
        let text = std::fs::read_to_string(&path).with_context(|| format!("no cluster was started here ({} is missing)", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }
}

pub struct LocalCluster {
    pub state: ClusterState,
    pub dir: PathBuf,
    hosts: Vec<HostProcess>,
}

impl LocalCluster {
    /// Starts every function of `setup` in `dir` (its old telemetry is removed) and records the
    /// cluster's state there. `label` names the setup as the user chose it.
    pub fn start(ws: &Workspace, dir: &Path, manifest: &AppManifest, setup: &FusionSetup, label: &str, platform: &str) -> Result<LocalCluster> {
        let telemetry = dir.join("telemetry");
        if telemetry.exists() {
            std::fs::remove_dir_all(&telemetry).with_context(|| format!("cannot clear {}", telemetry.display()))?;
        }
        std::fs::create_dir_all(&telemetry).with_context(|| format!("cannot create {}", telemetry.display()))?;
        let setup_file = dir.join("setup.json");
        std::fs::write(&setup_file, serde_json::to_string_pretty(setup)?)?;
        let secret = random_hex(32)?;
        let functions = manifest.task_names();
        // Every host must know every peer's address before it starts: reserve the ports first.
        let endpoints: BTreeMap<String, String> = free_ports(functions.len())?
            .into_iter()
            .zip(&functions)
            .map(|(port, function)| (function.clone(), format!("http://127.0.0.1:{port}")))
            .collect();
        let mut hosts = Vec::new();
        for function in &functions {
            let listen = endpoints[function].trim_start_matches("http://").to_string();
            let log = telemetry.join(format!("{function}.jsonl"));
            let spec = HostSpec {
                setup: Some(&setup_file),
                peers: endpoints.clone(),
                telemetry: Some(&log),
                listen: &listen,
                platform,
                ..HostSpec::new(&manifest.app, function, &secret)
            };
            hosts.push(HostProcess::start(ws, spec)?);
        }
        let state = ClusterState {
            app: manifest.app.clone(),
            entry: manifest.entry.clone(),
            setup: label.to_string(),
            groups: setup.describe(),
            platform: platform.to_string(),
            endpoints,
            secret,
            telemetry,
            pid: std::process::id(),
        };
        std::fs::write(dir.join(ClusterState::FILE), serde_json::to_string_pretty(&state)?)?;
        Ok(LocalCluster { state, dir: dir.to_path_buf(), hosts })
    }

    /// Stops every host; each finishes the work it accepted first (for a few seconds at most).
    pub fn stop(mut self) {
        for host in &mut self.hosts {
            host.terminate();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        for host in &mut self.hosts {
            host.wait_until(deadline);
        }
    }
}

/// Ports the OS hands out as free right now. They are released before the hosts bind them, so
/// another process could take one in between; the host then fails to start with a clear error.
fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0")).collect::<std::io::Result<Vec<_>>>()?;
    Ok(listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect::<std::io::Result<Vec<_>>>()?)
}
