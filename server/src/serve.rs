//! `serve`: one function over HTTP, its setup from files or followed in a store.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use fusion_host::auth::Signer;
use fusion_host::http_server::HttpFrontEnd;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::{Router, group};
use fusion_host::routers::Routers;
use fusion_host::metrics::Metrics;
use fusion_host::telemetry::{JsonLinesSink, RecordSink, Tee};
use fusion_host::{FunctionHost, Preset, Runtime};
use fusion_otlp::{OtlpConfig, OtlpSink};
use fusion_store::seal::ArtifactSeal;
use fusion_store::source::StoreSource;
use fusion_store::{Store, StoreConfig};
use tokio_util::task::TaskTracker;

use crate::args::{AppArgs, ConnectionArgs, StoreArgs};

/// `fusion-host serve`'s options.
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub(crate) app: AppArgs,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(flatten)]
    pub(crate) connections: ConnectionArgs,
    /// The function to serve, named after its task.
    #[arg(long)]
    pub(crate) function: String,
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) listen: String,
    /// JSON object: function → base URL of the host serving it.
    #[arg(long)]
    pub(crate) peers: Option<PathBuf>,
    /// Environment variable holding the shared secret; calls must be signed with it.
    #[arg(long, default_value = "FUSION_SECRET")]
    pub(crate) secret_env: String,
    /// Append telemetry records (JSON lines) to this file. Spans also go to an OpenTelemetry
    /// collector when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set.
    #[arg(long)]
    pub(crate) telemetry: Option<PathBuf>,
    /// Also serve the app's front door here: `POST /` runs the entry task for callers from
    /// outside, unsigned, JSON in and out (only on the entry task's function).
    #[arg(long)]
    pub(crate) public_listen: Option<String>,
}

/// Serves until Ctrl-C or SIGTERM, then finishes the work it accepted.
pub(crate) async fn serve(serve: ServeArgs) -> Result<()> {
    let ServeArgs { app: args, store, connections, function, listen, peers, secret_env, telemetry, public_listen } = serve;
    let limits = connections.limits();
    let peers: BTreeMap<String, String> = match &peers {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?)
            .with_context(|| format!("{} is not a JSON object of function → URL", path.display()))?,
        None => BTreeMap::new(),
    };
    let signer = std::env::var(&secret_env).ok().filter(|s| !s.is_empty()).map(Signer::new);
    if signer.is_none() {
        tracing::warn!("{secret_env} is not set: calls are not authenticated");
    }
    let config = args.runtime_config();
    let transport = HttpTransport::new(peers, signer.clone(), config.deadline)?;
    let runtime = Runtime::new(&args.artifacts, config)?;
    let routers = match &store.store {
        Some(location) => follow_store(&store, location, &function, &runtime, transport).await?,
        None => {
            let (manifest, setup) = args.load(Preset::AllRemote)?;
            anyhow::ensure!(manifest.tasks.contains_key(&function), "app '{}' has no task '{function}' to serve", manifest.app);
            let group = group(&setup, &function);
            let code = runtime.load_tasks(&manifest, args.files()?.1, group.iter().map(String::as_str))?;
            Routers::new(Router::new(Arc::new(setup), &function, code, manifest.task_names(), transport)?, None)
        }
    };
    // Every record feeds the metrics, and the telemetry file and an OTLP collector when set.
    let app = routers.current().setup.app.clone();
    let metrics = Arc::new(Metrics::new());
    let mut sinks: Vec<Arc<dyn RecordSink>> = vec![metrics.clone()];
    if let Some(path) = &telemetry {
        sinks.push(Arc::new(JsonLinesSink::create(path).with_context(|| format!("cannot open {}", path.display()))?));
    }
    if let Some(otlp) = OtlpConfig::from_env(&app).map_err(anyhow::Error::msg)? {
        tracing::info!("exporting spans to {}", otlp.traces_endpoint);
        sinks.push(OtlpSink::start(otlp, Some(&function), metrics.export_counters()));
    }
    let kv = args.kv_backend(&app)?;
    let host = FunctionHost::new(runtime, routers, Arc::new(Tee(sinks)), TaskTracker::new(), kv);
    if store.store.is_some() {
        tokio::spawn(poll_store(host.clone(), Duration::from_millis(store.poll_ms.max(10))));
    }
    let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let front = HttpFrontEnd::new(host.clone(), signer, metrics);
    if let Some(public) = public_listen {
        let door = tokio::net::TcpListener::bind(&public).await.with_context(|| format!("cannot listen on {public}"))?;
        tracing::info!("the front door of {function} is http://{}/", door.local_addr()?);
        tokio::spawn(fusion_host::front_door::serve(front.clone(), door, limits));
    }
    // The control plane waits for this line: everything listens once it is out.
    println!("function {function} listening on http://{}", listener.local_addr()?);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        () = front.serve(listener, limits) => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    // Finish what was accepted before going away.
    host.work().close();
    host.work().wait().await;
    Ok(())
}

/// Loads the function's router for the store's current setup, ready to follow it.
async fn follow_store(args: &StoreArgs, location: &str, function: &str, runtime: &Arc<Runtime>, transport: Arc<HttpTransport>) -> Result<Routers> {
    let app = args.app_name.as_deref().context("--store needs --app-name")?;
    let region = fusion_store::aws_api::region::or_configured(args.store_region.clone()).await;
    let store = Store::connect(&StoreConfig::at(location, args.store_endpoint.clone(), &region)?).await.with_context(|| format!("cannot reach the store {location} (region {region})"))?;
    let seal = std::env::var(&args.artifact_key_env).ok().filter(|k| !k.is_empty()).map(ArtifactSeal::new);
    if seal.is_none() {
        tracing::warn!("{} is not set: precompiled artifacts in the store are neither used nor published", args.artifact_key_env);
    }
    StoreSource::new(store, app, function, runtime.clone(), transport, seal).follow().await
}

/// Follows the store's current setup. A refused version is reported once, not at every poll.
async fn poll_store(host: Arc<FunctionHost>, every: Duration) {
    let mut last_error = String::new();
    loop {
        tokio::time::sleep(every).await;
        match host.routers().refresh().await {
            Ok(_) => last_error.clear(),
            Err(err) => {
                let error = format!("{err:#}");
                if error != last_error {
                    tracing::error!("keeping setup version {}: {error}", host.routers().current().setup.version);
                    last_error = error;
                }
            }
        }
    }
}
