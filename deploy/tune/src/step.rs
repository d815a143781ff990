//! One measured setup, with what the model predicted for it.

use fusion_measure::observed::Observed;
use fusion_optimizer::model::Prediction;
use fusion_optimizer::profile::Measured;
use fusion_optimizer::search::{Grouping, describe};
use serde::{Deserialize, Serialize};


/// One measured iteration of the loop, or one measured point of a validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// The setup version measured.
    pub version: u64,
    /// Its groups, each with its memory size.
    pub grouping: Grouping,
    /// What the model predicted for this setup before it was measured.
    pub predicted: Option<Prediction>,
    /// What it measured, as the optimizer ranks setups by.
    pub measured: Measured,
    /// What its requests showed beyond that, for people: the latencies, the bill, the call graph.
    pub observed: Observed,
}

impl Step {
    /// Its groups, for people.
    pub fn groups(&self) -> String {
        describe(&self.grouping)
    }

    /// The header of [`Step::row`]'s table, its first column named `index`.
    pub fn header(index: &str) -> String {
        format!("{index:<5} {:<8} {:>10} {:>10} {:>12} {:>14} {:>14} {:>14}  setup", "version", "p50 ms", "done ms", "cost", "predicted p50", "predicted done", "predicted cost")
    }

    /// The step as a table row, `index` first; "done" is the median completion time.
    pub fn row(&self, index: usize) -> String {
        let (p50, done, cost) = self.predicted.map_or(("-".into(), "-".into(), "-".into()), |p| (format!("{:.1}", p.latency_ms), format!("{:.1}", p.completion_ms), format!("{:.3e}", p.cost)));
        format!(
            "{index:<5} v{:<7} {:>10.1} {:>10.1} {:>12} {p50:>14} {done:>14} {cost:>14}  {}",
            self.version,
            self.measured.p50_latency_ms,
            self.measured.p50_completion_ms,
            format!("{:.3e}", self.measured.mean_cost),
            self.groups()
        )
    }
}
