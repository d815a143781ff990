//! `run`: one request against the entry task with every function of the setup in this process.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use fusion_host::telemetry::MemorySink;
use fusion_host::{InProcessCluster, Preset, Runtime, TraceContext};

use crate::args::AppArgs;

/// Runs the request and prints the result (and, with `spans`, the telemetry to stderr).
pub(crate) async fn run(args: AppArgs, payload: String, spans: bool) -> Result<ExitCode> {
    let (manifest, setup) = args.load(Preset::AllLocal)?;
    serde_json::from_str::<serde_json::Value>(&payload).context("--payload is not valid JSON")?;
    let runtime = Runtime::new(&args.artifacts, args.runtime_config())?;
    let sink = Arc::new(MemorySink::default());
    let kv = args.kv_backend(&manifest.app)?;
    let cluster = InProcessCluster::start(&runtime, &manifest, args.files()?.1, setup, sink.clone(), kv)?;
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
