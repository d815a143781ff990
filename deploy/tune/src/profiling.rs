//! Profiles from what a cluster measured: the telemetry of the app's last cluster and the setup
//! document of the profiled version from the store.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use fusion_cluster::ClusterState;
use fusion_host::telemetry::Record;
use fusion_measure::extract;
use fusion_measure::load::{self, LoadSpec};
use fusion_measure::observed::{Observed, observe};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::Profile;
use fusion_project::Project;
use fusion_store::Store;

/// The profile of setup `version` in the app's last cluster's telemetry (default: the current
/// setup when it served requests, else the newest that did; a validation leaves the setups it
/// measured in the telemetry but the best current), and that cluster's state.
pub async fn profile(project: &Project, store: &Store, version: Option<u64>, pricing: Pricing) -> Result<(Profile, ClusterState)> {
    let cluster = ClusterState::last(&project.cluster_dir())?;
    let records = records(project, &cluster)?;
    let served: BTreeSet<u64> = records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s.setup_version) } else { None }).collect();
    let current = store.current_version(project.name()).await?.filter(|v| served.contains(v));
    let version = version
        .or(current)
        .or(served.last().copied())
        .with_context(|| format!("no telemetry in {}: run `fusion load` first", cluster.telemetry.display()))?;
    Ok((profile_of(project, store, &records, version, pricing).await?, cluster))
}

/// Runs `load` on the cluster and profiles setup `version` from its telemetry, with what the
/// load's requests showed; every request must succeed.
pub(crate) async fn measure(project: &Project, store: &Store, cluster: &ClusterState, load: &LoadSpec, version: u64, pricing: Pricing) -> Result<(Profile, Observed)> {
    let outcomes = load::run(cluster, load, |_| {}).await?;
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    anyhow::ensure!(failed == 0, "{failed} of {} requests failed while measuring version {version}", outcomes.len());
    load::wait_idle(cluster).await?;
    let records = records(project, cluster)?;
    let traces: BTreeSet<String> = outcomes.into_iter().map(|o| o.trace_id).collect();
    let observed = observe(&records, pricing, version, &traces).with_context(|| format!("no request of version {version} was recorded whole"))?;
    Ok((profile_of(project, store, &records, version, pricing).await?, observed))
}

/// The believable records of `cluster`'s telemetry: lines that are not must not abort or sway a
/// profile, so they are skipped.
fn records(project: &Project, cluster: &ClusterState) -> Result<Vec<Record>> {
    let manifest = fusion_cluster::app_manifest(project);
    Ok(extract::read_dir(&cluster.telemetry, Some(&manifest.task_names()))?.0)
}

/// The profile of setup `version` in `records`, its setup document from the store.
async fn profile_of(project: &Project, store: &Store, records: &[Record], version: u64, pricing: Pricing) -> Result<Profile> {
    let app = project.name();
    let manifest = fusion_cluster::app_manifest(project);
    let setup = store.setup(app, version).await?;
    Profile::from_records(records, app, &manifest.entry, &manifest.task_names(), &setup, pricing)
}
