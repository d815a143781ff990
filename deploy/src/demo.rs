//! `fusion demo`: the main job on the embedded default. Per app, a cluster starts all-remote on
//! the embedded store; the optimizer loop measures, optimizes and hot-swaps until nothing
//! improves; the HTML report shows every iteration, the predicted Pareto front and the call graph
//! coloured by the groups it ended with.

use std::path::{Path, PathBuf};

use anyhow::Result;
use fusion_host::{AppManifest, FusionSetup, Preset};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::search::Goal;

use crate::cluster::LocalCluster;
use crate::html_report;
use crate::loadgen::LoadSpec;
use crate::local_store;
use crate::optimize::{self, LoopReport, Request, Strategy};
use crate::workspace::Workspace;

pub struct DemoSpec<'a> {
    pub apps: &'a [String],
    pub platform: &'a str,
    pub load: LoadSpec,
    pub max_iterations: usize,
    pub goal: Goal,
    pub pricing: Pricing,
    pub report: PathBuf,
}

/// Runs the loop for every app and writes the report; returns what each loop did.
pub async fn run(ws: &Workspace, spec: &DemoSpec<'_>) -> Result<Vec<(String, LoopReport)>> {
    let mut reports = Vec::new();
    for app in spec.apps {
        let manifest = AppManifest::load(&ws.app_manifest(app))?;
        let start = FusionSetup::preset(Preset::AllRemote, app, &manifest.task_names(), &manifest.entry);
        let store = local_store::open(ws).await?;
        let cluster = LocalCluster::start(ws, &ws.clusters_dir().join(app), &manifest, &start, "all-remote", spec.platform, store).await?;
        println!("\n{app}: {} hosts up, all-remote, platform {}; optimizing at {} req/s, {:.0} s per measurement", cluster.state.endpoints.len(), spec.platform, spec.load.rate, spec.load.duration.as_secs_f64());
        let request = Request { app, strategy: Strategy::Model, goal: spec.goal, version: None, platform: None, pricing: spec.pricing, apply: true };
        let report = optimize::optimize_loop(ws, cluster.store(), &request, &spec.load, spec.max_iterations).await;
        cluster.stop();
        reports.push((app.clone(), report?));
    }
    write_report(&spec.report, &reports)?;
    println!("\nreport: {}", spec.report.display());
    Ok(reports)
}

fn write_report(path: &Path, reports: &[(String, LoopReport)]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, html_report::render(reports))?;
    Ok(())
}
