//! The closed loop (`fusion optimize --loop`, `fusion demo`) on the app's running cluster:
//! measure the current setup under a load, profile it, pick the next setup (the model corrected
//! by every setup measured so far), hot-swap to it, measure again; until the strategy has
//! nothing new to try, the measured objective stops improving, or the iterations run out. The
//! best measured setup is current at the end.

use anyhow::{Context, Result};
use fusion_cluster::publish;
use fusion_cluster::{ClusterState, resolve_setup};
use fusion_measure::load::LoadSpec;
use fusion_optimizer::heuristic::{self, grouping_of};
use fusion_optimizer::model::{Fit, Model, Prediction};
use fusion_optimizer::objective::Goal;
use fusion_optimizer::search::{self, Grouping, Point};
use fusion_project::{Reporter, Project};
use fusion_store::Store;
use serde::{Deserialize, Serialize};

use crate::profiling::measure;
use crate::propose::tasks;
use crate::request::{Request, Strategy};
use crate::score::score;
use crate::step::Step;

/// The setup a project ships as Fusionize++'s published grouping (`setups/fusionize-optimum.json`),
/// the answer a loop is compared with.
pub const PUBLISHED: &str = "fusionize-optimum";

/// What the loop did: every measured iteration, and what the model predicted last. It is what a
/// recorded loop holds (`fusion report` renders it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoopReport {
    /// The app tuned.
    pub app: String,
    /// How the loop found each next setup.
    pub strategy: Strategy,
    /// What it aimed for.
    pub goal: Goal,
    /// The entry task: the root of the call graph.
    pub entry: String,
    /// Every measured iteration, in the order the loop tried them.
    pub steps: Vec<Step>,
    /// Which step was the best for the goal (current at the end).
    pub best: usize,
    /// The model's last predicted Pareto front (empty for the heuristic).
    pub front: Vec<Candidate>,
    /// The model's last pick (none for the heuristic).
    pub pick: Option<Candidate>,
    /// Fusionize++'s published grouping, when the project ships one ([`PUBLISHED`]), predicted by
    /// the model that predicted the front (from the last profile, for the heuristic).
    pub published: Option<Candidate>,
}

/// A setup the model predicted, by its groups (the setup itself follows from them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The tasks fused together, group by group, each group with its memory size (MB).
    pub grouping: Grouping,
    /// What the model predicts for it.
    pub prediction: Prediction,
}

impl From<&Point> for Candidate {
    fn from(point: &Point) -> Candidate {
        Candidate { grouping: point.grouping.clone(), prediction: point.prediction }
    }
}

/// Runs the loop; `reporter` hears a table row per measured iteration.
pub async fn run(project: &Project, store: &Store, request: &Request, load: &LoadSpec, max_iterations: usize, reporter: &dyn Reporter) -> Result<LoopReport> {
    let app = project.name();
    let cluster = ClusterState::running(&project.cluster_dir()).with_context(|| format!("the loop needs the running cluster of {app}: start it with `fusion up`"))?;
    let overheads = request.overheads(&cluster);
    let published = project.setups_dir().join(format!("{PUBLISHED}.json")).is_file().then(|| resolve_setup(project, PUBLISHED)).transpose();
    let published = published.with_context(|| format!("the project's {PUBLISHED} setup, which the loop's report marks as Fusionize++'s"))?;
    let mut version = store.current_version(app).await?.context("no setup applied")?;
    let mut heuristic = heuristic::Procedure::default();
    let mut steps: Vec<Step> = Vec::new();
    let (mut front, mut pick, mut predicted, mut entry) = (Vec::new(), None, None, String::new());
    // The profile the model predicted from last (the last one measured, for the heuristic).
    let mut basis = None;
    // Every setup measured before, with what it measured: the model learns its corrections from
    // all of them.
    let mut tried: Vec<(fusion_host::FusionSetup, fusion_optimizer::profile::Measured)> = Vec::new();
    reporter.note(&Step::header("iter"));
    for iteration in 0..max_iterations {
        let (profile, observed) = measure(project, store, &cluster, load, version, request.pricing).await?;
        let step = Step { version, grouping: grouping_of(&profile.setup, &tasks(&profile)), predicted, measured: profile.measured.clone(), observed };
        entry.clone_from(&profile.entry);
        reporter.note(&step.row(iteration));
        let improved = steps.iter().all(|s| score(&request.goal, &step.measured) < score(&request.goal, &s.measured));
        steps.push(step);
        let next = match request.strategy {
            Strategy::Model if iteration > 0 && !improved => break,
            Strategy::Model => {
                let model = Model::learned(&profile, overheads, request.pricing, &tried);
                let fit = model.fit();
                if fit != Fit::NONE {
                    reporter.note(&format!("      the model fitted to {} setups: hop costs ×{:.2}, CPU times ×{:.2}, waits ×{:.2}", tried.len() + 1, fit.hops, fit.cpu, fit.waits));
                }
                let plan = search::search(&model, request.goal);
                tried.push((profile.setup.clone(), profile.measured.clone()));
                basis = Some(profile);
                front = plan.pareto.iter().map(Candidate::from).collect();
                pick = Some(Candidate::from(&plan.pick));
                if plan.pick.grouping == steps[iteration].grouping {
                    break;
                }
                predicted = Some(plan.pick.prediction);
                let mut setup = plan.pick.setup;
                setup.created_by = format!("fusion optimize --loop, iteration {}", iteration + 1);
                setup
            }
            Strategy::Heuristic => {
                let next = heuristic.next(&profile);
                basis = Some(profile);
                match next {
                    Some(setup) => setup,
                    None => break,
                }
            }
        };
        let applied = publish::apply_setup(project, store, next).await?;
        version = applied.setup.version;
    }
    // Fusionize++ answers with the best median it measured; the loop keeps the best for the goal.
    let best = match request.strategy {
        Strategy::Model => (0..steps.len()).min_by(|&a, &b| score(&request.goal, &steps[a].measured).total_cmp(&score(&request.goal, &steps[b].measured))),
        Strategy::Heuristic => (0..steps.len()).min_by(|&a, &b| steps[a].measured.p50_latency_ms.total_cmp(&steps[b].measured.p50_latency_ms)),
    }
    .context("nothing was measured")?;
    if steps[best].version != version {
        publish::point_to(project, store, steps[best].version).await?;
    }
    let published = published.zip(basis.as_ref()).map(|(setup, profile)| Candidate {
        grouping: grouping_of(&setup, &tasks(profile)),
        prediction: Model::new(profile, overheads, request.pricing).predict(&setup),
    });
    Ok(LoopReport { app: app.to_string(), strategy: request.strategy, goal: request.goal, entry, steps, best, front, pick, published })
}
