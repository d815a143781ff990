//! The `fusion` command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use fusion_deploy::stats::Summary;
use fusion_deploy::{Workspace, builder, calltree, runner};
use fusion_host::AppManifest;

#[derive(Parser)]
#[command(name = "fusion", version, about = "Run serverless applications as WebAssembly components and fuse them automatically")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every task into a wasm32-wasip2 component (installs the target if missing).
    Build,
    /// Run requests against an application in one process and print latencies and a call tree.
    Run {
        /// Application: iot, tree, webshop (a folder of tasks/ with an app.json).
        #[arg(long, default_value = "iot")]
        app: String,
        /// all-remote, all-local, a setup shipped with the app (e.g. fusionize-optimum) or a JSON file.
        #[arg(long, default_value = "all-local")]
        setup: String,
        #[arg(long, default_value_t = 10)]
        requests: usize,
        /// Work sizes: the paper's, or small ones for a quick look.
        #[arg(long, value_enum, default_value_t = Size::Paper)]
        size: Size,
        /// Request payload (JSON); overrides --size.
        #[arg(long)]
        payload: Option<String>,
        /// Use the components as they are instead of building first.
        #[arg(long)]
        no_build: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Size {
    Paper,
    Small,
}

impl Size {
    fn payload(self) -> &'static str {
        match self {
            Size::Paper => "{}",
            Size::Small => r#"{"work":{"burn":2.0,"sieve":10000,"db_ms":1,"sleep_ms":5}}"#,
        }
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let ws = Workspace::locate()?;
    match cli.command {
        Command::Build => build(&ws),
        Command::Run { app, setup, requests, size, payload, no_build } => {
            if !no_build {
                build(&ws)?;
            }
            let payload = payload.unwrap_or_else(|| size.payload().to_string());
            serde_json::from_str::<serde_json::Value>(&payload).context("--payload is not valid JSON")?;
            let manifest = AppManifest::load(&ws.app_manifest(&app))?;
            let setup = runner::resolve_setup(&ws, &manifest, &setup)?;
            println!("app {app}: {} tasks, setup {} ({})", manifest.tasks.len(), setup.created_by, setup.describe());
            let rt = tokio::runtime::Runtime::new()?;
            let report = rt.block_on(runner::run(&ws, &app, setup, requests, payload.as_bytes()))?;
            print_report(&report);
            Ok(())
        }
    }
}

fn build(ws: &Workspace) -> Result<()> {
    let mut n = 0;
    let built = builder::build(ws, |c| {
        n += 1;
        eprintln!("[{n:>2}] {:<28} {:>8.1} KiB", c.name, c.bytes as f64 / 1024.0);
    })?;
    eprintln!("{} components in {}", built.len(), ws.components_dir().display());
    Ok(())
}

fn print_report(report: &runner::RunReport) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    if let Some(s) = Summary::of(&report.latencies) {
        println!(
            "{} requests, {} errors: p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            s.count,
            report.errors.len(),
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            ms(s.max)
        );
    }
    for err in report.errors.iter().take(3) {
        println!("  error: {err}");
    }
    if let Some(response) = &report.last_response {
        let text = String::from_utf8_lossy(response);
        let cut: String = text.chars().take(400).collect();
        println!("response: {cut}{}", if cut.len() < text.len() { "…" } else { "" });
    }
    if let Some(trace) = report.trace_ids.last() {
        println!("\ncall tree of the last request (trace {trace}):");
        print!("{}", calltree::render(&report.records, trace));
    }
}
