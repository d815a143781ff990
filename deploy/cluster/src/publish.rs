//! Components and fusion setups into the store (`fusion push`, `fusion setup …`), and the hot
//! swap of the app's running cluster once a setup is current.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fusion_host::FusionSetup;
use fusion_project::Project;
use fusion_store::Store;

use crate::admin;
use crate::app_manifest::app_manifest;
use crate::check::check_components;
use crate::policy::project_policy;
use crate::setup_choice::resolve_setup;
use crate::state::ClusterState;

/// A component as `upload` left it in the store.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Its content address, `sha256:…`.
    pub digest: String,
    /// False when the store already had it.
    pub uploaded: bool,
}

/// Checks the project's built components against the world, uploads them (unchanged ones are
/// not sent again) and records them as the app's current components. Returns what happened to each task's component.
pub async fn upload(project: &Project, store: &Store) -> Result<BTreeMap<String, Pushed>> {
    tokio::task::block_in_place(|| check_components(project))?;
    let manifest = app_manifest(project);
    let app = project.name();
    let mut pushed = BTreeMap::new();
    for task in manifest.task_names() {
        let path = manifest.component_path(&project.components_dir(), &task).context("a task of the manifest")?;
        let bytes = std::fs::read(&path).with_context(|| format!("component of '{task}' missing: {} (run `fusion build`)", path.display()))?;
        let (digest, uploaded) = store.put_component(&bytes).await?;
        pushed.insert(task, Pushed { digest, uploaded });
    }
    let index = pushed.iter().map(|(task, p)| (task.clone(), p.digest.clone())).collect();
    store.put_component_index(app, &index).await?;
    store.put_policy(app, &project_policy(project)?).await?;
    Ok(pushed)
}

/// Pins `setup` to the components and the policy last pushed for its app, checks each component
/// is in the store, and makes it the current setup. Returns it as stored, with its version.
pub async fn pin_and_apply(store: &Store, setup: FusionSetup) -> Result<FusionSetup> {
    store.apply_setup(pin(store, setup).await?).await
}

/// The app's current setup serving what was last pushed: the same functions and memory sizes,
/// pinned to the pushed components and policy and applied as a new version by `by` when either
/// changed, as it is when neither did. None when no setup was ever applied.
pub async fn current_on_pushed(store: &Store, app: &str, by: &str) -> Result<Option<FusionSetup>> {
    let Some(current) = store.current_setup(app).await? else {
        return Ok(None);
    };
    let pinned = pin(store, FusionSetup { created_by: by.to_string(), ..current.clone() }).await?;
    apply_unless_current(store, pinned, Some(current)).await.map(Some)
}

/// [`pin_and_apply`], unless the current setup already serves the same (functions, memory
/// sizes, components, policy): then it stays, and no identical version is added to the history.
pub async fn pin_and_apply_if_new(store: &Store, setup: FusionSetup) -> Result<FusionSetup> {
    let pinned = pin(store, setup).await?;
    let current = store.current_setup(&pinned.app).await?;
    apply_unless_current(store, pinned, current).await
}

/// Applies `pinned` unless `current` (the store's current setup) already serves the same.
async fn apply_unless_current(store: &Store, pinned: FusionSetup, current: Option<FusionSetup>) -> Result<FusionSetup> {
    match current {
        Some(current) if current.functions == pinned.functions && current.components == pinned.components && current.policy == pinned.policy => Ok(current),
        _ => store.apply_setup(pinned).await,
    }
}

/// Pins `setup` to the components and the policy last pushed for its app, and checks each
/// component is in the store; it is not applied yet.
pub async fn pin(store: &Store, mut setup: FusionSetup) -> Result<FusionSetup> {
    let app = setup.app.clone();
    setup.components = store.component_index(&app).await?.with_context(|| format!("no components of '{app}' in the store: run `fusion push` first"))?;
    setup.policy = store.policy(&app).await?.unwrap_or_default();
    // One round trip for all of them, not one after the other.
    let checks = setup.components.iter().map(|(task, digest)| async move {
        anyhow::ensure!(store.has_component(digest).await?, "component {digest} of task '{task}' is not in the store: run `fusion push`");
        Ok(())
    });
    futures_util::future::try_join_all(checks).await?;
    Ok(setup)
}

/// How a running cluster took up a new current setup.
#[derive(Debug, Clone, Copy)]
pub struct Swap {
    /// Hosts that serve the new version.
    pub hosts: usize,
    /// From the start of the apply until the last host served it.
    pub took: Duration,
    /// Of that, until the store held the new version (the rest is the hosts taking it up).
    pub stored: Duration,
}

/// A setup made current, and the running cluster's swap to it (None: no cluster runs).
#[derive(Debug, Clone)]
pub struct Applied {
    /// The setup as stored, with its version.
    pub setup: FusionSetup,
    /// The hot swap of the app's running cluster.
    pub swap: Option<Swap>,
}

/// Makes `choice` (a preset, a setup shipped with the app, or a file) the app's current setup;
/// a running cluster of the app swaps to it at once.
pub async fn apply(project: &Project, store: &Store, choice: &str) -> Result<Applied> {
    let mut setup = resolve_setup(project, choice)?;
    if setup.created_by.is_empty() {
        setup.created_by = format!("fusion setup apply {choice}");
    }
    apply_setup(project, store, setup).await
}

/// Makes `setup` the app's current setup, pinned to its pushed components, and hot-swaps the
/// app's running cluster to it.
pub async fn apply_setup(project: &Project, store: &Store, setup: FusionSetup) -> Result<Applied> {
    let started = Instant::now();
    let setup = pin_and_apply(store, setup).await?;
    let swap = swap_running(project, setup.version, started).await?;
    Ok(Applied { setup, swap })
}

/// Makes the current setup's predecessor current again, and hot-swaps the running cluster.
pub async fn rollback(project: &Project, store: &Store) -> Result<Applied> {
    let started = Instant::now();
    let setup = store.rollback(project.name()).await?;
    let swap = swap_running(project, setup.version, started).await?;
    Ok(Applied { setup, swap })
}

/// Points the app's current setup at the stored `version` and hot-swaps the running cluster.
pub async fn point_to(project: &Project, store: &Store, version: u64) -> Result<Option<Swap>> {
    let started = Instant::now();
    store.point_to_version(project.name(), version).await?;
    swap_running(project, version, started).await
}

/// The app's current setup.
pub async fn current(store: &Store, app: &str) -> Result<FusionSetup> {
    store.current_setup(app).await?.with_context(|| format!("no setup applied for '{app}' yet (fusion setup apply)"))
}

/// Tells the project's running cluster, if any, to serve `version` now; how long after `started`
/// every host did.
pub async fn swap_running(project: &Project, version: u64, started: Instant) -> Result<Option<Swap>> {
    let Some(cluster) = ClusterState::running(&project.cluster_dir()) else { return Ok(None) };
    let stored = started.elapsed();
    admin::swap_all(&cluster, version).await?;
    Ok(Some(Swap { hosts: cluster.endpoints.len(), took: started.elapsed(), stored }))
}
