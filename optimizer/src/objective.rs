//! What a setup is judged by: the objective, and an optional latency SLO. One definition, used
//! alike by the search (on predictions), the loop and the validation (on measurements) and the
//! autopilot (on each request of a window).

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
}

impl Objective {
    /// Every objective with its name on the command line.
    pub const NAMED: [(&'static str, Objective); 3] = [("cost", Objective::Cost), ("latency", Objective::Latency), ("balanced", Objective::Balanced)];

    /// The objective's name on the command line.
    pub fn name(self) -> &'static str {
        fusion_host::named::name_of(&Objective::NAMED, &self)
    }

    /// The objective's value for a latency (ms) and a cost ($), lower is better: of a setup's
    /// median and mean, or of one request.
    pub fn value(self, latency_ms: f64, cost: f64) -> f64 {
        match self {
            Objective::Cost => cost,
            Objective::Latency => latency_ms,
            Objective::Balanced => latency_ms * cost,
        }
    }

    /// The other objective's value, which breaks ties (balanced has none: it weighs both).
    fn tie_breaker(self, latency_ms: f64, cost: f64) -> f64 {
        match self {
            Objective::Cost => latency_ms,
            Objective::Latency => cost,
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

/// What the optimizer aims for: an objective, optionally under a latency bound.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Goal {
    /// What to minimise among the setups that meet the latency bound.
    pub objective: Objective,
    /// Median latency must not exceed this, ms; the objective ranks what meets it.
    pub latency_slo_ms: Option<f64>,
}

/// How much the other objective weighs when it breaks a tie: only setups whose objective is the
/// same to about a millionth are ranked by the other (the same latency at a third of the cost
/// wins; a faster one still wins whatever it costs).
const TIE_WEIGHT: f64 = 1e-6;

impl Goal {
    /// Whether a median latency meets the SLO (always, without one).
    pub fn meets_slo(self, latency_ms: f64) -> bool {
        self.latency_slo_ms.is_none_or(|slo| latency_ms <= slo)
    }

    /// How a setup with this latency and cost ranks, relative to a reference setup's
    /// (`reference`: its latency and cost), lower is better: the objective's value over the
    /// reference's, the other objective's ratio breaking ties. A setup over the SLO ranks after
    /// every setup that meets it, the nearer the SLO the better, so when none meets it the
    /// fastest wins.
    pub fn rank(self, latency_ms: f64, cost: f64, reference: (f64, f64)) -> f64 {
        let (ref_latency, ref_cost) = reference;
        let relative = |v: f64, r: f64| if r > 0.0 { v / r } else { v };
        let primary = relative(self.objective.value(latency_ms, cost), self.objective.value(ref_latency, ref_cost));
        let secondary = relative(self.objective.tie_breaker(latency_ms, cost), self.objective.tie_breaker(ref_latency, ref_cost));
        match self.latency_slo_ms {
            Some(slo) if latency_ms > slo => 1e6 * (1.0 + (latency_ms - slo) / slo),
            _ => primary + TIE_WEIGHT * secondary,
        }
    }

    /// A measured setup's score (its median latency and mean cost), lower is better; infinite
    /// when it misses the SLO.
    pub fn measured(self, p50_latency_ms: f64, mean_cost: f64) -> f64 {
        if self.meets_slo(p50_latency_ms) { self.objective.value(p50_latency_ms, mean_cost) } else { f64::INFINITY }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: (f64, f64) = (100.0, 1e-5);

    #[test]
    fn balanced_is_one_product_so_a_relative_gain_in_either_counts_the_same() {
        let goal = Goal { objective: Objective::Balanced, latency_slo_ms: None };
        let faster = goal.rank(50.0, 1e-5, REFERENCE);
        let cheaper = goal.rank(100.0, 0.5e-5, REFERENCE);
        assert!((faster - cheaper).abs() < 1e-12 && (faster - 0.5).abs() < 1e-12, "{faster} {cheaper}");
        assert_eq!(goal.measured(50.0, 1e-5), 50.0 * 1e-5);
    }

    #[test]
    fn a_tie_on_the_objective_goes_to_the_other_objective() {
        let latency = Goal { objective: Objective::Latency, latency_slo_ms: None };
        assert!(latency.rank(80.0, 1e-5, REFERENCE) < latency.rank(80.0, 3.6e-5, REFERENCE), "same latency, cheaper wins");
        assert!(latency.rank(79.0, 3.6e-5, REFERENCE) < latency.rank(80.0, 1e-5, REFERENCE), "a real gain in latency still wins");
        let cost = Goal { objective: Objective::Cost, latency_slo_ms: None };
        assert!(cost.rank(50.0, 1e-5, REFERENCE) < cost.rank(90.0, 1e-5, REFERENCE), "same cost, faster wins");
    }

    #[test]
    fn under_an_slo_nothing_meets_the_fastest_ranks_first() {
        let goal = Goal { objective: Objective::Cost, latency_slo_ms: Some(10.0) };
        assert!(goal.rank(9.0, 9e-5, REFERENCE) < goal.rank(11.0, 1e-6, REFERENCE), "meeting the SLO comes first");
        assert!(goal.rank(20.0, 9e-5, REFERENCE) < goal.rank(30.0, 1e-6, REFERENCE), "nearer the SLO is better");
        assert!(goal.measured(11.0, 1e-6).is_infinite() && !goal.meets_slo(11.0) && goal.meets_slo(10.0));
    }
}
