//! `fusion run`: runs requests against an application entirely in one process and reports
//! latencies and the call tree.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use fusion_host::kv::sqlite::SqliteKv;
use fusion_host::telemetry::{MemorySink, Record};
use fusion_host::{CallError, ErrorKind, FusionSetup, InProcessCluster, Runtime, RuntimeConfig, TraceContext};
use fusion_project::Project;

/// What came out of a run.
pub struct RunReport {
    /// Per request, until its response.
    pub latencies: Vec<Duration>,
    /// The failed requests' errors.
    pub errors: Vec<CallError>,
    /// Every span and invocation record of the run.
    pub records: Vec<Record>,
    /// Per request, its trace.
    pub trace_ids: Vec<String>,
    /// The response to the last request, if it succeeded.
    pub last_response: Option<Vec<u8>>,
    /// Requests not sent because one timed out: each would have waited as long.
    pub not_sent: usize,
}

/// Loads the app and its setup, then sends `requests` requests one after the other, each one
/// drained (async work finished) before the next. A request that times out ends the run: a
/// runaway task would hold every following request for the function's whole timeout too.
pub async fn run(project: &Project, setup: FusionSetup, config: RuntimeConfig, requests: usize, payload: &[u8]) -> Result<RunReport> {
    let manifest = fusion_cluster::app_manifest(project);
    let runtime = Runtime::new(&project.artifacts_dir(), config)?;
    let sink = Arc::new(MemorySink::default());
    let kv = SqliteKv::open(&project.kv_file(), &manifest.app)?;
    let cluster = InProcessCluster::start(&runtime, &manifest, &project.components_dir(), setup, sink.clone(), Some(kv))?;
    let mut report = RunReport { latencies: Vec::new(), errors: Vec::new(), records: Vec::new(), trace_ids: Vec::new(), last_response: None, not_sent: 0 };
    for sent in 1..=requests {
        let trace = TraceContext::new_request();
        report.trace_ids.push(trace.trace_id.clone());
        let started = Instant::now();
        let result = cluster.request(trace, payload.to_vec()).await;
        report.latencies.push(started.elapsed());
        match result {
            Ok(response) => report.last_response = Some(response),
            Err(err) => {
                let timed_out = err.kind == ErrorKind::Timeout;
                report.errors.push(err);
                if timed_out {
                    report.not_sent = requests - sent;
                }
            }
        }
        cluster.drain().await;
        if report.not_sent > 0 {
            break;
        }
    }
    report.records = sink.take();
    Ok(report)
}
