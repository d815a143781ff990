//! `fusion optimize`: profiles the setup the app's cluster measured last (from its telemetry and
//! the setup document in the store), then proposes the next setup: the model's pick for the
//! goal, with the predicted Pareto front, or Fusionize++'s next step. `--apply` makes it current,
//! and a running cluster swaps to it. The loop repeats that with a measurement in between, and
//! validation measures what the model predicted.

use std::collections::BTreeSet;
use std::fmt::Write;

use anyhow::{Context, Result};
use fusion_host::telemetry::Record;
use fusion_host::{AppManifest, FusionSetup};
use fusion_optimizer::heuristic::{self, grouping_of};
use fusion_optimizer::model::{Model, Overheads, Prediction};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::{Measured, Profile};
use fusion_optimizer::search::{self, Goal, Objective, Point, describe};
use fusion_store::Store;

use crate::cluster::ClusterState;
use crate::loadgen::{self, LoadSpec};
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

/// The platform whose hop costs the model assumes (the request's, else the cluster's).
fn overheads<'a>(request: &'a Request<'_>, cluster: &'a ClusterState) -> Result<(&'a str, Overheads)> {
    let platform = request.platform.unwrap_or(&cluster.platform);
    Ok((platform, Overheads::platform(platform).with_context(|| format!("unknown platform '{platform}' (raw, lambda)"))?))
}

/// The profile of setup `version` (default: the newest) in the app's last cluster's telemetry.
pub async fn profile(ws: &Workspace, store: &Store, app: &str, version: Option<u64>, pricing: Pricing) -> Result<(Profile, ClusterState)> {
    let cluster = ClusterState::last(&ws.clusters_dir().join(app))?;
    let (records, _) = extract::read_dir(&cluster.telemetry)?;
    let newest = records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s.setup_version) } else { None }).max();
    let version = version
        .or(newest)
        .with_context(|| format!("no telemetry in {}: run `fusion load --app {app}` first", cluster.telemetry.display()))?;
    let setup = store.setup(app, version).await?;
    let manifest = AppManifest::load(&ws.app_manifest(app))?;
    Ok((Profile::from_records(&records, app, &manifest.entry, &manifest.task_names(), &setup, pricing)?, cluster))
}

pub async fn optimize(ws: &Workspace, store: &Store, request: &Request<'_>) -> Result<()> {
    let (profile, cluster) = profile(ws, store, request.app, request.version, request.pricing).await?;
    let (platform, overheads) = overheads(request, &cluster)?;
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
        apply(ws, store, next).await?;
    }
    Ok(())
}

async fn apply(ws: &Workspace, store: &Store, setup: FusionSetup) -> Result<u64> {
    let app = setup.app.clone();
    let started = std::time::Instant::now();
    let applied = store_commands::pin_and_apply(store, setup).await?;
    println!("{app}: setup version {} is current", applied.version);
    store_commands::swap_running(ws, &app, applied.version, started).await?;
    Ok(applied.version)
}

/// What the loop did: every measured iteration, the model's last predicted Pareto front, and the
/// app's call graph as profiled.
pub struct LoopReport {
    pub steps: Vec<Step>,
    pub front: Vec<Point>,
    pub edges: Vec<fusion_optimizer::profile::EdgeProfile>,
    /// The entry task and the best setup's groups, for the call graph.
    pub entry: String,
    pub best: usize,
    pub best_grouping: search::Grouping,
}

/// One measured iteration of the loop.
pub struct Step {
    pub version: u64,
    pub groups: String,
    /// What the model predicted for this setup before it was measured.
    pub predicted: Option<Prediction>,
    pub measured: Measured,
}

