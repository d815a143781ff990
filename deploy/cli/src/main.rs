//! The `fusion` command line: parses the command and hands it to its module in `commands/`.

mod commands;
mod options;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use fusion_project::Project;

#[derive(Parser)]
#[command(name = "fusion", version, about = "Run serverless applications as WebAssembly components and fuse them automatically")]
struct Cli {
    /// The project: its fusion.toml or the folder holding it (default: the nearest fusion.toml in
    /// the current folder or above it).
    #[arg(short = 'f', long = "manifest", global = true, value_name = "PATH")]
    manifest: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Make a new project from a template: `fusion new shop --template mixed`.
    New(commands::new::NewArgs),
    /// Add a task to the project (its files, its manifest entry): `fusion add pay --lang python`.
    Add(commands::new::AddArgs),
    /// Build every task into a component and check it against the fusion:task world.
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
    /// Render recorded optimizer loops (`.fusion/loops/*.json`, from `optimize --loop` and `demo`)
    /// into one self-contained HTML page: `fusion report [FILE.json…] [-o report.html]` (no file:
    /// the project's newest loop).
    Report(commands::report::Args),
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
    /// Deploy the project to a cloud: `fusion deploy aws --bucket B` (`--destroy` removes it).
    #[command(subcommand)]
    Deploy(commands::deploy::Command),
    /// The host of one function, what `fusion up` starts per function (as the `fusion-host`
    /// binary does): `fusion host serve --store s3://B --app-name APP --function F`.
    #[command(subcommand)]
    Host(fusion_server::HostCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let result = tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|runtime| runtime.block_on(dispatch(cli.command, cli.manifest)));
    result.unwrap_or_else(|err| {
        output::error(&err);
        ExitCode::FAILURE
    })
}

/// The project the command works on: `-f PATH`, else the nearest `fusion.toml` above.
fn project(manifest: Option<PathBuf>) -> Result<Project> {
    match manifest {
        Some(path) => Project::open(&path),
        None => Project::discover(&std::env::current_dir()?),
    }
}

async fn dispatch(command: Command, manifest: Option<PathBuf>) -> Result<ExitCode> {
    let open = || project(manifest.clone());
    let done = match command {
        // A host's exit code says whether its `run` request succeeded.
        Command::Host(command) => return fusion_server::execute(command).await,
        Command::New(args) => commands::new::new(args).await,
        Command::Add(args) => commands::new::add(&open()?, args).await,
        Command::Build => commands::build::run(&open()?).await,
        Command::Run(args) => commands::run::run(&open()?, args).await,
        Command::Up(args) => commands::up::run(&open()?, args).await,
        Command::Load(args) => commands::load::run(&open()?, args).await,
        Command::Optimize(args) => commands::optimize::run(&open()?, args).await,
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Report(args) => commands::report::run(args, open).await,
        Command::Push(args) => commands::push::run(&open()?, args).await,
        Command::Setup(command) => commands::setup::run(&open()?, command).await,
        Command::Bench(command) => commands::bench::run(&open()?, command).await,
        Command::Extract(args) => commands::extract::run(&open()?, args).await,
        Command::Deploy(command) => commands::deploy::run(&open()?, command).await,
    };
    done.map(|()| ExitCode::SUCCESS)
}
