//! Python and JavaScript tasks: a folder `tasks/<app>/<task>/` holding a `task.py` or `task.js`,
//! built by componentize-py or componentize-js against the same `wit/` as the Rust tasks.
//!
//! A task's code is its folder, its language's SDK in `guest-sdk/` and the shared workload
//! module in `tasks/workload/`. A component is rebuilt only when one of those changed: a build
//! takes 10–40 s, and every test binary asks for all components.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::mpsc;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use fusion_project::{Reporter, Workspace};

use crate::built::Built;
use crate::language::Guest;
use crate::toolchain;

/// Components built at once: each build keeps about one and a half cores busy.
const PARALLEL_BUILDS: usize = 2;

/// A task written in a guest language.
#[derive(Debug, Clone)]
struct GuestTask {
    guest: Guest,
    dir: PathBuf,
    /// The component's file stem: `<app>_<task>`, as cargo names a crate `<app>-<task>`.
    stem: String,
}

pub(crate) fn build(ws: &Workspace, reporter: &dyn Reporter) -> Result<Vec<Built>> {
    let tasks = discover(ws)?;
    let mut programs = std::collections::BTreeMap::new();
    for guest in tasks.iter().map(|t| t.guest) {
        if let std::collections::btree_map::Entry::Vacant(entry) = programs.entry(guest) {
            entry.insert(toolchain::ensure(ws, guest, reporter)?);
        }
    }
    let queue = Mutex::new(tasks.into_iter());
    let (done, finished) = mpsc::channel::<Result<Built>>();
    let mut built = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..PARALLEL_BUILDS {
            let (queue, done, programs) = (&queue, done.clone(), &programs);
            scope.spawn(move || {
                loop {
                    let Some(task) = queue.lock().expect("queue").next() else { break };
                    let result = build_one(ws, &task, &programs[&task.guest]);
                    let failed = result.is_err();
                    if done.send(result).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(done);
        for result in finished {
            let component = result?;
            component.report_to(reporter);
            built.push(component);
        }
        Ok(())
    })?;
    Ok(built)
}

/// Every `tasks/<app>/<task>/` folder with a `task.py` or `task.js`.
fn discover(ws: &Workspace) -> Result<Vec<GuestTask>> {
    let mut tasks = Vec::new();
    for app in sorted_dirs(&ws.tasks_dir())? {
        for dir in sorted_dirs(&app)? {
            let languages: Vec<Guest> = Guest::ALL.into_iter().filter(|l| dir.join(l.source_file()).is_file()).collect();
            let guest = match languages[..] {
                [] => continue,
                [guest] => guest,
                _ => bail!("{} has both a task.py and a task.js; a task is written in one language", dir.display()),
            };
            let stem = format!("{}_{}", file_name(&app), file_name(&dir)).replace('-', "_");
            tasks.push(GuestTask { guest, dir, stem });
        }
    }
    Ok(tasks)
}

/// Builds one component unless the one in place was built from the same inputs.
fn build_one(ws: &Workspace, task: &GuestTask, program: &Path) -> Result<Built> {
    let out = ws.components_dir().join(format!("{}.wasm", task.stem));
    let stamp = out.with_extension("wasm.inputs");
    let digest = inputs_digest(ws, task)?;
    let fresh = out.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == digest);
    if !fresh {
        let tmp = out.with_extension("wasm.tmp");
        let output = command(ws, task, program, &tmp)
            .output()
            .with_context(|| format!("cannot run {}", program.display()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            bail!(
                "building the {} task {} failed ({}):\n{}{}",
                task.guest.language().name(),
                task.dir.display(),
                output.status,
                stdout.trim_end(),
                stderr.trim_end()
            );
        }
        std::fs::rename(&tmp, &out)?;
        std::fs::write(&stamp, &digest)?;
    }
    Ok(Built { name: task.stem.clone(), bytes: std::fs::metadata(&out)?.len(), path: out, language: task.guest.language() })
}

fn command(ws: &Workspace, task: &GuestTask, program: &Path, out: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(&ws.root);
    match task.guest {
        // The SDK's `fusion_component` module exports the world and imports the task as `task`.
        Guest::Python => command
            // Importing the task to componentize it must not leave bytecode beside its sources.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .args(["-d", "wit", "-w", "task", "componentize", "fusion_component", "-p"])
            .arg(&task.dir)
            .args(["-p", Guest::Python.sdk_dir(), "-p", "tasks/workload", "-o"])
            .arg(out),
        // Without wasi:http, which the hosts do not provide: a task reaches others through Fusion.
        Guest::JavaScript => command
            .arg(task.dir.join(task.guest.source_file()))
            .args(["--wit", "wit", "--world-name", "task", "-d", "http", "-d", "fetch-event", "-o"])
            .arg(out),
    };
    command
}

/// A digest of everything a guest component is built from: the WIT, the SDK, the shared
/// workload module, the task's folder and the pinned toolchain.
fn inputs_digest(ws: &Workspace, task: &GuestTask) -> Result<String> {
    let ext = task.guest.extension();
    let mut files = files_with(&ws.root.join("wit"), "wit")?;
    files.extend(files_with(&ws.root.join(task.guest.sdk_dir()), ext)?);
    files.extend(files_with(&ws.tasks_dir().join("workload"), ext)?);
    files.extend(files_with(&task.dir, ext)?);
    files.extend(toolchain::manifests(ws, task.guest));
    let mut hash = Sha256::new();
    for file in files {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        hash.update(file.strip_prefix(&ws.root).unwrap_or(&file).to_string_lossy().as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Ok(hex::encode(hash.finalize()))
}

/// The files directly in `dir` ending in `.ext`, sorted.
fn files_with(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap_or_default().to_string_lossy().into_owned()
}
