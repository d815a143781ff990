//! The state file of a local cluster: what a running `fusion up` tells other commands about
//! itself (its hosts, secret, telemetry and store), so `fusion load`, `fusion extract` and
//! `fusion setup apply` find it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fusion_host::platform::Platform;
use serde::{Deserialize, Serialize};

/// What a running cluster tells other commands about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    /// The app it runs.
    pub app: String,
    /// The app's entry task, whose function takes requests.
    pub entry: String,
    /// The setup as chosen on the command line, and what it looks like.
    pub setup: String,
    /// The starting setup's groups, for people.
    pub groups: String,
    /// The platform profile the hosts emulate.
    #[serde(with = "platform_name")]
    pub platform: Platform,
    /// Function → base URL.
    pub endpoints: BTreeMap<String, String>,
    /// The secret every call between the hosts is signed with.
    pub secret: String,
    /// The folder the hosts write their telemetry to.
    pub telemetry: PathBuf,
    /// The process that owns the hosts.
    pub pid: u32,
    /// The setup version the cluster started with.
    pub setup_version: u64,
    /// The app's public front door: `POST` JSON here runs the entry task, unsigned.
    #[serde(default)]
    pub front_door: Option<String>,
    /// The embedded S3 server the hosts use, while the cluster runs.
    pub store_endpoint: Option<String>,
}

impl ClusterState {
    /// The state file's name in a cluster's folder.
    pub const FILE: &'static str = "cluster.json";

    /// The state of the cluster in `dir`, if its owner is still running.
    pub fn running(dir: &Path) -> Option<ClusterState> {
        let text = std::fs::read_to_string(dir.join(Self::FILE)).ok()?;
        let state: ClusterState = serde_json::from_str(&text).ok()?;
        // SAFETY: signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(state.pid as libc::pid_t, 0) } == 0;
        alive.then_some(state)
    }

    /// The state last written in `dir`, running or not (its telemetry stays behind).
    pub fn last(dir: &Path) -> Result<ClusterState> {
        let path = dir.join(Self::FILE);
        let text = std::fs::read_to_string(&path).with_context(|| format!("no cluster was started here ({} is missing)", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }
}


/// A platform in the state file is its name.
mod platform_name {
    use fusion_host::platform::Platform;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(platform: &Platform, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(platform.name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Platform, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}
