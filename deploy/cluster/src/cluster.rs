//! A local cluster: one `fusion-host serve` process per function, on loopback ports, sharing a
//! fresh secret, each writing its telemetry to `<dir>/telemetry/<function>.jsonl`. The hosts
//! start from the store (the embedded S3 server unless `FUSION_S3_BUCKET` names another) and
//! follow its current setup. The cluster's state file lets other commands (`fusion load`,
//! `fusion extract`, `fusion setup apply`) find it and its store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fusion_host::platform::Platform;
use fusion_host::FusionSetup;
use fusion_project::Project;

use crate::app_manifest::app_manifest;
use crate::host_process::{HostProcess, HostSpec};
use crate::publish;
use crate::random::random_hex;
use crate::state::ClusterState;
use crate::store::OpenStore;

/// A running cluster: its hosts and the store they follow. Stopped by [`LocalCluster::stop`].
pub struct LocalCluster {
    /// What the state file says about it.
    pub state: ClusterState,
    /// Its folder: state file and telemetry.
    pub dir: PathBuf,
    hosts: Vec<HostProcess>,
    /// The store the hosts follow; an embedded one runs as long as the cluster.
    store: OpenStore,
}

impl LocalCluster {
    /// Pushes the app's components to `store`, applies `setup` as the app's current setup, and
    /// starts a host for every function in `dir` (its old telemetry is removed), recording the
    /// cluster's state there. `label` names the setup as the user chose it.
    pub async fn start(
        project: &Project,
        dir: &Path,
        setup: &FusionSetup,
        label: &str,
        platform: Platform,
        store: OpenStore,
    ) -> Result<LocalCluster> {
        let manifest = &app_manifest(project);
        let telemetry = dir.join("telemetry");
        if telemetry.exists() {
            std::fs::remove_dir_all(&telemetry).with_context(|| format!("cannot clear {}", telemetry.display()))?;
        }
        std::fs::create_dir_all(&telemetry).with_context(|| format!("cannot create {}", telemetry.display()))?;
        publish::upload(project, &store.store).await?;
        let mut setup = setup.clone();
        if setup.created_by.is_empty() {
            setup.created_by = format!("fusion up {label}");
        }
        // Started again on the setup that is current, the cluster serves that version.
        let applied = publish::pin_and_apply_if_new(&store.store, setup).await?;
        let secret = random_hex(32)?;
        let functions = manifest.task_names();
        // Every host must know every peer's address before it starts: reserve the ports first.
        let mut ports = free_ports(functions.len() + 1)?;
        let front_door = format!("127.0.0.1:{}", ports.pop().expect("one port more than functions"));
        let endpoints: BTreeMap<String, String> =
            ports.into_iter().zip(&functions).map(|(port, function)| (function.clone(), format!("http://127.0.0.1:{port}"))).collect();
        // Spawned from this thread (their parent-death signal follows it), then waited for side
        // by side while the store keeps serving them.
        let mut spawned = Vec::new();
        for function in &functions {
            let listen = endpoints[function].trim_start_matches("http://");
            let log = telemetry.join(format!("{function}.jsonl"));
            let spec = HostSpec {
                store: Some(&store.access),
                peers: endpoints.clone(),
                telemetry: Some(&log),
                listen,
                platform,
                public_listen: (*function == manifest.entry).then_some(front_door.as_str()),
                ..HostSpec::new(&manifest.app, function, &secret)
            };
            spawned.push(HostProcess::spawn(project, spec)?);
        }
        let hosts = tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let waiting: Vec<_> = spawned.into_iter().map(|host| scope.spawn(move || host.ready())).collect();
                waiting.into_iter().map(|w| w.join().expect("waiting for a host does not panic")).collect::<Result<Vec<_>>>()
            })
        })?;
        let state = ClusterState {
            app: manifest.app.clone(),
            entry: manifest.entry.clone(),
            setup: label.to_string(),
            groups: applied.describe(),
            platform,
            endpoints,
            secret,
            telemetry,
            pid: std::process::id(),
            setup_version: applied.version,
            front_door: Some(format!("http://{front_door}/")),
            store_endpoint: store.embedded.then(|| store.access.endpoint.clone()).flatten(),
        };
        std::fs::write(dir.join(ClusterState::FILE), serde_json::to_string_pretty(&state)?)?;
        Ok(LocalCluster { state, dir: dir.to_path_buf(), hosts, store })
    }

    /// The store the hosts follow.
    pub fn store(&self) -> &fusion_store::Store {
        &self.store.store
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
