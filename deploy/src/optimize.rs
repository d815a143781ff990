//! `fusion optimize`: profiles the setup the app's cluster measured last (from its telemetry and
//! the setup document in the store), then proposes the next setup: the model's pick for the
//! goal, with the predicted Pareto front, or Fusionize++'s next step. `--apply` makes it current,
//! and a running cluster swaps to it.

use std::collections::BTreeSet;
use std::fmt::Write;

use anyhow::{Context, Result};
use fusion_host::telemetry::Record;
use fusion_host::{AppManifest, FusionSetup};
use fusion_optimizer::heuristic::{self, grouping_of};
use fusion_optimizer::model::{Model, Overheads};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::Profile;
use fusion_optimizer::search::{self, Goal, describe};

use crate::cluster::ClusterState;
use crate::local_store::OpenStore;
use crate::workspace::Workspace;
use crate::{extract, store_commands};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Strategy {
    /// Predict every setup with the model and pick the best for the goal.
    Model,
    /// Fusionize++'s next step: inline one remote sync edge, else sweep memory.
    Heuristic,
}

pub struct Request<'a> {
    pub app: &'a str,
    pub strategy: Strategy,
    pub goal: Goal,
    /// The setup version to profile; None: the newest in the telemetry.
    pub version: Option<u64>,
    /// Platform whose overheads the model assumes; None: the cluster's.
    pub platform: Option<&'a str>,
    pub pricing: Pricing,
    pub apply: bool,
}

/// The profile of setup `version` (default: the newest) in the app's last cluster's telemetry.
pub async fn profile(ws: &Workspace, open: &OpenStore, app: &str, version: Option<u64>, pricing: Pricing) -> Result<(Profile, ClusterState)> {
    let cluster = ClusterState::last(&ws.clusters_dir().join(app))?;
    let (records, _) = extract::read_dir(&cluster.telemetry)?;
    let newest = records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s.setup_version) } else { None }).max();
    let version = version
        .or(newest)
        .with_context(|| format!("no telemetry in {}: run `fusion load --app {app}` first", cluster.telemetry.display()))?;
    let setup = open.store.setup(app, version).await?;
    let manifest = AppManifest::load(&ws.app_manifest(app))?;
    Ok((Profile::from_records(&records, app, &manifest.entry, &manifest.task_names(), &setup, pricing)?, cluster))
}

pub async fn optimize(ws: &Workspace, open: &OpenStore, request: &Request<'_>) -> Result<()> {
    let (profile, cluster) = profile(ws, open, request.app, request.version, request.pricing).await?;
    let platform = request.platform.unwrap_or(&cluster.platform);
    let overheads = Overheads::platform(platform).with_context(|| format!("unknown platform '{platform}' (raw, lambda)"))?;
    let model = Model::new(&profile, overheads, request.pricing);
    let tasks: BTreeSet<String> = profile.tasks.keys().cloned().collect();
    let m = &profile.measured;
    println!(
        "profiled {} v{} ({}): {} requests, p50 {:.1} ms, ${:.3e} and {:.2} invocations per request",
        profile.app,
        profile.setup.version,
        describe(&grouping_of(&profile.setup, &tasks)),
        profile.requests,
        m.p50_latency_ms,
        m.mean_cost,
        m.invocations
    );
    let (latency, cost) = model.correction();
    println!("model on {platform}: measured/predicted on this setup ×{latency:.2} latency, ×{cost:.2} cost (applied as corrections)");
    let next = match request.strategy {
        Strategy::Model => {
            let plan = search::search(&model, request.goal);
            print!("{}", front_table(&plan.pareto, plan.evaluated));
            let p = plan.pick.prediction;
            println!("pick ({:?}): {} → p50 {:.1} ms, ${:.3e} per request", request.goal.objective, describe(&plan.pick.grouping), p.latency_ms, p.cost);
            let mut setup = plan.pick.setup;
            setup.created_by = format!("fusion optimize --strategy model --objective {:?}", request.goal.objective).to_lowercase();
            setup
        }
        Strategy::Heuristic => match heuristic::inline_next(&profile, &profile.setup) {
            Some(setup) => {
                println!("next ({}): {}", setup.created_by, describe(&grouping_of(&setup, &tasks)));
                setup
            }
            None => {
                println!("every sync edge is fused; the memory sweep measures each of these in turn:");
                for setup in heuristic::sweep(&profile, &profile.setup) {
                    println!("  {}", setup.created_by);
                }
                return Ok(());
            }
        },
    };
    if request.apply {
        apply(ws, open, next).await?;
    }
    Ok(())
}

async fn apply(ws: &Workspace, open: &OpenStore, setup: FusionSetup) -> Result<()> {
    let app = setup.app.clone();
    let started = std::time::Instant::now();
    let applied = store_commands::pin_and_apply(&open.store, setup).await?;
    println!("{app}: setup version {} is current", applied.version);
    store_commands::swap_running(ws, &app, applied.version, started).await
}

fn front_table(front: &[search::Point], evaluated: usize) -> String {
    let mut out = format!("predicted Pareto front ({} of {evaluated} setups evaluated):\n", front.len());
    for point in front {
        let _ = writeln!(out, "  p50 {:>9.1} ms  ${:.3e}  {}", point.prediction.latency_ms, point.prediction.cost, describe(&point.grouping));
    }
    out
}
