//! `fusion run`: runs requests against an application entirely in one process and reports
//! latencies and the call tree.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fusion_host::telemetry::{MemorySink, Record};
use fusion_host::{AppManifest, CallError, FusionSetup, InProcessCluster, RuntimeConfig, Preset, Runtime, TraceContext};

use crate::workspace::Workspace;

/// Which setup to run: a preset, a named setup shipped with the app, or a file.
pub fn resolve_setup(ws: &Workspace, manifest: &AppManifest, choice: &str) -> Result<FusionSetup> {
    let tasks = manifest.task_names();
    let preset = match choice {
        "all-remote" => Some(Preset::AllRemote),
        "all-local" => Some(Preset::AllLocal),
        _ => None,
    };
    if let Some(preset) = preset {
        return Ok(FusionSetup::preset(preset, &manifest.app, &tasks, &manifest.entry));
    }
    let shipped = ws.tasks_dir().join(&manifest.app).join("setups").join(format!("{choice}.json"));
    let path = if Path::new(choice).is_file() { PathBuf::from(choice) } else { shipped };
    let setup = FusionSetup::load(&path).with_context(|| {
        format!("'{choice}' is neither all-remote, all-local, a setup of app '{}' nor a readable file", manifest.app)
    })?;
    setup.validate(&manifest.app, &tasks).with_context(|| format!("setup {} is invalid", path.display()))?;
    Ok(setup)
}

/// What came out of a run.
pub struct RunReport {
    pub latencies: Vec<Duration>,
    pub errors: Vec<CallError>,
    pub records: Vec<Record>,
    pub trace_ids: Vec<String>,
    /// The response to the last request, if it succeeded.
    pub last_response: Option<Vec<u8>>,
}

/// Loads the app and its setup, then sends `requests` requests one after the other, each one
/// drained (async work finished) before the next.
pub async fn run(ws: &Workspace, app: &str, setup: FusionSetup, requests: usize, payload: &[u8]) -> Result<RunReport> {
    let manifest = AppManifest::load(&ws.app_manifest(app))?;
    let runtime = Runtime::new(&ws.artifacts_dir(), RuntimeConfig::default())?;
    let sink = Arc::new(MemorySink::default());
    let cluster = InProcessCluster::start(&runtime, &manifest, &ws.components_dir(), setup, sink.clone())?;
    let mut report = RunReport { latencies: Vec::new(), errors: Vec::new(), records: Vec::new(), trace_ids: Vec::new(), last_response: None };
    for _ in 0..requests {
        let trace = TraceContext::new_request();
        report.trace_ids.push(trace.trace_id.clone());
        let started = Instant::now();
        let result = cluster.request(trace, payload.to_vec()).await;
        report.latencies.push(started.elapsed());
        match result {
            Ok(response) => report.last_response = Some(response),
            Err(err) => report.errors.push(err),
        }
        cluster.drain().await;
    }
    report.records = sink.take();
    Ok(report)
}
