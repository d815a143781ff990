//! What the autopilot decides after each window, apart from how windows are measured and how a
//! setup is applied: judge the setup on trial against the window before it, notice a changed
//! workload, and apply the model's pick only when its predicted gain beats the threshold.

use std::collections::BTreeSet;

use fusion_host::FusionSetup;
use fusion_optimizer::heuristic::grouping_of;
use fusion_optimizer::model::Model;
use fusion_optimizer::objective::Goal;
use fusion_optimizer::profile::median;
use fusion_optimizer::search::{self, Grouping, describe};
use serde::Serialize;

use super::rank_test;
use super::window::Measurement;
use super::workload::Workload;

/// The autopilot's thresholds.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// What the pick optimizes.
    pub goal: Goal,
    /// The predicted gain for the objective a new setup must promise, as a fraction (0.1: 10 %).
    pub min_gain: f64,
    /// The rank test's significance level: a setup on trial is rolled back when the test finds
    /// its window worse with a p-value below this.
    pub alpha: f64,
}

/// A setup on trial: applied after a window of the setup before it, judged on the next.
struct Trial {
    before: Measurement,
    grouping: Grouping,
}

/// The decision state carried from window to window.
pub struct Pilot {
    thresholds: Thresholds,
    trial: Option<Trial>,
    /// The workload of the last window, for drift.
    workload: Option<Workload>,
    /// Groupings rolled back under the current workload: not tried again until it changes.
    rejected: Vec<Grouping>,
}

/// How a setup on trial was judged.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    /// The version it was measured against, and its own.
    pub before: u64,
    /// The version on trial.
    pub after: u64,
    /// The rank test's one-sided p-value for "the trial is worse" (None: not tested, the
    /// workload changed between the two windows).
    pub p_value: Option<f64>,
    /// Worse at the significance level: rolled back.
    pub worse: bool,
}

/// What to do after a window.
#[derive(Debug, Clone)]
pub enum Action {
    /// Make this setup current (the model's pick, or the one before a rolled-back trial).
    Apply(FusionSetup),
    /// Keep the current setup.
    Hold,
}

/// One window's decision, with why.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The edges whose calls per request moved since the last window (empty: the same workload).
    pub drift: Vec<(String, f64, f64)>,
    /// The verdict on the setup on trial, if one was.
    pub judgement: Option<Judgement>,
    /// What to do.
    pub action: Action,
    /// Why, for people and for the setup history.
    pub reason: String,
}

impl Pilot {
    /// A pilot with nothing measured yet.
    pub fn new(thresholds: Thresholds) -> Pilot {
        Pilot { thresholds, trial: None, workload: None, rejected: Vec::new() }
    }

    /// Forgets the trial (the current setup was changed by someone else).
    pub fn abandon_trial(&mut self) {
        self.trial = None;
    }

    /// Decides after window `index`, measured as `m`, with the model built from its profile.
    pub fn decide(&mut self, index: usize, m: &Measurement, model: &Model<'_>) -> Decision {
        let goal = self.thresholds.goal;
        let drift = self.workload.as_ref().map(|before| m.workload.moved_from(before)).unwrap_or_default();
        self.workload = Some(m.workload.clone());
        if !drift.is_empty() {
            // A setup rolled back under the old workload may suit the new one.
            self.rejected.clear();
        }
        let mut judgement = None;
        if let Some(trial) = self.trial.take() {
            let before = trial.before.setup.version;
            if !drift.is_empty() {
                judgement = Some(Judgement { before, after: m.setup.version, p_value: None, worse: false });
            } else {
                let p_value = rank_test::larger(&m.samples, &trial.before.samples).map_or(1.0, |t| t.p_value);
                let worse = p_value < self.thresholds.alpha;
                judgement = Some(Judgement { before, after: m.setup.version, p_value: Some(p_value), worse });
                if worse {
                    self.rejected.push(trial.grouping);
                    let reason = format!(
                        "fusion autopilot, window {index}: rolled v{} back to v{before}'s setup: measured worse for {} (Mann–Whitney p = {p_value:.1e} < α = {}; median per request {} → {})",
                        m.setup.version,
                        goal.objective,
                        self.thresholds.alpha,
                        shown(median(&mut trial.before.samples.clone())),
                        shown(median(&mut m.samples.clone())),
                    );
                    let mut setup = trial.before.setup.clone();
                    setup.version = 0;
                    setup.parent = None;
                    setup.created_by = reason.clone();
                    return Decision { drift, judgement, action: Action::Apply(setup), reason };
                }
            }
        }
        let (action, reason) = self.optimize(index, m, model, !drift.is_empty());
        if let Action::Apply(setup) = &action {
            self.trial = Some(Trial { before: m.clone(), grouping: grouping_of(setup, &tasks(m)) });
        }
        Decision { drift, judgement, action, reason }
    }

    /// The model's pick from this window's profile, if it promises enough.
    fn optimize(&self, index: usize, m: &Measurement, model: &Model<'_>, drifted: bool) -> (Action, String) {
        let goal = self.thresholds.goal;
        let plan = search::search(model, goal);
        let current = model.predict(&m.setup);
        let pick = plan.pick.prediction;
        let reference = current.outcome();
        let gain = 1.0 - goal.rank(pick.outcome(), reference) / goal.rank(reference, reference);
        let tasks = tasks(m);
        if same_grouping(&plan.pick.grouping, &grouping_of(&m.setup, &tasks)) {
            return (Action::Hold, "the current setup is the model's pick".into());
        }
        let predicted = format!(
            "{} predicted {:+.1} % (p50 {:.1} → {:.1} ms, ${:.3e} → ${:.3e} per request)",
            goal.objective,
            -100.0 * gain,
            current.latency_ms,
            pick.latency_ms,
            current.cost,
            pick.cost
        );
        if gain < self.thresholds.min_gain {
            return (Action::Hold, format!("the pick {}: {predicted}, below the {:.0} % threshold", describe(&plan.pick.grouping), 100.0 * self.thresholds.min_gain));
        }
        if self.rejected.iter().any(|r| same_blocks(r, &plan.pick.grouping)) {
            return (Action::Hold, format!("the pick {} was rolled back under this workload", describe(&plan.pick.grouping)));
        }
        let slo = if goal.meets_slo(pick.outcome()) { "" } else { "; no setup is predicted to meet the SLO, this is the nearest" };
        let after_drift = if drifted { " after the workload changed" } else { "" };
        let reason = format!("fusion autopilot, window {index}{after_drift}: {} {predicted}{slo}", describe(&plan.pick.grouping));
        let mut setup = plan.pick.setup;
        setup.created_by = reason.clone();
        (Action::Apply(setup), reason)
    }
}

fn tasks(m: &Measurement) -> BTreeSet<String> {
    m.profile.tasks.keys().cloned().collect()
}

/// The same groups with the same memory sizes, in any order.
fn same_grouping(a: &Grouping, b: &Grouping) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

/// The same groups, whatever their memory sizes.
fn same_blocks(a: &Grouping, b: &Grouping) -> bool {
    a.iter().map(|(g, _)| g).collect::<BTreeSet<_>>() == b.iter().map(|(g, _)| g).collect::<BTreeSet<_>>()
}

/// A per-request value for people: a latency in ms, a cost in $ or their product.
fn shown(value: f64) -> String {
    if value >= 0.01 { format!("{value:.1}") } else { format!("{value:.3e}") }
}
