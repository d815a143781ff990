//! Validation (`fusion optimize --validate`): measures every setup on the model's predicted
//! Pareto front (with `every`, every grouping the search tried, each at its best memory sizes for
//! the goal) on the running cluster, so the pick can be compared with the measured optimum. The
//! setup that was current before is current again at the end.

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
}

/// Measures the candidates; `reporter` hears a row per measured setup.
pub async fn validate(project: &Project, store: &Store, request: &Request, load: &LoadSpec, every: bool, reporter: &dyn Reporter) -> Result<Validation> {
    let app = project.name();
    let cluster = ClusterState::running(&project.cluster_dir()).with_context(|| format!("validation needs the running cluster of {app}: start it with `fusion up`"))?;
    let (profile, _) = profile(project, store, request.version, request.pricing).await?;
    let model = Model::new(&profile, request.overheads(&cluster), request.pricing);
    let plan = search::search(&model, request.goal);
    let before = store.current_version(app).await?.context("no setup applied")?;
    let candidates = if every { &plan.per_grouping } else { &plan.pareto };
    reporter.note(&format!("measuring {} setups", candidates.len()));
    reporter.note(&Step::header("point"));
    let mut measured = Vec::new();
    for point in candidates {
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
    publish::point_to(project, store, before).await?;
    Ok(Validation { measured, mean_abs_error, best })
}