/// The closed loop on the app's running cluster: measure the current setup under `load`,
/// profile it, pick the next setup, hot-swap to it, measure again; until the strategy has
/// nothing new to try, the measured objective stops improving, or `max_iterations`. The best
/// measured setup is current at the end.
pub async fn optimize_loop(ws: &Workspace, store: &Store, request: &Request<'_>, load: &LoadSpec, max_iterations: usize) -> Result<LoopReport> {
    let app = request.app;
    let cluster = ClusterState::running(&ws.clusters_dir().join(app)).with_context(|| format!("the loop needs the app's running cluster: fusion up --app {app}"))?;
    let (_, overheads) = overheads(request, &cluster)?;
    let mut version = store.current_version(app).await?.context("no setup applied")?;
    let mut heuristic = heuristic::Procedure::default();
    let mut steps: Vec<Step> = Vec::new();
    let (mut groupings, mut front, mut edges, mut entry) = (Vec::new(), Vec::new(), Vec::new(), String::new());
    let mut predicted = None;
    println!("{:<5} {:<8} {:>10} {:>12} {:>14} {:>14}  setup", "iter", "version", "p50 ms", "cost", "predicted p50", "predicted cost");
    for iteration in 0..max_iterations {
        let (profile, _) = measure(ws, store, &cluster, load, version, request.pricing).await?;
        let tasks: BTreeSet<String> = profile.tasks.keys().cloned().collect();
        let step = Step { version, groups: describe(&grouping_of(&profile.setup, &tasks)), predicted, measured: profile.measured.clone() };
        groupings.push(grouping_of(&profile.setup, &tasks));
        (edges, entry) = (profile.edges.clone(), profile.entry.clone());
        println!("{}", row(iteration, &step));
        let improved = steps.iter().all(|s| score(request, &step.measured) < score(request, &s.measured));
        steps.push(step);
        let next = match request.strategy {
            Strategy::Model if iteration > 0 && !improved => break,
            Strategy::Model => {
                let model = Model::new(&profile, overheads, request.pricing);
                let plan = search::search(&model, request.goal);
                front = plan.pareto;
                let pick = plan.pick;
                if pick.grouping == grouping_of(&profile.setup, &tasks) {
                    break;
                }
                predicted = Some(pick.prediction);
                let mut setup = pick.setup;
                setup.created_by = format!("fusion optimize --loop, iteration {}", iteration + 1);
                setup
            }
            Strategy::Heuristic => match heuristic.next(&profile) {
                Some(setup) => setup,
                None => break,
            },
        };
        version = apply(ws, store, next).await?;
    }
    // Fusionize++ answers with the best median it measured; the loop keeps the best for the goal.
    let best_index = match request.strategy {
        Strategy::Model => (0..steps.len()).min_by(|&a, &b| score(request, &steps[a].measured).total_cmp(&score(request, &steps[b].measured))),
        Strategy::Heuristic => (0..steps.len()).min_by(|&a, &b| steps[a].measured.p50_latency_ms.total_cmp(&steps[b].measured.p50_latency_ms)),
    }
    .context("nothing was measured")?;
    let best = &steps[best_index];
    if best.version != version {
        let started = std::time::Instant::now();
        store.point_to_version(app, best.version).await?;
        store_commands::swap_running(ws, app, best.version, started).await?;
    }
    println!("best: v{} {} · p50 {:.1} ms · ${:.3e} per request", best.version, best.groups, best.measured.p50_latency_ms, best.measured.mean_cost);
    let best_grouping = groupings.swap_remove(best_index);
    Ok(LoopReport { steps, front, edges, entry, best: best_index, best_grouping })
}

