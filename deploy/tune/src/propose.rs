//! One optimizer step (`fusion optimize`): profile the setup the app's cluster measured last,
//! then propose the next setup — the model's pick for the goal with the predicted Pareto front,
//! or Fusionize++'s next step — and, when asked, make it current.

use std::collections::BTreeSet;

use anyhow::Result;
use fusion_cluster::publish::{self, Applied};
use fusion_host::FusionSetup;
use fusion_host::platform::Platform;
use fusion_optimizer::heuristic;
use fusion_optimizer::model::{Correction, Model};
use fusion_optimizer::profile::Profile;
use fusion_optimizer::search::{self, Point};
use fusion_project::Project;
use fusion_store::Store;

use crate::profiling::profile;
use crate::request::{Request, Strategy};

/// What one step found.
pub struct Proposal {
    /// The profile of the measured setup.
    pub profile: Profile,
    /// The platform whose overheads the model assumed.
    pub platform: Platform,
    /// Measured over predicted on the profiled setup, applied as corrections.
    pub correction: Correction,
    /// What comes next.
    pub next: Next,
    /// The proposal made current, when the request asked for it.
    pub applied: Option<Applied>,
}

/// The proposed next setup.
pub enum Next {
    /// The model's pick for the goal, and the predicted Pareto front.
    Pick {
        /// The predicted Pareto front of latency and cost.
        front: Vec<Point>,
        /// How many setups the search predicted.
        evaluated: usize,
        /// The pick for the goal.
        pick: Point,
    },
    /// Fusionize++'s next step: one more sync edge inlined.
    Inline(FusionSetup),
    /// Every sync edge is fused: the memory sweep Fusionize++ measures next, one setup each.
    Sweep(Vec<FusionSetup>),
}

/// Profiles the measured setup and proposes the next one; applies it when the request says so.
pub async fn propose(project: &Project, store: &Store, request: &Request) -> Result<Proposal> {
    let (mut profile, cluster) = profile(project, store, request.version, request.pricing).await?;
    if let Some(rate) = request.traffic {
        profile.arrival_per_s = Some(rate);
    }
    let platform = request.platform(&cluster);
    let model = Model::new(&profile, request.overheads(&cluster), request.pricing);
    let correction = model.correction();
    let (next, setup) = match request.strategy {
        Strategy::Model => {
            let plan = search::search(&model, request.goal);
            let mut setup = plan.pick.setup.clone();
            setup.created_by = format!("fusion optimize --strategy model --objective {}", request.goal.objective);
            (Next::Pick { front: plan.pareto, evaluated: plan.evaluated, pick: plan.pick }, Some(setup))
        }
        Strategy::Heuristic => match heuristic::inline_next(&profile, &profile.setup) {
            Some(setup) => (Next::Inline(setup.clone()), Some(setup)),
            None => (Next::Sweep(heuristic::sweep(&profile, &profile.setup)), None),
        },
    };
    let applied = match setup {
        Some(setup) if request.apply => Some(publish::apply_setup(project, store, setup).await?),
        _ => None,
    };
    Ok(Proposal { profile, platform, correction, next, applied })
}

/// The profiled setup's tasks, for describing groupings.
pub fn tasks(profile: &Profile) -> BTreeSet<String> {
    profile.tasks.keys().cloned().collect()
}
