//! The app's policy (timeouts, concurrency limits, grants, instance reuse) from the project's `fusion.toml`, checked
//! against Lambda's limits. `fusion push` stores it beside the component index, and every setup
//! applied for the app is stamped with it, so the optimizer's setups carry it unchanged.

use anyhow::{Context, Result};
use fusion_host::{FunctionPolicy, Policy};
use fusion_project::Project;

/// The policy the project's manifest sets, checked.
pub fn project_policy(project: &Project) -> Result<Policy> {
    let manifest = &project.manifest;
    let functions = manifest
        .limits
        .iter()
        .map(|(task, limits)| {
            let policy = FunctionPolicy {
                timeout_s: limits.timeout_s,
                concurrency: limits.concurrency,
                kv: limits.kv.iter().cloned().collect(),
                reuse_instances: limits.reuse_instances,
            };
            (task.clone(), policy)
        })
        .collect();
    let policy = Policy { functions };
    let tasks = manifest.tasks.keys().cloned().collect();
    policy.validate(&tasks).with_context(|| format!("in {}", project.manifest_file().display()))?;
    Ok(policy)
}
