//! The deployed app as the autopilot (`fusion optimize --watch --aws`) drives it: telemetry from
//! the batches its functions write to the store, setups applied through [`apply_setup`] (the
//! store's pointer and every function's memory size, as `fusion deploy aws` sets them).

use std::collections::BTreeSet;

use anyhow::Result;
use fusion_host::FusionSetup;
use fusion_host::platform::Platform;
use fusion_store::Store;
use fusion_tune::autopilot::{Deployment, Feed};

use crate::{Target, apply_setup};

/// An app deployed with `fusion deploy aws`.
pub struct LambdaApp<'a> {
    target: &'a Target,
    store: Store,
}

impl<'a> LambdaApp<'a> {
    /// The app deployed at `target`, connected to its store.
    pub async fn connect(target: &'a Target) -> Result<LambdaApp<'a>> {
        Ok(LambdaApp { target, store: target.store().await? })
    }

    /// The app's store.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl Deployment for LambdaApp<'_> {
    async fn feed(&self, tasks: BTreeSet<String>) -> Result<Feed> {
        Feed::store(self.store.clone(), &self.target.app, tasks).await
    }

    /// Lambda's published overheads: what a hop and an async call cost there.
    fn platform(&self) -> Platform {
        Platform::LAMBDA
    }

    async fn apply(&self, setup: FusionSetup) -> Result<FusionSetup> {
        Ok(apply_setup(self.target, setup).await?.setup)
    }
}
