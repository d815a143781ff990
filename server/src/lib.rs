//! The host of one function, as a command line: `serve` runs one function of an application over
//! HTTP, `run` one request with every function of the setup in this process. The `fusion-host`
//! binary (also the `bootstrap` of a Lambda custom runtime) and `fusion host` both parse
//! [`HostCommand`] and hand it to [`execute`].

mod args;
mod run;
mod serve;

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

pub use args::{AppArgs, ConnectionArgs, StoreArgs};
pub use serve::ServeArgs;

/// What the host is asked to do.
#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum HostCommand {
    /// Run one request against the entry task, every function in this process; print the result.
    Run {
        /// Where the app comes from.
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

/// Carries out `command`; the exit code says whether a `run` request succeeded.
pub async fn execute(command: HostCommand) -> Result<ExitCode> {
    match command {
        HostCommand::Run { app, payload, spans } => run::run(app, payload, spans).await,
        HostCommand::Serve(args) => serve::serve(args).await.map(|()| ExitCode::SUCCESS),
    }
}
