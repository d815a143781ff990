//! Fusion setups: which tasks each function runs in-process, and its memory size.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};

use crate::policy::Policy;

/// Lambda's memory range; the CPU share of a function follows its memory size.
pub const MEMORY_MB_RANGE: std::ops::RangeInclusive<u32> = 128..=10_240;
/// Memory size of a function its setup gives none: Lambda's minimum.
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Longest setup document accepted: a few lines per task, even for apps of hundreds of tasks.
pub const MAX_SETUP_BYTES: usize = 256 << 10;
/// Longest `created_by`: a command line or a reason, for people.
pub const MAX_CREATED_BY_CHARS: usize = 500;

/// One immutable, versioned fusion setup.
///
/// Every task `T` has a function `F(T)`. Inside `F(T)`, a call to `U` runs in-process iff `U` is
/// `T` or listed in `F(T)`'s `inline`; otherwise it goes to `F(U)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusionSetup {
    /// The application the setup is for.
    pub app: String,
    /// Assigned by the store when the setup is applied (1, 2, …); 0 for one never applied.
    #[serde(default)]
    pub version: u64,
    /// The version that was current when this one was applied; rollback returns to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// Who or what wrote the setup (a preset, the optimizer, a command), for people.
    #[serde(default)]
    pub created_by: String,
    /// Task → component digest (`sha256:…`); filled in when components are pushed to a store.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, String>,
    /// Function (named after its task) → its configuration. A task without an entry gets a
    /// function with nothing inlined and the default memory size.
    pub functions: BTreeMap<String, FunctionConfig>,
    /// The user's timeouts and concurrency limits, from `fusion.toml` when the setup was applied.
    #[serde(default, skip_serializing_if = "Policy::is_empty")]
    pub policy: Policy,
}

/// The configuration of one function: what it runs in-process and its memory size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// Tasks run in-process besides the function's own; calls to other tasks go to their functions.
    #[serde(default)]
    pub inline: BTreeSet<String>,
    /// Memory size in MB, within [`MEMORY_MB_RANGE`]; it also sets the function's CPU share.
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
}

fn default_memory() -> u32 {
    DEFAULT_MEMORY_MB
}

impl Default for FunctionConfig {
    fn default() -> Self {
        FunctionConfig { inline: BTreeSet::new(), memory_mb: DEFAULT_MEMORY_MB }
    }
}

/// The named setups every application has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// One function per task: every call crosses a function boundary.
    AllRemote,
    /// One function runs the whole application in-process.
    AllLocal,
}

impl Preset {
    /// Every preset with its name on the command line.
    pub const NAMED: [(&'static str, Preset); 2] = [("all-remote", Preset::AllRemote), ("all-local", Preset::AllLocal)];
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(name: &str) -> Result<Preset, String> {
        crate::named::parse(&Preset::NAMED, "preset", name)
    }
}

impl FusionSetup {
    /// Parses a setup document; the error says what is wrong and where.
    pub fn from_json(text: &str) -> Result<FusionSetup> {
        ensure!(text.len() <= MAX_SETUP_BYTES, "the setup document is {} bytes; at most {MAX_SETUP_BYTES} are accepted", text.len());
        serde_json::from_str(text).context("malformed fusion setup JSON")
    }

    /// Reads and parses the setup file at `path`.
    pub fn load(path: &std::path::Path) -> Result<FusionSetup> {
        let size = std::fs::metadata(path).with_context(|| format!("cannot read setup {}", path.display()))?.len();
        ensure!(size <= MAX_SETUP_BYTES as u64, "setup {} is {size} bytes; at most {MAX_SETUP_BYTES} are accepted", path.display());
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read setup {}", path.display()))?;
        Self::from_json(&text).with_context(|| format!("in setup {}", path.display()))
    }

    /// The `preset` setup of `app`, whose entry task is `entry`; version 0, not yet applied.
    pub fn preset(preset: Preset, app: &str, tasks: &BTreeSet<String>, entry: &str) -> FusionSetup {
        let mut functions: BTreeMap<String, FunctionConfig> =
            tasks.iter().map(|t| (t.clone(), FunctionConfig::default())).collect();
        if preset == Preset::AllLocal {
            let all_but_entry = tasks.iter().filter(|t| *t != entry).cloned().collect();
            functions.insert(entry.to_string(), FunctionConfig { inline: all_but_entry, ..Default::default() });
        }
        let created_by = match preset {
            Preset::AllRemote => "preset/all-remote",
            Preset::AllLocal => "preset/all-local",
        };
        FusionSetup {
            app: app.to_string(),
            version: 0,
            parent: None,
            created_by: created_by.to_string(),
            components: BTreeMap::new(),
            functions,
            policy: Policy::default(),
        }
    }

    /// Checks the setup against the application's tasks before anything runs.
    pub fn validate(&self, app: &str, tasks: &BTreeSet<String>) -> Result<()> {
        ensure!(self.app == app, "setup is for app '{}', not '{app}'", self.app);
        let known = |t: &str| tasks.contains(t);
        for (function, config) in &self.functions {
            if !known(function) {
                bail!("setup names function '{function}', but app '{app}' has no task of that name (tasks: {})", list(tasks));
            }
            for task in &config.inline {
                if !known(task) {
                    bail!("function '{function}' inlines unknown task '{task}' (tasks: {})", list(tasks));
                }
            }
            ensure!(
                MEMORY_MB_RANGE.contains(&config.memory_mb),
                "function '{function}': memory_mb {} is outside {}..={} MB",
                config.memory_mb,
                MEMORY_MB_RANGE.start(),
                MEMORY_MB_RANGE.end()
            );
        }
        for (task, digest) in &self.components {
            ensure!(known(task), "setup pins a component for unknown task '{task}'");
            ensure!(is_digest(digest), "task '{task}': '{}' is not a component digest (sha256:…)", digest.chars().take(80).collect::<String>());
        }
        let chars = self.created_by.chars().count();
        ensure!(chars <= MAX_CREATED_BY_CHARS, "created_by is {chars} characters; at most {MAX_CREATED_BY_CHARS} are accepted");
        self.policy.validate(tasks)
    }

    /// The configuration of `F(task)`.
    pub fn function(&self, task: &str) -> FunctionConfig {
        self.functions.get(task).cloned().unwrap_or_default()
    }

    /// Whether a call to `callee` made inside function `function` runs in-process.
    pub fn is_local(&self, function: &str, callee: &str) -> bool {
        function == callee || self.functions.get(function).is_some_and(|f| f.inline.contains(callee))
    }

    /// The groups of tasks that share a function, for display.
    pub fn describe(&self) -> String {
        let mut seen = BTreeSet::new();
        let groups: Vec<String> = self
            .functions
            .iter()
            .filter(|(_, f)| !f.inline.is_empty())
            .filter_map(|(name, f)| {
                let members: Vec<&str> = std::iter::once(name.as_str()).chain(f.inline.iter().map(String::as_str)).collect();
                // Functions that all run the same group (as the optimizer writes them) show it once.
                seen.insert(members.iter().copied().collect::<BTreeSet<_>>()).then(|| format!("{{{}}}", members.join(",")))
            })
            .collect();
        if groups.is_empty() { "one function per task".to_string() } else { groups.join(" ") }
    }
}

/// `sha256:` and 64 lowercase hex digits, as the store names components.
fn is_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn list(tasks: &BTreeSet<String>) -> String {
    tasks.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
}
