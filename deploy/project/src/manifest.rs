//! `fusion.toml`, the project manifest: the app's name, its entry task, and where each task's
//! component comes from. Parsed strictly: an unknown field or a wrong type is refused with its
//! line and column, and every task is checked before anything is built.
//!
//! ```toml
//! name = "shop"
//! entry = "front"
//! shared = ["lib"]               # optional: code the Python and JavaScript tasks share
//!
//! [tasks.front]
//! rust = "tasks/front"           # a crate folder, built by cargo for wasm32-wasip2
//!
//! [tasks.check]
//! python = "tasks/check/task.py" # built by componentize-py
//!
//! [tasks.archive]
//! js = "tasks/archive/task.js"   # built by componentize-js
//!
//! [tasks.price]
//! build = "make -C tasks/price"  # any command, run in the project folder,
//! component = "tasks/price/price.wasm" # and the component it leaves there
//! timeout_s = 30                 # optional, any task: its function's timeout (Lambda's, 1..=900 s)
//! concurrency = 10               # optional: invocations its function runs at once
//! kv = ["prices"]                # optional: the key-value stores the task may reach
//! reuse_instances = true         # optional: keep instances between executions (no isolation)
//! ```
//!
//! `timeout_s`, `concurrency`, `kv` and `reuse_instances` are the user's policy (for the function named after the
//! task, and for the task's grants): every setup carries them unchanged, whatever grouping the
//! optimizer picks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

/// The file that makes a folder a Fusion project.
pub const MANIFEST_FILE: &str = "fusion.toml";

/// Longest accepted manifest: a manifest is a few lines per task.
const MAX_MANIFEST_BYTES: u64 = 256 << 10;

/// A parsed, checked `fusion.toml`. Paths are relative to the project folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The application's name: names its setups, its store prefix and its Lambda functions.
    pub name: String,
    /// The task that takes requests from outside.
    pub entry: String,
    /// Folders of code the Python and JavaScript tasks share: on every Python task's import path,
    /// imported by relative path from JavaScript, and part of what their components are built from.
    pub shared: Vec<PathBuf>,
    /// Task name → where its component comes from.
    pub tasks: BTreeMap<String, TaskSource>,
    /// Task name → the limits of its function, for the tasks that set any.
    pub limits: BTreeMap<String, Limits>,
}

/// The policy of the function named after a task, and the task's grants: `None` takes the
/// host's default. Ranges are checked where the policy is made from it (`fusion_cluster::policy`),
/// against Lambda's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// The function's timeout, seconds.
    pub timeout_s: Option<u32>,
    /// Invocations the function runs at once.
    pub concurrency: Option<u32>,
    /// The key-value stores the task may reach.
    pub kv: Vec<String>,
    /// The task's executions reuse instances kept from earlier ones (giving up isolation).
    pub reuse_instances: bool,
}

/// Where a task's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskSource {
    /// A Rust crate folder, built by cargo for wasm32-wasip2.
    Rust(PathBuf),
    /// A Python `task.py`, built by componentize-py.
    Python(PathBuf),
    /// A JavaScript `task.js`, built by componentize-js.
    JavaScript(PathBuf),
    /// Any toolchain: a shell command run in the project folder, and the component it writes.
    Command {
        /// The command, run with `sh -c`.
        build: String,
        /// The component it produces.
        component: PathBuf,
    },
}

impl TaskSource {
    /// The source's kind, for people.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskSource::Rust(_) => "rust",
            TaskSource::Python(_) => "python",
            TaskSource::JavaScript(_) => "js",
            TaskSource::Command { .. } => "build",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    entry: String,
    #[serde(default)]
    shared: Vec<PathBuf>,
    tasks: BTreeMap<String, RawTask>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    rust: Option<PathBuf>,
    python: Option<PathBuf>,
    js: Option<PathBuf>,
    build: Option<String>,
    component: Option<PathBuf>,
    timeout_s: Option<u32>,
    concurrency: Option<u32>,
    #[serde(default)]
    kv: Vec<String>,
    #[serde(default)]
    reuse_instances: bool,
}

impl Manifest {
    /// Reads and checks the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest> {
        let size = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
        ensure!(size <= MAX_MANIFEST_BYTES, "{} is {size} bytes; a manifest may have at most {MAX_MANIFEST_BYTES}", path.display());
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Manifest::parse(&text).with_context(|| format!("{} is not a valid Fusion manifest", path.display()))
    }

    /// Parses and checks manifest text.
    pub fn parse(text: &str) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
        check_name("app name", &raw.name)?;
        ensure!(!raw.tasks.is_empty(), "the manifest has no [tasks.NAME] table: an app needs at least its entry task");
        let mut tasks = BTreeMap::new();
        let mut limits = BTreeMap::new();
        for (name, task) in raw.tasks {
            check_name("task name", &name)?;
            let limit = Limits { timeout_s: task.timeout_s, concurrency: task.concurrency, kv: task.kv.clone(), reuse_instances: task.reuse_instances };
            if limit != Limits::default() {
                limits.insert(name.clone(), limit);
            }
            let source = task.source().with_context(|| format!("task '{name}'"))?;
            tasks.insert(name, source);
        }
        ensure!(tasks.contains_key(&raw.entry), "entry task '{}' is not among the tasks ({})", raw.entry, tasks.keys().cloned().collect::<Vec<_>>().join(", "));
        Ok(Manifest { name: raw.name, entry: raw.entry, shared: raw.shared, tasks, limits })
    }
}

