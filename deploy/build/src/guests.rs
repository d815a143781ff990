//! Python and JavaScript tasks: a `task.py` or `task.js`, built by componentize-py or
//! componentize-js against the `fusion:task` world this binary carries.
//!
//! A task's code is, for Python, its folder, the project's shared folders and the SDK; for
//! JavaScript, the modules it imports. A component is rebuilt only when its code, the WIT or the
//! pinned toolchain changed (a build takes 10–40 s), and copied from the user's cache when another
//! project built the same.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::mpsc;

use anyhow::{Context, Result, bail};
use fusion_project::{Project, Reporter};
use sha2::{Digest, Sha256};

use crate::built::Built;
use crate::language::Guest;
use crate::{cache, sdk, toolchain};

/// Components built at once: each build keeps about one and a half cores busy.
const PARALLEL_BUILDS: usize = 2;

/// A task written in a guest language.
#[derive(Debug, Clone)]
pub(crate) struct GuestTask {
    pub task: String,
    pub guest: Guest,
    /// Its `task.py` or `task.js`.
    pub source: PathBuf,
    pub out: PathBuf,
}

/// What every build of the project shares: the project, the WIT and the Python SDK on disk.
struct Shared<'a> {
    project: &'a Project,
    wit: PathBuf,
    python_sdk: PathBuf,
    programs: BTreeMap<Guest, PathBuf>,
    /// The user's cache of built components.
    cache: PathBuf,
}

