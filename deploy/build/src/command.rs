//! Running the external programs a build needs (package managers, compilers).

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs an install or build step; `what` names it in the error.
pub fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot run `{what}`: is it installed?"))?;
    if !status.success() {
        bail!("`{what}` failed ({status})");
    }
    Ok(())
}
