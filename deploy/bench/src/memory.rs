//! `fusion bench memory`: what execution environments hold, per guest language. The test kit's
//! echo task in Rust, Python and JavaScript, each in a host process of its own (one function at
//! 128 MB, all-remote), under 1, 4 and 16 concurrent calls: the process's resident memory (what
//! the OS sees; a process serves all its function's environments at once) beside the
//! environment's peak as Fusion counts and bounds it (Lambda's "Max Memory Used").

use std::time::Duration;

use anyhow::{Context, Result, bail};
use fusion_host::auth::Signer;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::Transport;
use fusion_host::telemetry::Record;
use fusion_host::{Call, CallMode, TraceContext};

use fusion_build::Language;
use fusion_cluster::host_process::{HostProcess, HostSpec};
use fusion_project::Project;

use crate::languages::ECHOES;

/// The concurrent calls each language is measured at.
pub const CONCURRENCY: [usize; 3] = [1, 4, 16];

const SECRET: &str = "memory";
const INPUT: &[u8] = br#"{"sensor":"s-1","value":21.5}"#;

/// One language at one concurrency.
pub struct MemoryRow {
    /// The language of the task.
    pub language: Language,
    /// Calls in flight at once.
    pub concurrent: usize,
    /// The process's resident memory after its first call, MB: the host with the task loaded.
    pub idle_rss_mb: f64,
    /// The process's peak resident memory, MB.
    pub peak_rss_mb: f64,
    /// Of the resident memory after the load, what is mapped from precompiled artifacts, MB: the
    /// compiled code (one copy per process) and the pool slots' linear memories initialised
    /// copy-on-write from the components' memory images.
    pub code_rss_mb: f64,
    /// The most an environment used in one invocation as Fusion counts it, MB (host share
    /// included).
    pub environment_peak_mb: u32,
    /// The most one store of the task held (linear memory and tables), MB.
    pub store_mb: f64,
}

impl MemoryRow {
    /// The process's growth under load, per environment in flight, MB.
    pub fn rss_per_environment_mb(&self) -> f64 {
        (self.peak_rss_mb - self.idle_rss_mb) / self.concurrent as f64
    }
}

/// Measures every language at every concurrency, `rounds` rounds of concurrent calls each, with
/// a fresh host process for each.
/// `keep_resident_mb` is passed to every host (`--keep-resident-mb`).
pub async fn measure(project: &Project, rounds: usize, keep_resident_mb: u64) -> Result<Vec<MemoryRow>> {
    let mut rows = Vec::new();
    for (language, task) in ECHOES {
        for concurrent in CONCURRENCY {
            rows.push(measure_one(project, language, task, concurrent, rounds, keep_resident_mb).await.with_context(|| format!("{} at {concurrent} concurrent calls", language.name()))?);
        }
    }
    Ok(rows)
}

async fn measure_one(project: &Project, language: Language, task: &str, concurrent: usize, rounds: usize, keep_resident_mb: u64) -> Result<MemoryRow> {
    let dir = tempfile::tempdir()?;
    let telemetry = dir.path().join("telemetry.jsonl");
    let spec = HostSpec { telemetry: Some(&telemetry), keep_resident_mb: Some(keep_resident_mb), ..HostSpec::new(project.name(), task, SECRET) };
    let host = tokio::task::block_in_place(|| HostProcess::start(project, spec))?;
    let transport = HttpTransport::new([(task.to_string(), host.url.clone())].into(), Some(Signer::new(SECRET)), Duration::from_secs(60))?;
    let call = || Call { task: task.to_string(), payload: INPUT.to_vec(), mode: CallMode::Sync, trace: TraceContext::new_request() };
    transport.send(task, call()).await.map_err(|e| anyhow::anyhow!("the first call failed: {e}"))?;
    let idle_rss_mb = status_mb(host.pid(), "VmRSS")?;
    for _ in 0..rounds.max(1) {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..concurrent {
            calls.spawn(transport.send(task, call()));
        }
        for result in calls.join_all().await {
            result.map_err(|e| anyhow::anyhow!("a call failed: {e}"))?;
        }
    }
    let peak_rss_mb = status_mb(host.pid(), "VmHWM")?;
    let code_rss_mb = artifact_rss_mb(host.pid())?;
    drop(host);
    let text = std::fs::read_to_string(&telemetry).with_context(|| format!("reading {}", telemetry.display()))?;
    let records: Vec<Record> = text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let environment_peak_mb = records.iter().filter_map(|r| if let Record::Invocation(i) = r { Some(i.max_memory_used_mb) } else { None }).max().unwrap_or(0);
    let store_kb = records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s.memory_used_kb) } else { None }).max().unwrap_or(0);
    Ok(MemoryRow { language, concurrent, idle_rss_mb, peak_rss_mb, code_rss_mb, environment_peak_mb, store_mb: store_kb as f64 / 1024.0 })
}

/// The resident memory of the process's mappings of precompiled artifacts (`*.cwasm`), MB.
fn artifact_rss_mb(pid: u32) -> Result<f64> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).context("reading the host's /proc smaps (Linux only)")?;
    let (mut in_artifact, mut kb) = (false, 0.0);
    for line in smaps.lines() {
        if let Some(rss) = line.strip_prefix("Rss:") {
            if in_artifact {
                kb += rss.trim().trim_end_matches("kB").trim().parse::<f64>().unwrap_or(0.0);
            }
        } else if line.split_whitespace().next().is_some_and(|range| range.contains('-') && range.chars().all(|c| c.is_ascii_hexdigit() || c == '-')) {
            in_artifact = line.trim_end().ends_with(".cwasm");
        }
    }
    Ok(kb / 1024.0)
}

/// A `/proc/PID/status` figure given in kB (`VmRSS`, `VmHWM`), in MB.
fn status_mb(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading the host's /proc status (Linux only)")?;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let kb: f64 = rest.trim().trim_end_matches("kB").trim().parse().with_context(|| format!("{field}: '{rest}'"))?;
            return Ok(kb / 1024.0);
        }
    }
    bail!("no {field} in /proc/{pid}/status")
}
