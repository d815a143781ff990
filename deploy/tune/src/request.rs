//! What the user asks the optimizer for: a strategy, a goal, the profiled version, the platform
//! and the prices.

use fusion_cluster::ClusterState;
use fusion_host::platform::Platform;
use fusion_optimizer::model::Overheads;
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::objective::Goal;
use serde::{Deserialize, Serialize};

/// How the next setup is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Predict every setup with the model and pick the best for the goal.
    Model,
    /// Fusionize++'s next step: inline one remote sync edge, else sweep memory.
    Heuristic,
}

impl Strategy {
    /// Every strategy with its name on the command line.
    pub const NAMED: [(&'static str, Strategy); 2] = [("model", Strategy::Model), ("heuristic", Strategy::Heuristic)];

    /// The strategy's name on the command line.
    pub fn name(self) -> &'static str {
        fusion_host::named::name_of(&Strategy::NAMED, &self)
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;

    fn from_str(name: &str) -> Result<Strategy, String> {
        fusion_host::named::parse(&Strategy::NAMED, "strategy", name)
    }
}

/// One request to the optimizer.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// How the next setup is found.
    pub strategy: Strategy,
    /// What the model's pick optimizes.
    pub goal: Goal,
    /// The setup version to profile; None: the current one if it served requests, else the newest
    /// in the telemetry.
    pub version: Option<u64>,
    /// Platform whose overheads the model assumes; None: the cluster's.
    pub platform: Option<Platform>,
    /// The price model.
    pub pricing: Pricing,
    /// Requests per second the model predicts cold starts at; None: the profiled traffic's.
    pub traffic: Option<f64>,
    /// Make the proposal current (and hot-swap the running cluster).
    pub apply: bool,
}

impl Request {
    /// The platform whose hop costs the model assumes (the request's, else the cluster's).
    pub fn platform(&self, cluster: &ClusterState) -> Platform {
        self.platform.unwrap_or(cluster.platform)
    }

    /// The hop costs the model assumes.
    pub(crate) fn overheads(&self, cluster: &ClusterState) -> Overheads {
        Overheads::of(&self.platform(cluster))
    }
}
