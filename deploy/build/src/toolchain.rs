//! The Python and JavaScript guest toolchains: componentize-py from PyPI into a virtualenv and
//! componentize-js from npm, both in the user's toolchain cache ([`Workspace::toolchains_dir`]), installed on first use and
//! again when their pinned versions (in `guest-sdk/`) change. Only the package registries are
//! used, so a fresh machine with Python 3 and Node.js needs nothing else.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;
use fusion_project::{Reporter, Workspace};

use crate::command::run;
use crate::language::Guest;

/// The files that pin a language's toolchain, in its SDK folder.
pub(crate) fn manifests(ws: &Workspace, guest: Guest) -> Vec<PathBuf> {
    let sdk = ws.root.join(guest.sdk_dir());
    match guest {
        Guest::Python => vec![sdk.join("requirements.txt")],
        Guest::JavaScript => vec![sdk.join("package.json"), sdk.join("package-lock.json")],
    }
}

/// The program that builds a component of `guest`, installed first if needed.
pub(crate) fn ensure(ws: &Workspace, guest: Guest, reporter: &dyn Reporter) -> Result<PathBuf> {
    let dir = ws.toolchains_dir().join(match guest {
        Guest::Python => "python",
        Guest::JavaScript => "js",
    });
    let program = dir.join(match guest {
        Guest::Python => "bin/componentize-py",
        Guest::JavaScript => "node_modules/.bin/componentize-js",
    });
    let manifests = manifests(ws, guest);
    // What was installed from: the pinning files' contents, written once the install succeeded.
    let marker = dir.join("installed-from");
    let pins = manifests.iter().map(std::fs::read).collect::<std::io::Result<Vec<_>>>()?.concat();
    if program.is_file() && std::fs::read(&marker).is_ok_and(|installed| installed == pins) {
        return Ok(program);
    }
    reporter.note(&format!("installing the {} guest toolchain into {}", guest.language().name(), dir.display()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    match guest {
        Guest::Python => {
            run(Command::new("python3").args(["-m", "venv"]).arg(&dir), "python3 -m venv")?;
            run(
                Command::new(dir.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                    .arg(&manifests[0]),
                "pip install componentize-py",
            )?;
        }
        Guest::JavaScript => {
            for manifest in &manifests {
                std::fs::copy(manifest, dir.join(manifest.file_name().expect("a file")))?;
            }
            run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir), "npm ci")?;
        }
    }
    // Written last, so a failed install is retried.
    std::fs::write(&marker, pins)?;
    anyhow::ensure!(program.is_file(), "the install finished but {} is missing", program.display());
    Ok(program)
}
