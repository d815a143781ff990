//! `fusion-host`: the host of one function (see the library). Started by AWS Lambda (as the
//! `bootstrap` of a custom runtime, no arguments), it serves the function through the Lambda
//! Runtime API instead (`fusion_lambda::front_end`).

use std::process::ExitCode;

use clap::Parser;
use fusion_server::HostCommand;

#[derive(Parser)]
#[command(name = "fusion-host", version, about = "The Fusion host: runs the tasks of a fusion group as WebAssembly components")]
struct Cli {
    #[command(subcommand)]
    command: HostCommand,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let lambda = fusion_lambda::front_end::started_by_lambda();
    if lambda {
        // SAFETY: no other thread exists yet (the tokio runtime starts below).
        unsafe { fusion_lambda::front_end::normalize_runtime_api() };
    }
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let result = if lambda {
        rt.block_on(fusion_lambda::front_end::run()).map(|()| ExitCode::SUCCESS)
    } else {
        rt.block_on(fusion_server::execute(Cli::parse().command))
    };
    result.unwrap_or_else(|err| {
        eprintln!("fusion-host: {err:#}");
        ExitCode::from(2)
    })
}
