//! The measured objective a loop or a validation ranks setups by.

use fusion_optimizer::profile::Measured;
use fusion_optimizer::search::{Goal, Objective};

/// The measured objective, lower is better. Balanced is the product of latency and cost, so a
/// relative gain in either counts the same. A setup missing the latency SLO scores infinity.
pub(crate) fn score(goal: &Goal, m: &Measured) -> f64 {
    let latency_ok = goal.latency_slo_ms.is_none_or(|slo| m.p50_latency_ms <= slo);
    let base = match goal.objective {
        Objective::Cost => m.mean_cost,
        Objective::Latency => m.p50_latency_ms,
        Objective::Balanced => m.p50_latency_ms * m.mean_cost,
    };
    if latency_ok { base } else { f64::INFINITY }
}
