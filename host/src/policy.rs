//! The user's policy for each function: its timeout and its concurrency limit, with Lambda's
//! meanings and limits, the key-value stores its task may reach, and whether the task reuses its
//! instances. It is written in the project's `fusion.toml`; every setup carries it
//! unchanged (the optimizer decides grouping and memory sizes only), so a setup document shows the
//! policy it ran under.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::time::Duration;

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};

/// The timeout of a function whose policy sets none (the host's `RuntimeConfig::deadline` default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Lambda's timeout range, seconds.
pub const TIMEOUT_S_RANGE: RangeInclusive<u32> = 1..=900;

/// Reserved concurrency a function may be given: at least one environment, at most Lambda's
/// default account limit.
pub const CONCURRENCY_RANGE: RangeInclusive<u32> = 1..=1000;

/// Concurrent invocations of a function whose policy sets no limit. Lambda's account limit (1000)
/// is shared by every function of an account and backed by a fleet; a local host shares a
/// machine's cores, and beyond this many invocations in flight it would only queue work that
/// finishes late (and fill the pooling allocator's 1000 instance slots).
pub const DEFAULT_CONCURRENCY: u32 = 100;

/// Accepted async invocations a function queues while it is at its concurrency limit, per
/// concurrent invocation it may run. Beyond `limit × ASYNC_QUEUE_PER_SLOT`, an async call is
/// refused at once with `throttled` (Lambda's queue is larger but not local: a host that keeps
/// accepting work it cannot start only grows its memory).
pub const ASYNC_QUEUE_PER_SLOT: u32 = 10;

/// The policy of every function of an app; a function without an entry gets the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Function (named after its task) → its limits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, FunctionPolicy>,
}

/// The limits of one function, and its task's grants. Unset fields take the host's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionPolicy {
    /// Wall-clock time one invocation may take, fused work and the calls it waits on included
    /// (Lambda's `Timeout`), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u32>,
    /// Invocations the function runs at once; a sync call beyond it is refused with `throttled`,
    /// async calls queue (Lambda's reserved concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// The key-value stores the task (not the other tasks fused into its function) may reach;
    /// none by default.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub kv: BTreeSet<String>,
    /// Run the task's executions in instances kept from earlier ones instead of a fresh instance
    /// each (the task's choice, wherever it is fused). Faster, but requests are no longer
    /// isolated from each other: what one leaves in the instance's memory and globals, the next
    /// sees. An instance that trapped or ran out of memory is never reused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reuse_instances: bool,
}

impl Policy {
    /// True when no function has a limit of its own.
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    /// The timeout of `function`; `default` when its policy sets none.
    pub fn timeout(&self, function: &str, default: Duration) -> Duration {
        self.functions.get(function).and_then(|p| p.timeout_s).map_or(default, |s| Duration::from_secs(s.into()))
    }

    /// How many invocations of `function` may run at once.
    pub fn concurrency(&self, function: &str) -> u32 {
        self.functions.get(function).and_then(|p| p.concurrency).unwrap_or(DEFAULT_CONCURRENCY)
    }

    /// The key-value stores `task` may reach.
    pub fn grants(&self, task: &str) -> BTreeSet<String> {
        self.functions.get(task).map(|p| p.kv.clone()).unwrap_or_default()
    }

    /// True when `task` opted in to reusing its instances.
    pub fn reuses_instances(&self, task: &str) -> bool {
        self.functions.get(task).is_some_and(|p| p.reuse_instances)
    }

    /// Checks every entry names a task of the app and stays within Lambda's limits.
    pub fn validate(&self, tasks: &BTreeSet<String>) -> Result<()> {
        for (function, limits) in &self.functions {
            ensure!(tasks.contains(function), "the policy names function '{function}', but the app has no task of that name");
            limits.validate().map_err(|e| e.context(format!("function '{function}'")))?;
        }
        Ok(())
    }
}

impl FunctionPolicy {
    /// Checks the limits are within Lambda's.
    pub fn validate(&self) -> Result<()> {
        if let Some(timeout) = self.timeout_s {
            let (lo, hi) = (TIMEOUT_S_RANGE.start(), TIMEOUT_S_RANGE.end());
            ensure!(TIMEOUT_S_RANGE.contains(&timeout), "timeout_s {timeout} is outside {lo}..={hi} s, Lambda's range");
        }
        if let Some(limit) = self.concurrency {
            let (lo, hi) = (CONCURRENCY_RANGE.start(), CONCURRENCY_RANGE.end());
            ensure!(CONCURRENCY_RANGE.contains(&limit), "concurrency {limit} is outside {lo}..={hi}");
        }
        for store in &self.kv {
            ensure!(crate::kv::is_store_name(store), "kv store '{store}' must be 1 to 40 letters, digits, '-' or '_'");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_limits_take_the_defaults_and_limits_are_lambdas() {
        let policy: Policy = serde_json::from_str(r#"{"functions":{"A":{"timeout_s":5}}}"#).unwrap();
        assert_eq!(policy.timeout("A", Duration::from_secs(60)), Duration::from_secs(5));
        assert_eq!(policy.timeout("B", Duration::from_secs(60)), Duration::from_secs(60));
        assert_eq!(policy.concurrency("A"), DEFAULT_CONCURRENCY);
        let tasks: BTreeSet<String> = ["A".to_string()].into();
        assert!(policy.validate(&tasks).is_ok());
        let too_long = FunctionPolicy { timeout_s: Some(901), ..Default::default() };
        assert!(format!("{:#}", too_long.validate().unwrap_err()).contains("outside 1..=900"));
        let none = FunctionPolicy { concurrency: Some(0), ..Default::default() };
        assert!(none.validate().is_err());
        let bad_store = FunctionPolicy { kv: ["a/b".to_string()].into(), ..Default::default() };
        assert!(bad_store.validate().is_err());
        let unknown: Policy = serde_json::from_str(r#"{"functions":{"Z":{}}}"#).unwrap();
        assert!(format!("{:#}", unknown.validate(&tasks).unwrap_err()).contains("no task of that name"));
    }
}
