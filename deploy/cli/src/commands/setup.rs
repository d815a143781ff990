//! `fusion setup apply|show|history|rollback`: the app's setups in the store.

use anyhow::Result;
use fusion_cluster::publish::{self, Applied};
use fusion_cluster::store;
use fusion_project::Project;


/// The setup subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a setup current: all-remote, all-local, one shipped with the app, or a JSON file.
    Apply {
        /// The setup to make current.
        setup: String,
    },
    /// Print the current setup.
    Show,
    /// List every setup applied, oldest first; `*` marks the current one.
    History,
    /// Make the current setup's predecessor current again.
    Rollback,
}

/// Runs the subcommand against the project's store.
pub async fn run(project: &Project, command: Command) -> Result<()> {
    let open = store::open(project).await?;
    let store = &open.store;
    match command {
        Command::Apply { setup } => {
            let applied = publish::apply(project, store, &setup).await?;
            let s = &applied.setup;
            println!("{}: setup version {} is current ({}), after version {}", project.name(), s.version, s.describe(), parent(s.parent));
            print_swap(&applied);
        }
        Command::Show => println!("{}", serde_json::to_string_pretty(&publish::current(store, project.name()).await?)?),
        Command::History => {
            let current = store.current_setup(project.name()).await?.map(|s| s.version);
            for setup in store.history(project.name()).await? {
                let marker = if Some(setup.version) == current { "*" } else { " " };
                println!("{marker} v{:<4} after {:<5} {:<40} {}", setup.version, parent(setup.parent), setup.created_by, setup.describe());
            }
        }
        Command::Rollback => {
            let applied = publish::rollback(project, store).await?;
            println!("{}: setup version {} is current again ({})", project.name(), applied.setup.version, applied.setup.describe());
            print_swap(&applied);
        }
    }
    Ok(())
}

/// The hot swap's line, when a cluster of the app runs.
pub fn print_swap(applied: &Applied) {
    if let Some(swap) = applied.swap {
        println!(
            "hot swap: all {} hosts of the running cluster serve version {}, {:.0} ms after the apply began ({:.0} ms writing it to the store)",
            swap.hosts,
            applied.setup.version,
            swap.took.as_secs_f64() * 1e3,
            swap.stored.as_secs_f64() * 1e3
        );
    }
}

fn parent(version: Option<u64>) -> String {
    version.map_or("-".into(), |v| format!("v{v}"))
}
