//! A measured load run: the load sent to a cluster, the cluster left to go idle, and what its
//! telemetry says about the requests of the run.

use std::time::Duration;

use anyhow::Result;
use fusion_cluster::ClusterState;
use fusion_optimizer::pricing::Pricing;

use crate::extract::{self, RequestReport, VersionReport};
use crate::load::{self, LoadSpec, Outcome, Profile, Progress};
use crate::stats::Summary;

/// A load run and what was extracted from its telemetry.
pub struct LoadResult {
    /// The cluster it ran on.
    pub cluster: ClusterState,
    /// The workload's shape.
    pub profile: Profile,
    /// Its rate, requests per second.
    pub rate: f64,
    /// What happened to each request, as the client saw it.
    pub outcomes: Vec<Outcome>,
    /// What the telemetry says, per setup version that served the run.
    pub versions: Vec<VersionReport>,
}

impl LoadResult {
    /// Latency of the requests that succeeded.
    pub fn latency(&self) -> Option<Summary> {
        let ok: Vec<Duration> = self.outcomes.iter().filter(|o| o.error.is_none()).map(|o| o.latency).collect();
        Summary::of(&ok)
    }

    /// How many requests failed.
    pub fn errors(&self) -> usize {
        self.outcomes.iter().filter(|o| o.error.is_some()).count()
    }

    /// Mean over every extracted request of the run.
    pub fn per_request(&self, f: impl Fn(&RequestReport) -> f64) -> f64 {
        extract::mean(self.versions.iter().flat_map(|v| &v.requests), f)
    }
}


/// Runs `spec` against the cluster (`progress` hears how far it is), waits for the cluster to go
/// idle and extracts the run's requests from its telemetry.
pub async fn measure(cluster: &ClusterState, spec: &LoadSpec, pricing: Pricing, progress: impl FnMut(&Progress)) -> Result<LoadResult> {
    let outcomes = load::run(cluster, spec, progress).await?;
    load::wait_idle(cluster).await?;
    let traces = outcomes.iter().map(|o| o.trace_id.clone()).collect();
    let (records, _) = extract::read_dir(&cluster.telemetry, None)?;
    let versions = extract::extract(&records, pricing, Some(&traces));
    Ok(LoadResult { cluster: cluster.clone(), profile: spec.profile, rate: spec.rate, outcomes, versions })
}
