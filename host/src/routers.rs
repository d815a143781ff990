//! Hot swap: the routers of one function across setup versions. New requests take the current
//! router; a call made under an earlier (or a newer, not yet seen) version is served under that
//! version, so a request runs wholly under the setup it started with, even while a refusion is
//! spreading across the functions.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::router::Router;
use crate::runtime::BoxFuture;

/// How many routers of earlier versions a function keeps ready. Calls under an older version
/// load it again from the source.
const RETAINED: usize = 8;

/// How long a version that failed to load is refused before it is tried again (the failure may
/// have been the store's, not the setup's).
const RETRY_REFUSED: Duration = Duration::from_secs(5);

/// Where a function's setups come from when it was started from a store.
pub trait RouterSource: Send + Sync + 'static {
    /// The version the store names as current.
    fn current_version(&self) -> BoxFuture<Result<u64>>;
    /// This function's router for `version`: the setup validated and its group's code loaded.
    fn router(&self, version: u64) -> BoxFuture<Result<Router>>;
}

/// The routers of one function across setup versions: the current one, recent earlier ones, and
/// where new ones come from.
pub struct Routers {
    current: RwLock<Arc<Router>>,
    /// The most recently loaded routers, newest last (the current one among them).
    retained: Mutex<VecDeque<Arc<Router>>>,
    /// Versions that could not be loaded here, when, and why.
    refused: Mutex<BTreeMap<u64, (Instant, String)>>,
    source: Option<Arc<dyn RouterSource>>,
    /// One load at a time: two calls under a new version load it once.
    loading: tokio::sync::Mutex<()>,
}

impl Routers {
    /// A function with a fixed setup (`source` None), or one that follows its store.
    pub fn new(router: Router, source: Option<Arc<dyn RouterSource>>) -> Routers {
        let router = Arc::new(router);
        Routers {
            current: RwLock::new(router.clone()),
            retained: Mutex::new(VecDeque::from([router])),
            refused: Mutex::default(),
            source,
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The router of the setup served now, which new requests take.
    pub fn current(&self) -> Arc<Router> {
        self.current.read().unwrap().clone()
    }

    /// The router for a call made under `version` (None: a new request, which takes the current
    /// one). A version that cannot be had here is served under the current setup, which routes
    /// every task correctly, only grouped differently; the span records the version that ran.
    pub async fn for_call(&self, version: Option<u64>) -> Arc<Router> {
        let current = self.current();
        match version {
            Some(version) if version != current.setup.version && self.source.is_some() => match self.get(version).await {
                Ok(router) => router,
                Err(err) => {
                    tracing::warn!("serving a call of setup version {version} under version {}: {err:#}", current.setup.version);
                    current
                }
            },
            _ => current,
        }
    }

    /// Follows the store: when it names another version, loads that version and swaps to it.
    /// Invocations already running keep the router they started with. Returns the version now
    /// served; a version that cannot be loaded is refused and the current one keeps serving.
    pub async fn refresh(&self) -> Result<u64> {
        let source = self.source.as_ref().context("this function was not started from a store")?;
        let version = source.current_version().await.context("reading the current setup version")?;
        if version != self.current().setup.version {
            let router = self.get(version).await?;
            *self.current.write().unwrap() = router;
            tracing::info!("now serving setup version {version}");
        }
        Ok(version)
    }

    async fn get(&self, version: u64) -> Result<Arc<Router>> {
        if let Some(router) = self.retained(version) {
            return Ok(router);
        }
        if let Some((when, why)) = self.refused.lock().unwrap().get(&version)
            && when.elapsed() < RETRY_REFUSED
        {
            return Err(anyhow!("setup version {version} was refused: {why}"));
        }
        let source = self.source.as_ref().context("this function was not started from a store")?;
        let _one = self.loading.lock().await;
        if let Some(router) = self.retained(version) {
            return Ok(router);
        }
        match source.router(version).await {
            Ok(router) => {
                let router = Arc::new(router);
                let mut retained = self.retained.lock().unwrap();
                retained.push_back(router.clone());
                if retained.len() > RETAINED {
                    let current = self.current().setup.version;
                    if let Some(oldest) = retained.iter().position(|r| r.setup.version != current) {
                        retained.remove(oldest);
                    }
                }
                Ok(router)
            }
            Err(err) => {
                let why = format!("{err:#}");
                self.refused.lock().unwrap().insert(version, (Instant::now(), why.clone()));
                Err(anyhow!("setup version {version} was refused: {why}"))
            }
        }
    }

    fn retained(&self, version: u64) -> Option<Arc<Router>> {
        self.retained.lock().unwrap().iter().rev().find(|r| r.setup.version == version).cloned()
    }
}
