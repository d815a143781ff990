//! A function started from the store: its router for any setup version, built from the setup
//! document and only its own group's components. Each component comes from the cheapest place
//! that has it: already loaded, the local artifact cache, a sealed artifact in the store, or else
//! its bytes (digest verified), compiled here and published as an artifact for the next start.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};

use anyhow::{Context, Result, ensure};
use fusion_host::router::{Router, Transport, group};
use fusion_host::routers::RouterSource;
use fusion_host::runtime::{BoxFuture, TaskCode};
use fusion_host::Runtime;

use crate::Store;
use crate::seal::ArtifactSeal;

/// Where one function's routers come from: the store's setups and components; clones share the loaded code.
#[derive(Clone)]
pub struct StoreSource(Arc<Inner>);

struct Inner {
    store: Store,
    app: String,
    function: String,
    runtime: Arc<Runtime>,
    transport: Arc<dyn Transport>,
    /// None: artifacts in the store are neither trusted nor published.
    seal: Option<ArtifactSeal>,
    /// Code loaded for earlier versions, shared with the routers that still hold it.
    loaded: Mutex<HashMap<(String, String), Weak<TaskCode>>>,
}

impl StoreSource {
    /// The source of `function` of `app`; with `seal` None, artifacts in the store are neither trusted nor published.
    pub fn new(
        store: Store,
        app: &str,
        function: &str,
        runtime: Arc<Runtime>,
        transport: Arc<dyn Transport>,
        seal: Option<ArtifactSeal>,
    ) -> StoreSource {
        StoreSource(Arc::new(Inner {
            store,
            app: app.to_string(),
            function: function.to_string(),
            runtime,
            transport,
            seal,
            loaded: Mutex::default(),
        }))
    }

    /// Routers for this function that start on the store's current setup and follow it.
    pub async fn follow(self) -> Result<fusion_host::routers::Routers> {
        let version = self.current_version().await?;
        let (app, function) = (self.0.app.clone(), self.0.function.clone());
        let router = self.router(version).await.with_context(|| format!("cannot serve '{function}' of app '{app}'"))?;
        Ok(fusion_host::routers::Routers::new(router, Some(Arc::new(self))))
    }

    /// The store's current version of the app.
    pub async fn current_version(&self) -> Result<u64> {
        self.0.store.current_version(&self.0.app).await?.with_context(|| format!("no setup applied for app '{}' in the store", self.0.app))
    }

    /// This function's router under setup `version`.
    pub async fn router(&self, version: u64) -> Result<Router> {
        let inner = &self.0;
        let setup = inner.store.setup(&inner.app, version).await?;
        let tasks: BTreeSet<String> = setup.components.keys().cloned().collect();
        ensure!(!tasks.is_empty(), "setup version {version} pins no components (apply it with `fusion setup apply`)");
        setup.validate(&inner.app, &tasks).with_context(|| format!("setup version {version}"))?;
        ensure!(tasks.contains(&inner.function), "setup version {version} has no task '{}'", inner.function);
        let mut code = std::collections::BTreeMap::new();
        for task in group(&setup, &inner.function) {
            let digest = &setup.components[&task];
            code.insert(task.clone(), self.task_code(&task, digest).await.with_context(|| format!("setup version {version}, task '{task}'"))?);
        }
        Router::new(Arc::new(setup), &inner.function, code, tasks, inner.transport.clone())
    }

    async fn task_code(&self, task: &str, digest: &str) -> Result<Arc<TaskCode>> {
        let key = (task.to_string(), digest.to_string());
        if let Some(code) = self.0.loaded.lock().unwrap().get(&key).and_then(Weak::upgrade) {
            return Ok(code);
        }
        let code = match self.load_artifact(task, digest).await? {
            Some(code) => code,
            None => self.compile(task, digest).await?,
        };
        self.0.loaded.lock().unwrap().insert(key, Arc::downgrade(&code));
        Ok(code)
    }

    /// From the local artifact cache, or else from a sealed artifact in the store.
    async fn load_artifact(&self, task: &str, digest: &str) -> Result<Option<Arc<TaskCode>>> {
        if let Some(code) = self.blocking({
            let (task, digest) = (task.to_string(), digest.to_string());
            move |runtime| runtime.load_artifact(&task, &digest)
        })
        .await?
        {
            return Ok(Some(code));
        }
        let Some(seal) = &self.0.seal else { return Ok(None) };
        let fingerprint = self.0.runtime.artifacts().fingerprint().to_string();
        let started = std::time::Instant::now();
        let sealed = match self.0.store.get_artifact(digest, &fingerprint).await {
            Ok(Some(sealed)) => sealed,
            Ok(None) => return Ok(None),
            Err(err) => {
                tracing::warn!("cannot read the artifact of {digest} from the store, compiling instead: {err:#}");
                return Ok(None);
            }
        };
        let downloaded = started.elapsed();
        let (seal, task, owned_digest) = (seal.clone(), task.to_string(), digest.to_string());
        let loaded = self
            .blocking(move |runtime| {
                let digest = owned_digest;
                let artifact = seal.open(&fingerprint, &digest, &sealed)?;
                let size_mb = (sealed.len() as f64 / 1e6, artifact.len() as f64 / 1e6);
                let code = runtime.load_installed(&task, &digest, artifact.len(), |out| artifact.unpack_into(out))?;
                tracing::debug!(
                    "artifact of task '{task}' from the store ({:.1} MB, {:.1} MB unpacked): downloaded in {downloaded:?}, checked, unpacked and loaded in {:?}",
                    size_mb.0,
                    size_mb.1,
                    started.elapsed() - downloaded
                );
                Ok(code)
            })
            .await;
        match loaded {
            Ok(code) => Ok(Some(code)),
            Err(why) => {
                tracing::warn!("refusing the artifact of {digest} in the store ({why:#}); compiling instead");
                Ok(None)
            }
        }
    }

    /// Downloads the component (its digest is verified), compiles it and publishes its artifact.
    async fn compile(&self, task: &str, digest: &str) -> Result<Arc<TaskCode>> {
        let bytes = self.0.store.get_component(digest).await?;
        let task = task.to_string();
        let code = self.blocking(move |runtime| runtime.load_bytes(&task, &bytes)).await?;
        if let (Some(seal), Some(artifact)) = (&self.0.seal, self.0.runtime.artifacts().read(digest)) {
            let fingerprint = self.0.runtime.artifacts().fingerprint().to_string();
            if let Err(err) = self.0.store.put_artifact(digest, &fingerprint, seal.seal(&fingerprint, digest, &artifact)).await {
                tracing::warn!("could not publish the artifact of {digest}: {err:#}");
            }
        }
        Ok(code)
    }

    /// Compiling and deserializing take milliseconds of CPU: off the threads serving requests.
    async fn blocking<T: Send + 'static>(&self, work: impl FnOnce(&Runtime) -> Result<T> + Send + 'static) -> Result<T> {
        let runtime = self.0.runtime.clone();
        tokio::task::spawn_blocking(move || work(&runtime)).await.context("loading a component panicked")?
    }
}

impl RouterSource for StoreSource {
    fn current_version(&self) -> BoxFuture<Result<u64>> {
        let source = self.clone();
        Box::pin(async move { source.current_version().await })
    }

    fn router(&self, version: u64) -> BoxFuture<Result<Router>> {
        let source = self.clone();
        Box::pin(async move { source.router(version).await })
    }
}
