//! `fusion setup apply|show|history|rollback`: the app's setups in the store.

use anyhow::Result;
use fusion_cluster::publish::{self, Applied};
use fusion_cluster::store;
use fusion_project::Workspace;

use crate::options::AppArg;

/// The setup subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a setup current: all-remote, all-local, one shipped with the app, or a JSON file.
    Apply {
        /// The setup to make current.
        setup: String,
        #[command(flatten)]
        app: AppArg,
    },
    /// Print the current setup.
    Show {
        #[command(flatten)]
        app: AppArg,
    },
    /// List every setup applied, oldest first; `*` marks the current one.
    History {
        #[command(flatten)]
        app: AppArg,
    },
    /// Make the current setup's predecessor current again.
    Rollback {
        #[command(flatten)]
        app: AppArg,
    },
}

/// Runs the subcommand against the project's store.
pub async fn run(ws: &Workspace, command: Command) -> Result<()> {
    let open = store::open(ws).await?;
    let store = &open.store;
    match command {
        Command::Apply { setup, app } => {
            let applied = publish::apply(ws, store, &app.app, &setup).await?;
            let s = &applied.setup;
            println!("{}: setup version {} is current ({}), after version {}", app.app, s.version, s.describe(), parent(s.parent));
            print_swap(&applied);
        }
        Command::Show { app } => println!("{}", serde_json::to_string_pretty(&publish::current(store, &app.app).await?)?),
        Command::History { app } => {
            let current = store.current_setup(&app.app).await?.map(|s| s.version);
            for setup in store.history(&app.app).await? {
                let marker = if Some(setup.version) == current { "*" } else { " " };
                println!("{marker} v{:<4} after {:<5} {:<40} {}", setup.version, parent(setup.parent), setup.created_by, setup.describe());
            }
        }
        Command::Rollback { app } => {
            let applied = publish::rollback(ws, store, &app.app).await?;
            println!("{}: setup version {} is current again ({})", app.app, applied.setup.version, applied.setup.describe());
            print_swap(&applied);
        }
    }
    Ok(())
}

/// The hot swap's line, when a cluster of the app runs.
pub fn print_swap(applied: &Applied) {
    if let Some(swap) = applied.swap {
        println!(
            "hot swap: all {} hosts of the running cluster serve version {}, {:.0} ms after the apply began",
            swap.hosts,
            applied.setup.version,
            swap.took.as_secs_f64() * 1e3
        );
    }
}

fn parent(version: Option<u64>) -> String {
    version.map_or("-".into(), |v| format!("v{v}"))
}
