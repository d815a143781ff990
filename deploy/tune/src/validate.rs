//! Validation (`fusion optimize --validate`): measures every setup on the model's predicted
//! Pareto front (with `every`, every grouping the search tried, each at its best memory sizes for
//! the goal), the pick, and optionally a random sample of connected groupings (what a search
//! beyond exhaustive chose among without measuring) on the running cluster, so the pick can be
//! compared with the measured optimum. The setup that was current before is current again at the
//! end.

use anyhow::{Context, Result};
use fusion_cluster::ClusterState;
use fusion_cluster::publish;
use fusion_measure::load::LoadSpec;
use fusion_optimizer::model::Model;
use fusion_optimizer::search;
use fusion_project::{Reporter, Project};
use fusion_store::Store;

use crate::profiling::{measure, profile};
use crate::request::Request;
use crate::score::score;
use crate::step::Step;

/// Predicted against measured, for every setup validated.
pub struct Validation {
    /// Each measured setup, and whether it is the model's pick.
    pub measured: Vec<(bool, Step)>,
    /// Mean absolute prediction error, percent: latency, cost.
    pub mean_abs_error: (f64, f64),
    /// The measured best for the goal, and whether it is the model's pick.
    pub best: Option<(Step, bool)>,
    /// How much worse than the measured best the pick measured for the goal, percent (0: it is
    /// the best).
    pub pick_behind_best: Option<f64>,
}

/// Which setups a validation measures besides the pick.
#[derive(Debug, Clone, Copy)]
pub struct Candidates {
    /// Every grouping the search tried, not only the predicted Pareto front.
    pub every: bool,
    /// This many random connected groupings too.
    pub sample: usize,
}

/// Measures the candidates; `reporter` hears a row per measured setup.
pub async fn validate(project: &Project, store: &Store, request: &Request, load: &LoadSpec, which: Candidates, reporter: &dyn Reporter) -> Result<Validation> {
    let app = project.name();
    let cluster = ClusterState::running(&project.cluster_dir()).with_context(|| format!("validation needs the running cluster of {app}: start it with `fusion up`"))?;
    let (profile, _) = profile(project, store, request.version, request.pricing).await?;
    let model = Model::new(&profile, request.overheads(&cluster), request.pricing);
    let plan = search::search(&model, request.goal);
    let before = store.current_version(app).await?.context("no setup applied")?;
    let mut candidates = if which.every { plan.per_grouping.clone() } else { plan.pareto.clone() };
    candidates.push(plan.pick.clone());
    candidates.extend(search::sample(&model, request.goal, which.sample, 0x5eed));
    let mut seen = std::collections::BTreeSet::new();
    candidates.retain(|point| seen.insert(point.grouping.clone()));
    reporter.note(&format!("measuring {} setups", candidates.len()));
    reporter.note(&Step::header("point"));
    let mut measured = Vec::new();
    for point in &candidates {
        let mut setup = point.setup.clone();
        setup.created_by = "fusion optimize --validate".into();
        let version = publish::apply_setup(project, store, setup).await?.setup.version;
        let (profile, observed) = measure(project, store, &cluster, load, version, request.pricing).await?;
        let step = Step { version, grouping: point.grouping.clone(), predicted: Some(point.prediction), measured: profile.measured, observed };
        reporter.note(&step.row(measured.len()));
        measured.push((point == &plan.pick, step));
    }
    let errors: Vec<(f64, f64)> = measured
        .iter()
        .filter_map(|(_, s)| s.predicted.map(|p| (p.latency_ms / s.measured.p50_latency_ms - 1.0, p.cost / s.measured.mean_cost - 1.0)))
        .collect();
    let mean_abs = |f: fn(&(f64, f64)) -> f64| errors.iter().map(|e| f(e).abs()).sum::<f64>() / errors.len().max(1) as f64 * 100.0;
    let mean_abs_error = (mean_abs(|e| e.0), mean_abs(|e| e.1));
    let best = measured.iter().min_by(|a, b| score(&request.goal, &a.1.measured).total_cmp(&score(&request.goal, &b.1.measured))).map(|(is_pick, s)| (s.clone(), *is_pick));
    let pick = measured.iter().find(|(is_pick, _)| *is_pick).map(|(_, s)| score(&request.goal, &s.measured));
    let pick_behind_best = pick.zip(best.as_ref()).map(|(pick, (best, _))| (pick / score(&request.goal, &best.measured) - 1.0) * 100.0);
    publish::point_to(project, store, before).await?;
    Ok(Validation { measured, mean_abs_error, best, pick_behind_best })
}