/// Builds `tasks`, two at a time; `reporter` hears about each component as it is finished.
pub(crate) fn build(project: &Project, tasks: Vec<GuestTask>, reporter: &dyn Reporter) -> Result<Vec<Built>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let mut programs = BTreeMap::new();
    for guest in tasks.iter().map(|t| t.guest) {
        if let std::collections::btree_map::Entry::Vacant(entry) = programs.entry(guest) {
            entry.insert(toolchain::ensure(guest, reporter)?);
        }
    }
    let context = Shared { project, wit: sdk::wit_dir(&project.state_dir())?, python_sdk: sdk::python_dir(&project.toolchains_dir())?, programs, cache: cache::dir() };
    let queue = Mutex::new(tasks.into_iter());
    let (done, finished) = mpsc::channel::<Result<Built>>();
    let mut built = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..PARALLEL_BUILDS {
            let (queue, done, context) = (&queue, done.clone(), &context);
            scope.spawn(move || {
                loop {
                    let Some(task) = queue.lock().expect("queue").next() else { break };
                    let result = build_one(context, &task);
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

/// Builds one component unless the one in place was built from the same inputs, or copies it
/// from the user's [`cache`] when another project built it.
fn build_one(context: &Shared<'_>, task: &GuestTask) -> Result<Built> {
    let stamp = task.out.with_extension("wasm.inputs");
    let digest = inputs_digest(context.project, task)?;
    let fresh = task.out.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == digest);
    let mut cached = false;
    if !fresh {
        cached = cache::get_or_build(&context.cache, &digest, &task.out, |tmp| componentize(context, task, tmp))? == cache::Origin::Cached;
        std::fs::write(&stamp, &digest)?;
    }
    Built::at(&task.task, &task.out, task.guest.language(), cached)
}

/// Runs the task's componentize tool, writing its component to `out`.
fn componentize(context: &Shared<'_>, task: &GuestTask, out: &Path) -> Result<()> {
    let program = &context.programs[&task.guest];
    let sources = python_folders(context, task);
    let caches_before = bytecode_caches(&sources);
    let output = command(context, task, &sources, program, out).output();
    // componentize-py's interpreter imports the task to snapshot it, and writes bytecode beside
    // the sources whatever PYTHONDONTWRITEBYTECODE says: what it wrote there is taken away.
    for bytecode in bytecode_caches(&sources).difference(&caches_before) {
        let _ = std::fs::remove_dir_all(bytecode);
    }
    let output = output.with_context(|| format!("cannot run {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "building the {} task '{}' ({}) failed ({}):\n{}{}",
            task.guest.language().name(),
            task.task,
            task.source.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout).trim_end(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(())
}

/// The build of `task` by `program` into `out`; a Python task imports from `python_folders`.
fn command(context: &Shared<'_>, task: &GuestTask, python_folders: &[PathBuf], program: &Path, out: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(&context.project.root);
    match task.guest {
        // The SDK's `fusion_component` module exports the world and imports the task as `task`.
        Guest::Python => {
            // The task's own folder first, then the SDK, then the shared folders.
            command.arg("-d").arg(&context.wit).args(["-w", "task", "componentize", "fusion_component"]);
            for folder in python_folders.iter().take(1).chain([&context.python_sdk]).chain(python_folders.iter().skip(1)) {
                command.arg("-p").arg(folder);
            }
            command.arg("-o").arg(out)
        }
        // Without wasi:http, which the hosts do not provide: a task reaches others through Fusion.
        // componentize-js resolves the WIT and every module a task imports inside its working
        // directory: it runs in the folder that holds them all.
        Guest::JavaScript => {
            let mut files = js_modules(&task.source);
            files.push(context.wit.clone());
            let top = common_ancestor(&files);
            let below = |path: &Path| path.strip_prefix(&top).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf());
            command
                .current_dir(&top)
                .arg(below(&task.source))
                .arg("--wit")
                .arg(below(&context.wit))
                .args(["--world-name", "task", "-d", "http", "-d", "fetch-event", "-o"])
                .arg(out)
        }
    };
    command
}

/// The project's folders a Python task imports from: its own and the shared ones (none for a
/// JavaScript task).
fn python_folders(context: &Shared<'_>, task: &GuestTask) -> Vec<PathBuf> {
    if task.guest != Guest::Python {
        return Vec::new();
    }
    let own = task.source.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::iter::once(own).chain(context.project.manifest.shared.iter().map(|s| context.project.path(s))).collect()
}

/// Every `__pycache__` folder in or below `folders`.
fn bytecode_caches(folders: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = folders.to_vec();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for path in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()) {
            if path.file_name().is_some_and(|n| n == "__pycache__") {
                found.insert(path);
            } else {
                pending.push(path);
            }
        }
    }
    found
}

/// A JavaScript task's module graph: its source and every module it imports by relative path,
/// directly or through other modules (found by reading their `import … from './…'` lines).
fn js_modules(source: &Path) -> Vec<PathBuf> {
    let mut seen = vec![source.canonicalize().unwrap_or_else(|_| source.to_path_buf())];
    let mut next = 0;
    while next < seen.len() {
        let file = seen[next].clone();
        next += 1;
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        for specifier in relative_imports(&text) {
            let imported = file.parent().unwrap_or(Path::new("/")).join(specifier);
            if let Ok(imported) = imported.canonicalize()
                && !seen.contains(&imported)
            {
                seen.push(imported);
            }
        }
    }
    seen
}

/// The relative specifiers of a module's static imports and re-exports.
fn relative_imports(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for line in text.lines().map(str::trim_start).filter(|l| l.starts_with("import") || l.starts_with("export")) {
        for quote in ['\'', '"'] {
            let mut parts = line.split(quote);
            if let (Some(_), Some(specifier)) = (parts.next(), parts.next())
                && specifier.starts_with('.')
            {
                found.push(specifier);
            }
        }
    }
    found
}

/// The deepest folder holding every one of `paths`.
fn common_ancestor(paths: &[PathBuf]) -> PathBuf {
    let mut top = paths.first().and_then(|p| p.parent()).map(Path::to_path_buf).unwrap_or_default();
    for path in paths {
        while !path.starts_with(&top) {
            if !top.pop() {
                break;
            }
        }
    }
    top
}

/// A digest of everything a guest component is built from: the WIT, the SDKs, the pinned
/// toolchain, and the task's code — for Python its folder and the project's shared folders, for
/// JavaScript its module graph.
fn inputs_digest(project: &Project, task: &GuestTask) -> Result<String> {
    let ext = task.guest.extension();
    let mut hash = Sha256::new();
    hash.update(sdk::WIT.as_bytes());
    hash.update(sdk::digest(&sdk::PYTHON).as_bytes());
    hash.update(sdk::digest(&[sdk::JAVASCRIPT]).as_bytes());
    hash.update(toolchain::pins_digest(task.guest).as_bytes());
    let files = match task.guest {
        Guest::JavaScript => js_modules(&task.source),
        Guest::Python => {
            let mut folders = vec![task.source.parent().unwrap_or(Path::new(".")).to_path_buf()];
            folders.extend(project.manifest.shared.iter().map(|s| project.path(s)));
            folders.iter().map(|f| files_with(f, ext)).collect::<Result<Vec<_>>>()?.concat()
        }
    };
    for file in files {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        hash.update(file.strip_prefix(&project.root).unwrap_or(&file).to_string_lossy().as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Ok(hex::encode(hash.finalize()))
}

/// The files directly in `dir` ending in `.ext`, sorted; none when `dir` does not exist.
fn files_with(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}
