//! `fusion push` and `fusion setup …`: components and fusion setups in the store.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use fusion_host::AppManifest;

use crate::local_store::OpenStore;
use crate::runner;
use crate::workspace::Workspace;

/// Uploads the built components of `app` (unchanged ones are skipped) and records them as the
/// app's current components.
pub async fn push(ws: &Workspace, open: &OpenStore, app: &str) -> Result<()> {
    let manifest = AppManifest::load(&ws.app_manifest(app))?;
    let mut index = BTreeMap::new();
    for task in manifest.task_names() {
        let path = manifest.component_path(&ws.components_dir(), &task).context("a task of the manifest")?;
        let bytes = std::fs::read(&path).with_context(|| format!("component of '{task}' missing: {} (run `fusion build`)", path.display()))?;
        let (digest, uploaded) = open.store.put_component(&bytes).await?;
        println!("{app:<8} {task:<22} {digest}  {}", if uploaded { "uploaded" } else { "unchanged" });
        index.insert(task, digest);
    }
    open.store.put_component_index(app, &index).await
}

/// Makes `choice` (a preset, a setup shipped with the app, or a file) the app's current setup,
/// pinned to the components last pushed.
pub async fn apply(ws: &Workspace, open: &OpenStore, app: &str, choice: &str) -> Result<()> {
    let manifest = AppManifest::load(&ws.app_manifest(app))?;
    let mut setup = runner::resolve_setup(ws, &manifest, choice)?;
    setup.components = open.store.component_index(app).await?.with_context(|| format!("no components of '{app}' in the store: run `fusion push --app {app}` first"))?;
    if setup.created_by.is_empty() {
        setup.created_by = format!("fusion setup apply {choice}");
    }
    let applied = open.store.apply_setup(setup).await?;
    println!("{app}: setup version {} is current ({}), after version {}", applied.version, applied.describe(), parent(applied.parent));
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

pub async fn rollback(open: &OpenStore, app: &str) -> Result<()> {
    let setup = open.store.rollback(app).await?;
    println!("{app}: setup version {} is current again ({})", setup.version, setup.describe());
    Ok(())
}

fn parent(version: Option<u64>) -> String {
    version.map_or("-".into(), |v| format!("v{v}"))
}
