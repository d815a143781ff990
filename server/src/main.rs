//! `fusion-host`: serves one function of an application over HTTP (`serve`), or runs one request
//! with every function of the setup in this process (`run`). Started by AWS Lambda (as the
//! `bootstrap` of a custom runtime, no arguments), it serves the function through the Lambda
//! Runtime API instead (`fusion_lambda::front_end`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use fusion_host::auth::Signer;
use fusion_host::http_server::HttpFrontEnd;
use fusion_host::http_transport::HttpTransport;
use fusion_host::platform::Platform;
use fusion_host::router::{Router, group};
use fusion_host::routers::Routers;
use fusion_host::telemetry::{JsonLinesSink, MemorySink, NullSink, RecordSink};
use fusion_host::{AppManifest, FunctionHost, FusionSetup, InProcessCluster, Preset, Runtime, RuntimeConfig, TraceContext};
use fusion_store::seal::ArtifactSeal;
use fusion_store::source::StoreSource;
use fusion_store::{Store, StoreConfig};
use tokio_util::task::TaskTracker;

#[derive(Parser)]
#[command(name = "fusion-host", version, about = "The Fusion host: runs the tasks of a fusion group as WebAssembly components")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Run one request against the entry task, every function in this process; print the result.
    Run {
        #[command(flatten)]
        app: AppArgs,
        /// Request payload (JSON).
        #[arg(long, default_value = "{}")]
        payload: String,
        /// Print the telemetry records (JSON lines) to stderr.
        #[arg(long)]
        spans: bool,
    },
    /// Serve one function over HTTP: POST /v1/invoke/{task}, GET /healthz, GET /metrics. Its setup
    /// and components come from files (--app, --components, --setup) or from a store (--store),
    /// whose current setup it follows without restarting.
    Serve(ServeArgs),
}

/// `fusion-host serve`'s options.
#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// The function to serve, named after its task.
    #[arg(long)]
    function: String,
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// JSON object: function → base URL of the host serving it.
    #[arg(long)]
    peers: Option<PathBuf>,
    /// Environment variable holding the shared secret; calls must be signed with it.
    #[arg(long, default_value = "FUSION_SECRET")]
    secret_env: String,
    /// Append telemetry records (JSON lines) to this file.
    #[arg(long)]
    telemetry: Option<PathBuf>,
    /// Also serve the app's front door here: `POST /` runs the entry task for callers from
    /// outside, unsigned, JSON in and out (only on the entry task's function).
    #[arg(long)]
    public_listen: Option<String>,
}

#[derive(Args)]
struct AppArgs {
    /// The application manifest (app.json).
    #[arg(long)]
    app: Option<PathBuf>,
    /// Directory with the components (`<stem>.wasm`) the manifest names.
    #[arg(long)]
    components: Option<PathBuf>,
    /// A fusion setup JSON file (default: all-local for `run`, all-remote for `serve`).
    #[arg(long)]
    setup: Option<PathBuf>,
    /// Where precompiled artifacts are cached.
    #[arg(long, default_value = ".fusion/artifacts")]
    artifacts: PathBuf,
    /// Platform overheads to emulate: raw (none) or lambda (hop delays, runtime init).
    #[arg(long, default_value = "raw")]
    platform: Platform,
    /// Run guests at full speed instead of pacing them to their function's CPU share.
    #[arg(long)]
    no_cpu_pacing: bool,
}

#[derive(Args)]
struct StoreArgs {
    /// Follow the application's current setup in this S3 store: `s3://BUCKET[/PREFIX]`.
    /// Credentials come from the standard AWS chain (e.g. AWS_ACCESS_KEY_ID).
    #[arg(long, conflicts_with_all = ["app", "components", "setup"], requires = "app_name")]
    store: Option<String>,
    /// The application's name in the store.
    #[arg(long)]
    app_name: Option<String>,
    /// An S3-compatible endpoint instead of AWS (e.g. the embedded store of `fusion up`).
    #[arg(long)]
    store_endpoint: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    store_region: String,
    /// How often to look for a new current setup, in milliseconds (a signed
    /// POST /v1/admin/refresh makes the host look at once).
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Environment variable holding the key that seals precompiled artifacts in the store;
    /// without it, artifacts in the store are neither used nor published.
    #[arg(long, default_value = "FUSION_ARTIFACT_KEY")]
    artifact_key_env: String,
}