/// Validation: measures every setup on the model's predicted Pareto front (with `every`, every
/// grouping the search tried, each at its best memory sizes for the goal) on the running cluster
/// and prints predicted against measured, so the pick can be compared with the measured optimum.
/// The setup that was current before is current again at the end.
pub async fn validate(ws: &Workspace, store: &Store, request: &Request<'_>, load: &LoadSpec, every: bool) -> Result<()> {
    let app = request.app;
    let cluster = ClusterState::running(&ws.clusters_dir().join(app)).with_context(|| format!("validation needs the app's running cluster: fusion up --app {app}"))?;
    let (profile, _) = profile(ws, store, app, request.version, request.pricing).await?;
    let (_, overheads) = overheads(request, &cluster)?;
    let model = Model::new(&profile, overheads, request.pricing);
    let plan = search::search(&model, request.goal);
    let before = store.current_version(app).await?.context("no setup applied")?;
    println!("{:<5} {:<8} {:>10} {:>12} {:>14} {:>14}  setup", "point", "version", "p50 ms", "cost", "predicted p50", "predicted cost");
    let mut measured = Vec::new();
    let candidates = if every { &plan.per_grouping } else { &plan.pareto };
    println!("measuring {} setups", candidates.len());
    for point in candidates {
        let mut setup = point.setup.clone();
        setup.created_by = "fusion optimize --validate".into();
        let version = apply(ws, store, setup).await?;
        let (profile, _) = measure(ws, store, &cluster, load, version, request.pricing).await?;
        let step = Step { version, groups: describe(&point.grouping), predicted: Some(point.prediction), measured: profile.measured };
        println!("{}", row(measured.len(), &step));
        measured.push((point == &plan.pick, step));
    }
    let errors: Vec<(f64, f64)> = measured
        .iter()
        .filter_map(|(_, s)| s.predicted.map(|p| (p.latency_ms / s.measured.p50_latency_ms - 1.0, p.cost / s.measured.mean_cost - 1.0)))
        .collect();
    let mean_abs = |f: fn(&(f64, f64)) -> f64| errors.iter().map(|e| f(e).abs()).sum::<f64>() / errors.len().max(1) as f64 * 100.0;
    println!("mean absolute prediction error: {:.1} % latency, {:.1} % cost", mean_abs(|e| e.0), mean_abs(|e| e.1));
    if let Some((_, best)) = measured.iter().min_by(|a, b| score(request, &a.1.measured).total_cmp(&score(request, &b.1.measured))) {
        let pick = measured.iter().find(|(is_pick, _)| *is_pick).map(|(_, s)| s.version);
        let verdict = if pick == Some(best.version) { "the model's pick" } else { "not the model's pick" };
        println!("measured best for {:?}: v{} ({verdict}) {}", request.goal.objective, best.version, best.groups);
    }
    let started = std::time::Instant::now();
    store.point_to_version(app, before).await?;
    store_commands::swap_running(ws, app, before, started).await
}

/// Runs `load` on the cluster and profiles setup `version` from its telemetry.
async fn measure(ws: &Workspace, store: &Store, cluster: &ClusterState, load: &LoadSpec, version: u64, pricing: Pricing) -> Result<(Profile, ClusterState)> {
    let outcomes = loadgen::run(cluster, load, |_| {}).await?;
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    anyhow::ensure!(failed == 0, "{failed} of {} requests failed while measuring version {version}", outcomes.len());
    loadgen::wait_idle(cluster).await?;
    profile(ws, store, &cluster.app, Some(version), pricing).await
}

/// The measured objective, lower is better. Balanced is the product of latency and cost, so a
/// relative gain in either counts the same.
fn score(request: &Request<'_>, m: &Measured) -> f64 {
    let latency_ok = request.goal.latency_slo_ms.is_none_or(|slo| m.p50_latency_ms <= slo);
    let base = match request.goal.objective {
        Objective::Cost => m.mean_cost,
        Objective::Latency => m.p50_latency_ms,
        Objective::Balanced => m.p50_latency_ms * m.mean_cost,
    };
    if latency_ok { base } else { f64::INFINITY }
}

fn row(iteration: usize, step: &Step) -> String {
    let (p50, cost) = step.predicted.map_or(("-".into(), "-".into()), |p| (format!("{:.1}", p.latency_ms), format!("{:.3e}", p.cost)));
    format!(
        "{iteration:<5} v{:<7} {:>10.1} {:>12} {p50:>14} {cost:>14}  {}",
        step.version,
        step.measured.p50_latency_ms,
        format!("{:.3e}", step.measured.mean_cost),
        step.groups
    )
}

fn front_table(front: &[search::Point], evaluated: usize) -> String {
    let mut out = format!("predicted Pareto front ({} of {evaluated} setups evaluated):\n", front.len());
    for point in front {
        let _ = writeln!(out, "  p50 {:>9.1} ms  ${:.3e}  {}", point.prediction.latency_ms, point.prediction.cost, describe(&point.grouping));
    }
    out
}
