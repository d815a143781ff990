//! Refusion under load: a cluster serves a steady open-loop load while its setup is switched
//! every few seconds through the store, the way `fusion setup apply` does it. `fusion bench
//! refusion` reports how long each swap took to reach every host; the hot-swap test checks that
//! no request failed and that each ran under one setup version.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use fusion_host::telemetry::Record;
use fusion_host::FusionSetup;

use fusion_cluster::{LocalCluster, admin, publish, store};
use fusion_host::platform::Platform;
use fusion_measure::extract;
use fusion_measure::load::{self, LoadSpec, Outcome, Profile};
use fusion_cluster::resolve_setup;
use fusion_project::Project;

/// What to run: an app switched through setups under a steady load.
pub struct RefusionSpec<'a> {
    /// Setups in the order they are applied; the cluster starts on the first.
    pub setups: &'a [String],
    /// How long each setup serves.
    pub every: Duration,
    /// Requests per second.
    pub rate: f64,
    /// Every request's body.
    pub payload: Vec<u8>,
    /// The platform profile the hosts emulate.
    pub platform: Platform,
}

/// One switch: from `fusion setup apply` (writing the setup) until every host served it.
pub struct Swap {
    /// The setup as named in the spec.
    pub label: String,
    /// The version it became.
    pub version: u64,
    /// From the start of the apply until the last host served it.
    pub took: Duration,
}

/// What a refusion run measured.
pub struct RefusionRun {
    /// The version the cluster started with.
    pub first_version: u64,
    /// How long starting the cluster afresh took (push, apply, every host up): what a redeploy
    /// costs, the baseline a swap is measured against.
    pub cluster_start: Duration,
    /// Every swap, in order.
    pub swaps: Vec<Swap>,
    /// Every request of the load.
    pub outcomes: Vec<Outcome>,
    /// Every host's telemetry, read once the cluster was idle.
    pub records: Vec<Record>,
    /// Every version applied, as stored.
    pub setups: BTreeMap<u64, FusionSetup>,
}

/// Runs the load on a fresh cluster in `dir` with its own embedded store.
pub async fn run(project: &Project, dir: &Path, spec: &RefusionSpec<'_>) -> Result<RefusionRun> {
    anyhow::ensure!(!spec.setups.is_empty(), "no setups to switch between");
    let resolved = spec.setups.iter().map(|label| resolve_setup(project, label)).collect::<Result<Vec<_>>>()?;
    let store = store::private(&dir.join("s3")).await?;
    let started = Instant::now();
    let cluster = LocalCluster::start(project, dir, &resolved[0], &spec.setups[0], spec.platform, store).await?;
    let cluster_start = started.elapsed();
    let load = LoadSpec { rate: spec.rate, duration: spec.every * spec.setups.len() as u32, profile: Profile::Steady, payload: spec.payload.clone().into() };
    let state = cluster.state.clone();
    let running = tokio::spawn(async move { load::run(&state, &load, |_| {}).await });
    let mut swaps = Vec::new();
    let mut setups = BTreeMap::from([(cluster.state.setup_version, resolved[0].clone())]);
    for (label, setup) in spec.setups.iter().zip(&resolved).skip(1) {
        tokio::time::sleep(spec.every).await;
        let started = Instant::now();
        let applied = publish::pin_and_apply(cluster.store(), setup.clone()).await?;
        admin::swap_all(&cluster.state, applied.version).await?;
        swaps.push(Swap { label: label.clone(), version: applied.version, took: started.elapsed() });
        setups.insert(applied.version, applied);
    }
    let outcomes = running.await??;
    load::wait_idle(&cluster.state).await?;
    let (records, _) = extract::read_dir(&cluster.state.telemetry, None)?;
    let first_version = cluster.state.setup_version;
    cluster.stop();
    Ok(RefusionRun { first_version, cluster_start, swaps, outcomes, records, setups })
}

impl RefusionRun {
    /// Requests whose spans and invocations name more than one setup version.
    pub fn mixed_requests(&self) -> Vec<String> {
        let mut versions: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
        for record in &self.records {
            let (trace, version) = match record {
                Record::Span(s) => (&s.trace_id, s.setup_version),
                Record::Invocation(i) => (&i.trace_id, i.setup_version),
            };
            versions.entry(trace).or_default().insert(version);
        }
        versions.into_iter().filter(|(_, v)| v.len() > 1).map(|(trace, _)| trace.to_string()).collect()
    }

    /// Requests served per setup version (by their entry span).
    pub fn requests_per_version(&self) -> BTreeMap<u64, usize> {
        let mut counts = BTreeMap::new();
        for record in &self.records {
            if let Record::Span(span) = record
                && span.parent_span.is_none()
            {
                *counts.entry(span.setup_version).or_default() += 1;
            }
        }
        counts
    }
}
