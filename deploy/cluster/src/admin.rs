//! The control plane's signed admin calls to running hosts: retire their execution environments,
//! and hot-swap them to the store's current setup.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fusion_host::auth::Signer;
use fusion_host::wire::{self, EXPIRE_PATH, REFRESH_PATH};

use crate::state::ClusterState;

/// Retires the environments of the function at `url`: its next invocations start cold.
pub async fn expire(client: &reqwest::Client, signer: &Signer, url: &str) -> Result<()> {
    let response = post(client, signer, url, EXPIRE_PATH).await?;
    anyhow::ensure!(response.status().is_success(), "{url} refused to retire its environments: {}", response.status());
    Ok(())
}

/// Has the host at `url` swap to the store's current setup; returns the version it serves.
pub async fn refresh(client: &reqwest::Client, signer: &Signer, url: &str) -> Result<u64> {
    let response = post(client, signer, url, REFRESH_PATH).await?;
    let status = response.status();
    let bytes = response.bytes().await.with_context(|| format!("reading {url}'s answer"))?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| format!("{url} answered {status} without its version"))?;
    match (status.is_success(), body["version"].as_u64()) {
        (true, Some(version)) => Ok(version),
        _ => bail!("{url} keeps serving version {}: {}", body["version"], body["error"].as_str().unwrap_or(status.as_str())),
    }
}

/// Has every host of `cluster` serve setup `version`, all at once; returns how long it took
/// until the last one did.
pub async fn swap_all(cluster: &ClusterState, version: u64) -> Result<Duration> {
    let client = reqwest::Client::new();
    let signer = Signer::new(cluster.secret.clone());
    let started = Instant::now();
    let mut swaps = tokio::task::JoinSet::new();
    for (function, url) in &cluster.endpoints {
        let (client, signer, url, function) = (client.clone(), signer.clone(), url.clone(), function.clone());
        swaps.spawn(async move { (function, refresh(&client, &signer, &url).await) });
    }
    let mut problems = Vec::new();
    while let Some(joined) = swaps.join_next().await {
        match joined? {
            (_, Ok(served)) if served == version => {}
            (function, Ok(served)) => problems.push(format!("{function} serves version {served}")),
            (function, Err(err)) => problems.push(format!("{function}: {err:#}")),
        }
    }
    anyhow::ensure!(problems.is_empty(), "not every host serves version {version}:\n  {}", problems.join("\n  "));
    Ok(started.elapsed())
}

async fn post(client: &reqwest::Client, signer: &Signer, url: &str, path: &str) -> Result<reqwest::Response> {
    let signature = signer.sign(path, &reqwest::header::HeaderMap::new(), b"");
    client.post(format!("{url}{path}")).header(wire::SIGNATURE, signature).send().await.with_context(|| format!("{url} is unreachable"))
}
