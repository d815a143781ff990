//! The Python and JavaScript guest toolchains: componentize-py from PyPI into a virtualenv and
//! componentize-js from npm, in the user's toolchain cache ([`fusion_project::toolchains_dir`]),
//! installed on first use and again when the versions this binary pins change. Only the package
//! registries are used, so a fresh machine with Python 3 and Node.js needs nothing else.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;
use fusion_project::{Reporter, toolchains_dir};

use crate::command::run;
use crate::language::Guest;
use crate::sdk;

/// The files that pin a language's toolchain.
fn pins(guest: Guest) -> Vec<(&'static str, &'static str)> {
    match guest {
        Guest::Python => vec![sdk::PYTHON_PINS],
        Guest::JavaScript => sdk::JAVASCRIPT_PINS.to_vec(),
    }
}

/// A digest of the toolchain's pins.
pub(crate) fn pins_digest(guest: Guest) -> String {
    sdk::digest(&pins(guest))
}

/// The program that builds a component of `guest`, installed first if needed.
pub(crate) fn ensure(guest: Guest, reporter: &dyn Reporter) -> Result<PathBuf> {
    let dir = toolchains_dir().join(match guest {
        Guest::Python => "python",
        Guest::JavaScript => "js",
    });
    let program = dir.join(match guest {
        Guest::Python => "bin/componentize-py",
        Guest::JavaScript => "node_modules/.bin/componentize-js",
    });
    // What was installed from: the pins' digest, written once the install succeeded.
    let marker = dir.join("installed-from");
    let pins_digest = pins_digest(guest);
    if program.is_file() && std::fs::read_to_string(&marker).is_ok_and(|installed| installed == pins_digest) {
        return Ok(program);
    }
    reporter.note(&format!("installing the {} guest toolchain into {}", guest.language().name(), dir.display()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let pin_dir = dir.join("pins");
    sdk::materialize(&pin_dir, &pins(guest))?;
    match guest {
        Guest::Python => {
            run(Command::new("python3").args(["-m", "venv"]).arg(&dir), "python3 -m venv")?;
            run(
                Command::new(dir.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", "-r"]).arg(pin_dir.join(sdk::PYTHON_PINS.0)),
                "pip install componentize-py",
            )?;
        }
        Guest::JavaScript => {
            sdk::materialize(&dir, &pins(guest))?;
            run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir), "npm ci")?;
        }
    }
    // Written last, so a failed install is retried.
    std::fs::write(&marker, pins_digest)?;
    anyhow::ensure!(program.is_file(), "the install finished but {} is missing", program.display());
    Ok(program)
}
