//! Profiles from what a cluster measured: the telemetry of the app's last cluster and the setup
//! document of the profiled version from the store.

use anyhow::{Context, Result};
use fusion_cluster::ClusterState;
use fusion_host::telemetry::Record;
use fusion_measure::extract;
use fusion_measure::load::{self, LoadSpec};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::profile::Profile;
use fusion_project::Project;
use fusion_store::Store;

/// The profile of setup `version` (default: the newest) in the app's last cluster's telemetry,
/// and that cluster's state.
pub async fn profile(project: &Project, store: &Store, version: Option<u64>, pricing: Pricing) -> Result<(Profile, ClusterState)> {
    let app = project.name();
    let cluster = ClusterState::last(&project.cluster_dir())?;
    let manifest = fusion_cluster::app_manifest(project);
    // Lines that are not believable records are skipped: one must not abort or sway the profile.
    let (records, _) = extract::read_dir(&cluster.telemetry, Some(&manifest.task_names()))?;
    let newest = records.iter().filter_map(|r| if let Record::Span(s) = r { Some(s.setup_version) } else { None }).max();
    let version = version
        .or(newest)
        .with_context(|| format!("no telemetry in {}: run `fusion load` first", cluster.telemetry.display()))?;
    let setup = store.setup(app, version).await?;
    Ok((Profile::from_records(&records, app, &manifest.entry, &manifest.task_names(), &setup, pricing)?, cluster))
}

/// Runs `load` on the cluster and profiles setup `version` from its telemetry; every request
/// must succeed.
pub(crate) async fn measure(project: &Project, store: &Store, cluster: &ClusterState, load: &LoadSpec, version: u64, pricing: Pricing) -> Result<Profile> {
    let outcomes = load::run(cluster, load, |_| {}).await?;
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    anyhow::ensure!(failed == 0, "{failed} of {} requests failed while measuring version {version}", outcomes.len());
    load::wait_idle(cluster).await?;
    Ok(profile(project, store, Some(version), pricing).await?.0)
}
