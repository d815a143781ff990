//! `fusion-host`: runs one request against an application's entry task, every function of the
//! setup in this process, and prints the response (or the typed error) as JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use fusion_host::telemetry::MemorySink;
use fusion_host::{AppManifest, FusionSetup, InProcessCluster, Preset, Runtime, RuntimeConfig, TraceContext};

#[derive(Parser)]
#[command(name = "fusion-host", version, about = "Run a request against a Fusion application in one process")]
struct Args {
    /// The application manifest (app.json).
    #[arg(long)]
    app: PathBuf,
    /// Directory with the components (`<stem>.wasm`) the manifest names.
    #[arg(long)]
    components: PathBuf,
    /// A fusion setup JSON file; without it, one function runs everything (all-local).
    #[arg(long)]
    setup: Option<PathBuf>,
    /// Request payload (JSON).
    #[arg(long, default_value = "{}")]
    payload: String,
    /// Where precompiled artifacts are cached.
    #[arg(long, default_value = ".fusion/artifacts")]
    artifacts: PathBuf,
    /// Print the telemetry records (JSON lines) to stderr.
    #[arg(long)]
    spans: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("fusion-host: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<ExitCode> {
    let manifest = AppManifest::load(&args.app)?;
    let setup = match &args.setup {
        Some(path) => FusionSetup::load(path)?,
        None => FusionSetup::preset(Preset::AllLocal, &manifest.app, &manifest.task_names(), &manifest.entry),
    };
    serde_json::from_str::<serde_json::Value>(&args.payload).context("--payload is not valid JSON")?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let runtime = Runtime::new(&args.artifacts, RuntimeConfig::default())?;
        let sink = Arc::new(MemorySink::default());
        let cluster = InProcessCluster::start(&runtime, &manifest, &args.components, setup, sink.clone())?;
        let result = cluster.request(TraceContext::new_request(), args.payload.into_bytes()).await;
        cluster.drain().await;
        if args.spans {
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
    })
}

