//! `fusion bench languages`: the same trivial task (echo its JSON input) written in Rust, Python
//! and JavaScript, measured the same way in one run: component size, compile time, a host's cold
//! start, and the time of one fused call. Rust is the baseline of every ratio.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fusion_host::telemetry::Record;
use fusion_host::{AppManifest, Preset, Runtime, RuntimeConfig, FusionSetup};

use fusion_build::Language;
use fusion_measure::in_process;
use fusion_measure::stats::Summary;
use fusion_project::Project;

use crate::cold_start::{self, ColdStarts};

/// The test kit's echo task in each language.
pub const ECHOES: [(Language, &str); 3] = [(Language::Rust, "echo"), (Language::Python, "py"), (Language::JavaScript, "js")];

const INPUT: &str = r#"{"sensor":"s-1","value":21.5}"#;

/// What the echo task costs in one language.
pub struct LanguageCosts {
    /// The language.
    pub language: Language,
    /// The component's size.
    pub component_bytes: u64,
    /// Compiling the component to native code (what an artifact saves).
    pub compile: Duration,
    /// A host's cold starts, by where its artifact came from.
    pub cold_starts: ColdStarts,
    /// Median time of a sync call from a fused Rust caller, as the caller's host timed it.
    pub fused_call: Duration,
}

/// Measures every language; `runs` cold starts of each kind and `calls` fused calls each.
/// `keep_resident` is the runtime's [`RuntimeConfig::keep_resident`] for the fused calls.
pub async fn measure(project: &Project, runs: usize, calls: usize, keep_resident: usize) -> Result<Vec<LanguageCosts>> {
    let app = project.name();
    let manifest = fusion_cluster::app_manifest(project);
    let mut costs = Vec::new();
    for (language, task) in ECHOES {
        let path = manifest.component_path(&project.components_dir(), task).with_context(|| format!("no task '{task}' in {app}"))?;
        let component_bytes = std::fs::metadata(&path).with_context(|| format!("{} (run `fusion build`)", path.display()))?.len();
        let compile = compile_time(task, &path).await?;
        let cold_starts = cold_start::measure(project, "all-remote", task, runs, INPUT.as_bytes()).await?;
        let fused_call = fused_call(project, &manifest, task, calls, keep_resident).await?;
        costs.push(LanguageCosts { language, component_bytes, compile, cold_starts, fused_call });
    }
    Ok(costs)
}

/// One compile into an empty artifact cache.
async fn compile_time(task: &str, path: &std::path::Path) -> Result<Duration> {
    let cache = tempfile::tempdir()?;
    let runtime = Runtime::new(cache.path(), RuntimeConfig::default())?;
    let (task, path) = (task.to_string(), path.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        runtime.load(&task, &path)?;
        Ok(started.elapsed())
    })
    .await?
}

/// The relay task calls `task` in-process `calls` times; the median of the callee's spans.
async fn fused_call(project: &Project, manifest: &AppManifest, task: &str, calls: usize, keep_resident: usize) -> Result<Duration> {
    let setup = FusionSetup::preset(Preset::AllLocal, &manifest.app, &manifest.task_names(), &manifest.entry);
    let payload = format!(r#"{{"task":"{task}","input":{INPUT}}}"#);
    let config = RuntimeConfig { keep_resident, ..RuntimeConfig::default() };
    let report = in_process::run(project, setup, config, calls, payload.as_bytes()).await?;
    anyhow::ensure!(report.errors.is_empty(), "calls of '{task}' failed: {:?}", report.errors.first());
    let spans: Vec<Duration> = report
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Span(s) if s.task == task => Some(Duration::from_micros(s.duration_us)),
            _ => None,
        })
        .collect();
    Summary::of(&spans).map(|s| s.p50).context("no spans of the callee were recorded")
}
