//! Versioned fusion setups: every applied setup is an immutable document
//! `setups/<app>/<version>.json`; `setups/<app>/current` names the one in force. Rollback moves
//! the pointer back to the current setup's parent; history is never rewritten.

use anyhow::{Context, Result, bail};
use fusion_host::FusionSetup;
use serde::{Deserialize, Serialize};

use crate::Store;

#[derive(Serialize, Deserialize)]
struct Pointer {
    version: u64,
}

impl Store {
    /// Records `setup` as the next version of its app (its parent is the current one) and makes
    /// it current. Returns it as stored.
    pub async fn apply_setup(&self, mut setup: FusionSetup) -> Result<FusionSetup> {
        let app = setup.app.clone();
        // The listing alone names the latest version: reading every document to find it made
        // an apply slower with every version the app had (53 ms at 96 versions).
        let latest = self.versions(&app).await?.last().copied().unwrap_or(0);
        setup.parent = self.current_version(&app).await?;
        setup.version = latest + 1;
        let document = serde_json::to_vec_pretty(&setup)?;
        let max = fusion_host::setup::MAX_SETUP_BYTES;
        anyhow::ensure!(document.len() <= max, "the setup document is {} bytes; a setup may have at most {max}", document.len());
        self.put(&self.key(&document_key(&app, setup.version)), document).await?;
        self.point_to(&app, setup.version).await?;
        Ok(setup)
    }

    /// The setup in force for `app`, if one was ever applied.
    pub async fn current_setup(&self, app: &str) -> Result<Option<FusionSetup>> {
        match self.current_version(app).await? {
            Some(version) => Ok(Some(self.setup(app, version).await?)),
            None => Ok(None),
        }
    }

    /// Every setup ever applied for `app`, oldest first.
    pub async fn history(&self, app: &str) -> Result<Vec<FusionSetup>> {
        let versions = self.versions(app).await?;
        let mut setups = Vec::with_capacity(versions.len());
        for version in versions {
            setups.push(self.setup(app, version).await?);
        }
        Ok(setups)
    }

    /// The versions of every setup applied for `app`, ascending, from the listing alone.
    async fn versions(&self, app: &str) -> Result<Vec<u64>> {
        let mut versions: Vec<u64> = self
            .list(&format!("setups/{app}/"))
            .await?
            .iter()
            .filter_map(|key| key.rsplit('/').next()?.strip_suffix(".json")?.parse().ok())
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// Makes the current setup's parent current again; returns it.
    pub async fn rollback(&self, app: &str) -> Result<FusionSetup> {
        let current = self.current_setup(app).await?.with_context(|| format!("no setup was ever applied for app '{app}'"))?;
        let Some(parent) = current.parent else { bail!("setup version {} of app '{app}' has no earlier setup to roll back to", current.version) };
        let previous = self.setup(app, parent).await?;
        self.point_to(app, parent).await?;
        Ok(previous)
    }

    /// One applied setup of `app`.
    pub async fn setup(&self, app: &str, version: u64) -> Result<FusionSetup> {
        let key = document_key(app, version);
        let bytes = self.get(&self.key(&key)).await?.with_context(|| format!("setup {key} is missing from the store"))?;
        FusionSetup::from_json(std::str::from_utf8(&bytes).unwrap_or_default()).with_context(|| format!("setup {key} in the store"))
    }

    /// The version the `current` pointer of `app` names, if a setup was ever applied.
    pub async fn current_version(&self, app: &str) -> Result<Option<u64>> {
        let Some(bytes) = self.get(&self.key(&pointer_key(app))).await? else { return Ok(None) };
        let pointer: Pointer = serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", pointer_key(app)))?;
        Ok(Some(pointer.version))
    }

    /// Makes an applied version current again (the optimizer going back to the best it measured).
    pub async fn point_to_version(&self, app: &str, version: u64) -> Result<()> {
        self.setup(app, version).await?;
        self.point_to(app, version).await
    }

    async fn point_to(&self, app: &str, version: u64) -> Result<()> {
        self.put(&self.key(&pointer_key(app)), serde_json::to_vec(&Pointer { version })?).await
    }
}

fn document_key(app: &str, version: u64) -> String {
    format!("setups/{app}/{version:08}.json")
}

fn pointer_key(app: &str) -> String {
    format!("setups/{app}/current")
}
