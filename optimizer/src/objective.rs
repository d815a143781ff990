//! What a setup is judged by: the objective, and optional latency and completion SLOs. One
//! definition, used alike by the search (on predictions), the loop and the validation (on
//! measurements) and the autopilot (on each request of a window).

/// What the objectives judge: a setup's medians and mean cost, predicted or measured, or one
/// request's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Until the entry task returns, ms.
    pub latency_ms: f64,
    /// Until the last of the request's work (async included) ends, ms.
    pub completion_ms: f64,
    /// Dollars.
    pub cost: f64,
}

/// What the optimizer minimises; its JSON name is its name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Dollars per request.
    Cost,
    /// Median latency.
    Latency,
    /// Latency times cost: a relative gain in either counts the same.
    Balanced,
    /// Median completion time: for apps whose real work runs on asynchronously after the
    /// response.
    Completion,
}

impl Objective {
    /// Every objective with its name on the command line.
    pub const NAMED: [(&'static str, Objective); 4] =
        [("cost", Objective::Cost), ("latency", Objective::Latency), ("balanced", Objective::Balanced), ("completion", Objective::Completion)];

    /// The objective's name on the command line.
    pub fn name(self) -> &'static str {
        fusion_host::named::name_of(&Objective::NAMED, &self)
    }

    /// The objective's value for an outcome, lower is better: of a setup's medians and mean cost,
    /// or of one request.
    pub fn value(self, o: Outcome) -> f64 {
        match self {
            Objective::Cost => o.cost,
            Objective::Latency => o.latency_ms,
            Objective::Balanced => o.latency_ms * o.cost,
            Objective::Completion => o.completion_ms,
        }
    }

    /// The other objective's value, which breaks ties (balanced has none: it weighs both).
    fn tie_breaker(self, o: Outcome) -> f64 {
        match self {
            Objective::Cost => o.latency_ms,
            Objective::Latency | Objective::Completion => o.cost,
            Objective::Balanced => 0.0,
        }
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Objective {
    type Err = String;

    fn from_str(name: &str) -> Result<Objective, String> {
        fusion_host::named::parse(&Objective::NAMED, "objective", name)
    }
}

/// What the optimizer aims for: an objective, optionally under a latency and a completion bound.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Goal {
    /// What to minimise among the setups that meet the bounds.
    pub objective: Objective,
    /// Median latency must not exceed this, ms; the objective ranks what meets it.
    pub latency_slo_ms: Option<f64>,
    /// Median completion time must not exceed this, ms (loops recorded before it have none).
    #[serde(default)]
    pub completion_slo_ms: Option<f64>,
}

/// How much the other objective weighs when it breaks a tie: only setups whose objective is the
/// same to about a millionth are ranked by the other (the same latency at a third of the cost
/// wins; a faster one still wins whatever it costs).
const TIE_WEIGHT: f64 = 1e-6;

impl Goal {
    /// A goal without SLOs.
    pub fn of(objective: Objective) -> Goal {
        Goal { objective, latency_slo_ms: None, completion_slo_ms: None }
    }

    /// How far an outcome is over the SLOs, each relative to its bound, summed: 0 when it meets
    /// them (always, without any).
    fn excess(self, o: Outcome) -> f64 {
        let over = |slo: Option<f64>, ms: f64| slo.map_or(0.0, |slo| ((ms - slo) / slo).max(0.0));
        over(self.latency_slo_ms, o.latency_ms) + over(self.completion_slo_ms, o.completion_ms)
    }

    /// Whether an outcome (its medians) meets the SLOs.
    pub fn meets_slo(self, o: Outcome) -> bool {
        self.excess(o) <= 0.0
    }

    /// How a setup with this outcome ranks, relative to a reference setup's, lower is better: the
    /// objective's value over the reference's, the other objective's ratio breaking ties. A setup
    /// over an SLO ranks after every setup that meets them, the nearer the better, so when none
    /// meets them the nearest wins.
    pub fn rank(self, o: Outcome, reference: Outcome) -> f64 {
        let relative = |v: f64, r: f64| if r > 0.0 { v / r } else { v };
        let primary = relative(self.objective.value(o), self.objective.value(reference));
        let secondary = relative(self.objective.tie_breaker(o), self.objective.tie_breaker(reference));
        let excess = self.excess(o);
        if excess > 0.0 { 1e6 * (1.0 + excess) } else { primary + TIE_WEIGHT * secondary }
    }

    /// A measured setup's score (its medians and mean cost), lower is better; infinite when it
    /// misses an SLO.
    pub fn measured(self, o: Outcome) -> f64 {
        if self.meets_slo(o) { self.objective.value(o) } else { f64::INFINITY }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A setup with no async work: it completes when it answers.
    fn at(latency_ms: f64, cost: f64) -> Outcome {
        Outcome { latency_ms, completion_ms: latency_ms, cost }
    }

    const REFERENCE: Outcome = Outcome { latency_ms: 100.0, completion_ms: 100.0, cost: 1e-5 };

    #[test]
    fn balanced_is_one_product_so_a_relative_gain_in_either_counts_the_same() {
        let goal = Goal::of(Objective::Balanced);
        let faster = goal.rank(at(50.0, 1e-5), REFERENCE);
        let cheaper = goal.rank(at(100.0, 0.5e-5), REFERENCE);
        assert!((faster - cheaper).abs() < 1e-12 && (faster - 0.5).abs() < 1e-12, "{faster} {cheaper}");
        assert_eq!(goal.measured(at(50.0, 1e-5)), 50.0 * 1e-5);
    }

    #[test]
    fn a_tie_on_the_objective_goes_to_the_other_objective() {
        let latency = Goal::of(Objective::Latency);
        assert!(latency.rank(at(80.0, 1e-5), REFERENCE) < latency.rank(at(80.0, 3.6e-5), REFERENCE), "same latency, cheaper wins");
        assert!(latency.rank(at(79.0, 3.6e-5), REFERENCE) < latency.rank(at(80.0, 1e-5), REFERENCE), "a real gain in latency still wins");
        let cost = Goal::of(Objective::Cost);
        assert!(cost.rank(at(50.0, 1e-5), REFERENCE) < cost.rank(at(90.0, 1e-5), REFERENCE), "same cost, faster wins");
    }

    #[test]
    fn under_an_slo_nothing_meets_the_fastest_ranks_first() {
        let goal = Goal { latency_slo_ms: Some(10.0), ..Goal::of(Objective::Cost) };
        assert!(goal.rank(at(9.0, 9e-5), REFERENCE) < goal.rank(at(11.0, 1e-6), REFERENCE), "meeting the SLO comes first");
        assert!(goal.rank(at(20.0, 9e-5), REFERENCE) < goal.rank(at(30.0, 1e-6), REFERENCE), "nearer the SLO is better");
        assert!(goal.measured(at(11.0, 1e-6)).is_infinite() && !goal.meets_slo(at(11.0, 1e-6)) && goal.meets_slo(at(10.0, 1e-6)));
    }

    #[test]
    fn completion_ranks_by_when_the_last_work_ends_whatever_the_latency() {
        let goal = Goal::of("completion".parse().unwrap());
        assert_eq!((goal.objective, goal.objective.to_string()), (Objective::Completion, "completion".to_string()));
        // Answers in 10 ms but its async work ends at 300 ms; answers in 50 ms, all done at 120.
        let answers_first = Outcome { latency_ms: 10.0, completion_ms: 300.0, cost: 1e-5 };
        let done_first = Outcome { latency_ms: 50.0, completion_ms: 120.0, cost: 1e-5 };
        assert!(goal.rank(done_first, REFERENCE) < goal.rank(answers_first, REFERENCE));
        assert!(Goal::of(Objective::Latency).rank(answers_first, REFERENCE) < Goal::of(Objective::Latency).rank(done_first, REFERENCE));
        assert_eq!(goal.measured(done_first), 120.0);
        let dearer = Outcome { cost: 3e-5, ..done_first };
        assert!(goal.rank(done_first, REFERENCE) < goal.rank(dearer, REFERENCE), "same completion, cheaper wins");
    }

    #[test]
    fn a_completion_slo_is_met_like_the_latency_slo_and_old_goals_have_none() {
        let goal = Goal { completion_slo_ms: Some(200.0), ..Goal::of(Objective::Latency) };
        let late = Outcome { latency_ms: 10.0, completion_ms: 250.0, cost: 1e-6 };
        let within = Outcome { latency_ms: 90.0, completion_ms: 190.0, cost: 9e-5 };
        assert!(goal.rank(within, REFERENCE) < goal.rank(late, REFERENCE), "meeting the SLO comes first");
        assert!(!goal.meets_slo(late) && goal.meets_slo(within) && goal.measured(late).is_infinite());
        let later = Outcome { completion_ms: 300.0, ..late };
        assert!(goal.rank(late, REFERENCE) < goal.rank(later, REFERENCE), "when none meets it, the nearest wins");
        // Over both SLOs ranks after over one by as much.
        let both = Goal { latency_slo_ms: Some(5.0), ..goal };
        assert!(both.rank(Outcome { latency_ms: 5.0, ..late }, REFERENCE) < both.rank(late, REFERENCE));
        let old: Goal = serde_json::from_str(r#"{"objective": "latency", "latency_slo_ms": 80.0}"#).unwrap();
        assert_eq!(old, Goal { latency_slo_ms: Some(80.0), ..Goal::of(Objective::Latency) });
    }
}
