//! The closed loop (`fusion optimize --loop`, `fusion demo`) on the app's running cluster:
//! measure the current setup under a load, profile it, pick the next setup, hot-swap to it,
//! measure again; until the strategy has nothing new to try, the measured objective stops
//! improving, or the iterations run out. The best measured setup is current at the end.

use anyhow::{Context, Result};
use fusion_cluster::ClusterState;
use fusion_cluster::publish;
use fusion_measure::load::LoadSpec;
use fusion_optimizer::heuristic::{self, grouping_of};
use fusion_optimizer::model::Model;
use fusion_optimizer::profile::EdgeProfile;
use fusion_optimizer::search::{self, Grouping, Point, describe};
use fusion_project::{Reporter, Project};
use fusion_store::Store;

use crate::profiling::measure;
use crate::propose::tasks;
use crate::request::{Request, Strategy};
use crate::score::score;
use crate::step::Step;

/// What the loop did: every measured iteration, the model's last predicted Pareto front, and the
/// app's call graph as profiled.
pub struct LoopReport {
    /// Every measured iteration, in order.
    pub steps: Vec<Step>,
    /// The model's last predicted Pareto front.
    pub front: Vec<Point>,
    /// The app's call edges as last profiled.
    pub edges: Vec<EdgeProfile>,
    /// The entry task, for the call graph.
    pub entry: String,
    /// Which step was the best for the goal (current at the end).
    pub best: usize,
    /// The best step's groups.
    pub best_grouping: Grouping,
}

/// Runs the loop; `reporter` hears a table row per measured iteration.
pub async fn run(project: &Project, store: &Store, request: &Request, load: &LoadSpec, max_iterations: usize, reporter: &dyn Reporter) -> Result<LoopReport> {
    let app = project.name();
    let cluster = ClusterState::running(&project.cluster_dir()).with_context(|| format!("the loop needs the running cluster of {app}: start it with `fusion up`"))?;
    let overheads = request.overheads(&cluster);
    let mut version = store.current_version(app).await?.context("no setup applied")?;
    let mut heuristic = heuristic::Procedure::default();
    let mut steps: Vec<Step> = Vec::new();
    let (mut groupings, mut front, mut edges, mut entry) = (Vec::new(), Vec::new(), Vec::new(), String::new());
    let mut predicted = None;
    reporter.note(&Step::header("iter"));
    for iteration in 0..max_iterations {
        let profile = measure(project, store, &cluster, load, version, request.pricing).await?;
        let tasks = tasks(&profile);
        let step = Step { version, groups: describe(&grouping_of(&profile.setup, &tasks)), predicted, measured: profile.measured.clone() };
        groupings.push(grouping_of(&profile.setup, &tasks));
        (edges, entry) = (profile.edges.clone(), profile.entry.clone());
        reporter.note(&step.row(iteration));
        let improved = steps.iter().all(|s| score(&request.goal, &step.measured) < score(&request.goal, &s.measured));
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
        let applied = publish::apply_setup(project, store, next).await?;
        version = applied.setup.version;
    }
    // Fusionize++ answers with the best median it measured; the loop keeps the best for the goal.
    let best_index = match request.strategy {
        Strategy::Model => (0..steps.len()).min_by(|&a, &b| score(&request.goal, &steps[a].measured).total_cmp(&score(&request.goal, &steps[b].measured))),
        Strategy::Heuristic => (0..steps.len()).min_by(|&a, &b| steps[a].measured.p50_latency_ms.total_cmp(&steps[b].measured.p50_latency_ms)),
    }
    .context("nothing was measured")?;
    let best = &steps[best_index];
    if best.version != version {
        publish::point_to(project, store, best.version).await?;
    }
    let best_grouping = groupings.swap_remove(best_index);
    Ok(LoopReport { steps, front, edges, entry, best: best_index, best_grouping })
}