impl AppArgs {
    fn files(&self) -> Result<(&PathBuf, &PathBuf)> {
        match (&self.app, &self.components) {
            (Some(app), Some(components)) => Ok((app, components)),
            _ => anyhow::bail!("--app and --components are required (or, to serve, --store and --app-name)"),
        }
    }

    fn load(&self, default: Preset) -> Result<(AppManifest, FusionSetup)> {
        let manifest = AppManifest::load(self.files()?.0)?;
        let setup = match &self.setup {
            Some(path) => FusionSetup::load(path)?,
            None => FusionSetup::preset(default, &manifest.app, &manifest.task_names(), &manifest.entry),
        };
        setup.validate(&manifest.app, &manifest.task_names())?;
        Ok((manifest, setup))
    }

    fn runtime_config(&self) -> RuntimeConfig {
        RuntimeConfig { platform: self.platform, pace_cpu: !self.no_cpu_pacing, ..RuntimeConfig::default() }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let result = if fusion_lambda::front_end::started_by_lambda() {
        rt.block_on(fusion_lambda::front_end::run()).map(|()| ExitCode::SUCCESS)
    } else {
        run_command(&rt, Cli::parse().command)
    };
    result.unwrap_or_else(|err| {
        eprintln!("fusion-host: {err:#}");
        ExitCode::from(2)
    })
}

fn run_command(rt: &tokio::runtime::Runtime, command: Command) -> Result<ExitCode> {
    match command {
        Command::Run { app, payload, spans } => rt.block_on(run(app, payload, spans)),
        Command::Serve(args) => rt.block_on(serve(args)).map(|()| ExitCode::SUCCESS),
    }
}

async fn run(args: AppArgs, payload: String, spans: bool) -> Result<ExitCode> {
    let (manifest, setup) = args.load(Preset::AllLocal)?;
    serde_json::from_str::<serde_json::Value>(&payload).context("--payload is not valid JSON")?;
    let runtime = Runtime::new(&args.artifacts, args.runtime_config())?;
    let sink = Arc::new(MemorySink::default());
    let cluster = InProcessCluster::start(&runtime, &manifest, args.files()?.1, setup, sink.clone())?;
    let result = cluster.request(TraceContext::new_request(), payload.into_bytes()).await;
    cluster.drain().await;
    if spans {
        for record in sink.take() {
            eprintln!("{}", serde_json::to_string(&record)?);
        }
    }
    Ok(match result {
        Ok(output) => {
            println!("{}", String::from_utf8_lossy(&output));
            ExitCode::SUCCESS
        }
        Err(err) => {
            println!("{}", serde_json::json!({ "error": err }));
            ExitCode::FAILURE
        }
    })
}

async fn serve(serve: ServeArgs) -> Result<()> {
    let ServeArgs { app: args, store, function, listen, peers, secret_env, telemetry, public_listen } = serve;
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
    let sink: Arc<dyn RecordSink> = match &telemetry {
        Some(path) => Arc::new(JsonLinesSink::create(path).with_context(|| format!("cannot open {}", path.display()))?),
        None => Arc::new(NullSink),
    };
    let host = FunctionHost::new(runtime, routers, sink, TaskTracker::new());
    if store.store.is_some() {
        tokio::spawn(poll_store(host.clone(), Duration::from_millis(store.poll_ms.max(10))));
    }
    let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let front = HttpFrontEnd::new(host.clone(), signer);
    if let Some(public) = public_listen {
        let door = tokio::net::TcpListener::bind(&public).await.with_context(|| format!("cannot listen on {public}"))?;
        tracing::info!("the front door of {function} is http://{}/", door.local_addr()?);
        tokio::spawn(fusion_host::front_door::serve(front.clone(), door));
    }
    // The control plane waits for this line: everything listens once it is out.
    println!("function {function} listening on http://{}", listener.local_addr()?);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        served = front.serve(listener) => served?,
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
    let store = Store::connect(&StoreConfig::at(location, args.store_endpoint.clone(), &args.store_region)?).await.with_context(|| format!("cannot reach the store {location}"))?;
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
