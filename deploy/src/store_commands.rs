//! `fusion push` and `fusion setup …`: components and fusion setups in the store.

use std::collections::BTreeMap;

use std::time::Instant;

use anyhow::{Context, Result};
use fusion_host::{AppManifest, FusionSetup};
use fusion_store::Store;

use crate::admin;
use crate::cluster::ClusterState;
use crate::local_store::OpenStore;
use crate::runner;
use crate::workspace::Workspace;

/// Uploads the built components of `app` (unchanged ones are not sent again) and records them
/// as the app's current components. Returns task → (digest, whether it was uploaded).
pub async fn upload(ws: &Workspace, store: &Store, app: &str) -> Result<BTreeMap<String, (String, bool)>> {
    let manifest = AppManifest::load(&ws.app_manifest(app))?;
    let mut pushed = BTreeMap::new();
    for task in manifest.task_names() {
        let path = manifest.component_path(&ws.components_dir(), &task).context("a task of the manifest")?;
        let bytes = std::fs::read(&path).with_context(|| format!("component of '{task}' missing: {} (run `fusion build`)", path.display()))?;
        pushed.insert(task, store.put_component(&bytes).await?);
    }
    let index = pushed.iter().map(|(task, (digest, _))| (task.clone(), digest.clone())).collect();
    store.put_component_index(app, &index).await?;
    Ok(pushed)
}

pub async fn push(ws: &Workspace, open: &OpenStore, app: &str) -> Result<()> {
    for (task, (digest, uploaded)) in upload(ws, &open.store, app).await? {
        println!("{app:<8} {task:<22} {digest}  {}", if uploaded { "uploaded" } else { "unchanged" });
    }
    Ok(())
}

/// Pins `setup` to the components last pushed for its app, checks each is in the store, and
/// makes it the current setup. Returns it as stored, with its version.
pub async fn pin_and_apply(store: &Store, mut setup: FusionSetup) -> Result<FusionSetup> {
    let app = setup.app.clone();
    setup.components = store.component_index(&app).await?.with_context(|| format!("no components of '{app}' in the store: run `fusion push --app {app}` first"))?;
    for (task, digest) in &setup.components {
        anyhow::ensure!(store.has_component(digest).await?, "component {digest} of task '{task}' is not in the store: run `fusion push --app {app}`");
    }
    store.apply_setup(setup).await
}

/// Makes `choice` (a preset, a setup shipped with the app, or a file) the app's current setup;
/// a running cluster of the app swaps to it at once.
pub async fn apply(ws: &Workspace, open: &OpenStore, app: &str, choice: &str) -> Result<()> {
    let manifest = AppManifest::load(&ws.app_manifest(app))?;
    let mut setup = runner::resolve_setup(ws, &manifest, choice)?;
    if setup.created_by.is_empty() {
        setup.created_by = format!("fusion setup apply {choice}");
    }
    let started = Instant::now();
    let applied = pin_and_apply(&open.store, setup).await?;
    println!("{app}: setup version {} is current ({}), after version {}", applied.version, applied.describe(), parent(applied.parent));
    swap_running(ws, app, applied.version, started).await
}

/// Tells the app's running cluster, if any, to serve `version` now, and reports how long after
/// `started` every host did.
pub async fn swap_running(ws: &Workspace, app: &str, version: u64, started: Instant) -> Result<()> {
    let Some(cluster) = ClusterState::running(&ws.clusters_dir().join(app)) else { return Ok(()) };
    admin::swap_all(&cluster, version).await?;
    println!("hot swap: all {} hosts of the running cluster serve version {version}, {:.0} ms after the apply began", cluster.endpoints.len(), started.elapsed().as_secs_f64() * 1e3);
    Ok(())
}

pub async fn show(open: &OpenStore, app: &str) -> Result<()> {
    let setup = open.store.current_setup(app).await?.with_context(|| format!("no setup applied for '{app}' yet (fusion setup apply)"))?;
    println!("{}", serde_json::to_string_pretty(&setup)?);
    Ok(())
}

pub async fn history(open: &OpenStore, app: &str) -> Result<()> {
    let current = open.store.current_setup(app).await?.map(|s| s.version);
    for setup in open.store.history(app).await? {
        let marker = if Some(setup.version) == current { "*" } else { " " };
        println!("{marker} v{:<4} after {:<5} {:<40} {}", setup.version, parent(setup.parent), setup.created_by, setup.describe());
    }
    Ok(())
}

pub async fn rollback(ws: &Workspace, open: &OpenStore, app: &str) -> Result<()> {
    let started = Instant::now();
    let setup = open.store.rollback(app).await?;
    println!("{app}: setup version {} is current again ({})", setup.version, setup.describe());
    swap_running(ws, app, setup.version, started).await
}

fn parent(version: Option<u64>) -> String {
    version.map_or("-".into(), |v| format!("v{v}"))
}
