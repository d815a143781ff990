//! The `fusion` command line: parses the command and hands it to its module in `commands/`.

mod commands;
mod options;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fusion_project::Workspace;

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
    Run(commands::run::Args),
    /// Start a local cluster: one host process per function on loopback; Ctrl-C stops it.
    Up(commands::up::Args),
    /// Send an open-loop workload to the app's running cluster (or to a fresh cluster per
    /// setup), then report latency, cost, invocations and cold starts per request.
    Load(commands::load::Args),
    /// Propose the next fusion setup from the app's measured telemetry (its last cluster): the
    /// model's pick and predicted Pareto front, or Fusionize++'s next step; --apply makes it
    /// current and hot-swaps a running cluster.
    Optimize(commands::optimize::Args),
    /// The main demo: per app, a cluster on the embedded store starts all-remote and the
    /// optimizer loop measures, optimizes and hot-swaps until nothing improves; prints a table
    /// per iteration and writes an HTML report.
    Demo(commands::demo::Args),
    /// Upload the built components of an app to the store (unchanged ones are skipped).
    Push(commands::push::Args),
    /// Fusion setups in the store: apply, show, history, rollback.
    #[command(subcommand)]
    Setup(commands::setup::Command),
    /// Benchmarks that print their result as a ratio against a baseline measured in the same run.
    #[command(subcommand)]
    Bench(commands::bench::Command),
    /// Rebuild the call graph and per-request latency, cost and cold starts from telemetry.
    Extract(commands::extract::Args),
    /// Deploy an application to a cloud: `fusion deploy aws --app iot --bucket B --region R`.
    #[command(subcommand)]
    Deploy(commands::deploy::Command),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let result = Workspace::locate().and_then(|ws| {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(dispatch(cli.command, &ws))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            output::error(&err);
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command, ws: &Workspace) -> anyhow::Result<()> {
    match command {
        Command::Build => commands::build::run(ws).await,
        Command::Run(args) => commands::run::run(ws, args).await,
        Command::Up(args) => commands::up::run(ws, args).await,
        Command::Load(args) => commands::load::run(ws, args).await,
        Command::Optimize(args) => commands::optimize::run(ws, args).await,
        Command::Demo(args) => commands::demo::run(ws, args).await,
        Command::Push(args) => commands::push::run(ws, args).await,
        Command::Setup(command) => commands::setup::run(ws, command).await,
        Command::Bench(command) => commands::bench::run(ws, command).await,
        Command::Extract(args) => commands::extract::run(ws, args).await,
        Command::Deploy(command) => commands::deploy::run(ws, command).await,
    }
}
