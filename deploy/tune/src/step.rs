//! One measured setup, with what the model predicted for it.

use fusion_optimizer::model::Prediction;
use fusion_optimizer::profile::Measured;

/// One measured iteration of the loop, or one measured point of a validation.
#[derive(Debug, Clone)]
pub struct Step {
    /// The setup version measured.
    pub version: u64,
    /// Its groups, for people.
    pub groups: String,
    /// What the model predicted for this setup before it was measured.
    pub predicted: Option<Prediction>,
    /// What it measured.
    pub measured: Measured,
}

impl Step {
    /// The header of [`Step::row`]'s table, its first column named `index`.
    pub fn header(index: &str) -> String {
        format!("{index:<5} {:<8} {:>10} {:>12} {:>14} {:>14}  setup", "version", "p50 ms", "cost", "predicted p50", "predicted cost")
    }

    /// The step as a table row, `index` first.
    pub fn row(&self, index: usize) -> String {
        let (p50, cost) = self.predicted.map_or(("-".into(), "-".into()), |p| (format!("{:.1}", p.latency_ms), format!("{:.3e}", p.cost)));
        format!(
            "{index:<5} v{:<7} {:>10.1} {:>12} {p50:>14} {cost:>14}  {}",
            self.version,
            self.measured.p50_latency_ms,
            format!("{:.3e}", self.measured.mean_cost),
            self.groups
        )
    }
}