impl RawTask {
    fn source(self) -> Result<TaskSource> {
        let given: Vec<&str> = [("rust", self.rust.is_some()), ("python", self.python.is_some()), ("js", self.js.is_some()), ("build", self.build.is_some())]
            .into_iter()
            .filter_map(|(k, set)| set.then_some(k))
            .collect();
        match (self.rust, self.python, self.js, self.build, self.component) {
            (Some(dir), None, None, None, None) => Ok(TaskSource::Rust(dir)),
            (None, Some(file), None, None, None) => {
                // The SDK's exporting module imports the task as `task`.
                ensure!(file.file_name().is_some_and(|n| n == "task.py"), "a Python task is a file named task.py, not {}", file.display());
                Ok(TaskSource::Python(file))
            }
            (None, None, Some(file), None, None) => Ok(TaskSource::JavaScript(file)),
            (None, None, None, Some(build), Some(component)) => Ok(TaskSource::Command { build, component }),
            (None, None, None, Some(_), None) => bail!("`build` needs `component`, the path of the component the command produces"),
            (_, _, _, None, Some(_)) => bail!("`component` goes with `build`: a rust, python or js task is built by Fusion"),
            _ if given.is_empty() => bail!("say where its component comes from: rust = \"CRATE DIR\", python = \"task.py\", js = \"task.js\", or build = \"COMMAND\" with component = \"FILE\""),
            _ => bail!("give one of rust, python, js or build, not {}", given.join(" and ")),
        }
    }
}

/// Names end up in file names, URLs and Lambda function names: letters, digits, `-` and `_`.
fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty() && name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ensure!(ok, "{what} '{name}' must be 1 to 40 letters, digits, '-' or '_'");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name = \"shop\"\nentry = \"front\"\n[tasks.front]\nrust = \"front\"\n[tasks.check]\npython = \"check/task.py\"\n[tasks.c]\nbuild = \"make\"\ncomponent = \"c.wasm\"\n";

    #[test]
    fn a_manifest_names_each_task_source() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.entry, "front");
        assert_eq!(m.tasks["front"], TaskSource::Rust("front".into()));
        assert_eq!(m.tasks["c"], TaskSource::Command { build: "make".into(), component: "c.wasm".into() });
    }

    #[test]
    fn a_task_may_set_its_functions_limits() {
        let m = Manifest::parse(&GOOD.replace("rust = \"front\"", "rust = \"front\"\ntimeout_s = 5\nconcurrency = 3\nkv = [\"cart\"]\nreuse_instances = true")).unwrap();
        assert_eq!(m.limits["front"], Limits { timeout_s: Some(5), concurrency: Some(3), kv: vec!["cart".into()], reuse_instances: true });
        assert!(!m.limits.contains_key("check"), "a task without limits has no entry");
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_line_and_column() {
        let err = format!("{:#}", Manifest::parse(&GOOD.replace("entry = \"front\"", "entry = \"front\"\ncolour = 1")).unwrap_err());
        assert!(err.contains("line 3, column 1") && err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn a_wrong_type_is_refused_with_its_line() {
        let err = format!("{:#}", Manifest::parse(&GOOD.replace("rust = \"front\"", "rust = 7")).unwrap_err());
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn a_task_needs_exactly_one_source_and_the_entry_must_exist() {
        let both = GOOD.replace("rust = \"front\"", "rust = \"front\"\njs = \"x.js\"");
        assert!(format!("{:#}", Manifest::parse(&both).unwrap_err()).contains("not rust and js"));
        let no_component = GOOD.replace("component = \"c.wasm\"\n", "");
        assert!(format!("{:#}", Manifest::parse(&no_component).unwrap_err()).contains("`build` needs `component`"));
        let no_entry = GOOD.replace("entry = \"front\"", "entry = \"back\"");
        assert!(format!("{:#}", Manifest::parse(&no_entry).unwrap_err()).contains("entry task 'back'"));
        let bad_name = GOOD.replace("[tasks.c]", "[tasks.\"a/b\"]");
        assert!(format!("{:#}", Manifest::parse(&bad_name).unwrap_err()).contains("task name 'a/b'"));
    }
}
