//! The measured objective a loop or a validation ranks setups by.

use fusion_optimizer::objective::Goal;
use fusion_optimizer::profile::Measured;

/// The measured objective, lower is better ([`Goal::measured`]: balanced is latency × cost); a
/// setup missing an SLO scores infinity.
pub(crate) fn score(goal: &Goal, m: &Measured) -> f64 {
    goal.measured(m.outcome())
}
