//! Fusion's store on S3: content-addressed components, precompiled artifacts
//! keyed by component digest and engine fingerprint, immutable versioned fusion setups with a
//! pointer to the current one, and telemetry batches. Any S3 endpoint works; locally it is the
//! embedded server of [`embedded`].

pub mod embedded;
pub mod seal;
mod setups;
pub mod source;
mod whole_reads;

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use fusion_host::Policy;
use fusion_host::components::digest_of;

/// Where the store lives.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); None for AWS itself.
    pub endpoint: Option<String>,
    /// The S3 bucket; connecting creates it if it does not exist.
    pub bucket: String,
    /// Prefix of every key, e.g. `fusion/`.
    pub prefix: String,
    /// The AWS region requests are signed for, e.g. `us-east-1`.
    pub region: String,
    /// Static keys; None takes the standard AWS credential chain (environment, profile, role).
    pub credentials: Option<(String, String)>,
}

impl StoreConfig {
    /// The store at `s3://BUCKET[/PREFIX]`, with credentials from the standard AWS chain.
    pub fn at(location: &str, endpoint: Option<String>, region: &str) -> Result<StoreConfig> {
        let rest = location.strip_prefix("s3://").with_context(|| format!("store '{location}' is not s3://BUCKET[/PREFIX]"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "store '{location}' names no bucket");
        let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix.to_string() } else { format!("{prefix}/") };
        Ok(StoreConfig { endpoint, bucket: bucket.to_string(), prefix, region: region.to_string(), credentials: None })
    }
}

/// A client of the store: one bucket and key prefix on S3; clones share the connection.
#[derive(Clone)]
pub struct Store {
    s3: Client,
    bucket: String,
    prefix: String,
}

impl Store {
    /// A client for `config` (path-style addressing, so any endpoint works); creates the bucket
    /// if it does not exist.
    pub async fn connect(config: &StoreConfig) -> Result<Store> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(config.region.clone()));
        if let Some((key, secret)) = &config.credentials {
            loader = loader.credentials_provider(Credentials::new(key, secret, None, None, "fusion"));
        }
        let shared = loader.load().await;
        let mut s3 = aws_sdk_s3::config::Builder::from(&shared).force_path_style(true);
        if let Some(endpoint) = &config.endpoint {
            s3 = s3.endpoint_url(endpoint);
        }
        let store = Store { s3: Client::from_conf(s3.build()), bucket: config.bucket.clone(), prefix: config.prefix.clone() };
        store.ensure_bucket().await?;
        Ok(store)
    }

    async fn ensure_bucket(&self) -> Result<()> {
        if self.s3.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        match self.s3.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) => Ok(()),
            Err(err) => Err(failed(&format!("creating bucket '{}'", self.bucket), err)),
        }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Uploads a component under its digest; returns the digest and whether it was uploaded (an
    /// unchanged component is already there and is not sent again).
    pub async fn put_component(&self, bytes: &[u8]) -> Result<(String, bool)> {
        let digest = digest_of(bytes);
        let key = self.key(&component_key(&digest));
        if self.exists(&key).await? {
            return Ok((digest, false));
        }
        self.put(&key, bytes.to_vec()).await?;
        Ok((digest, true))
    }

    /// Whether the component `digest` is in the store.
    pub async fn has_component(&self, digest: &str) -> Result<bool> {
        self.exists(&self.key(&component_key(digest))).await
    }

    /// Downloads a component and checks that its bytes are the digest it is stored under.
    pub async fn get_component(&self, digest: &str) -> Result<Vec<u8>> {
        let bytes = self
            .get(&self.key(&component_key(digest)))
            .await
            .with_context(|| format!("component {digest} is corrupt or unreadable in the store"))?
            .with_context(|| format!("no component {digest} in the store"))?;
        let actual = digest_of(&bytes);
        if actual != digest {
            bail!("component {digest} is corrupt in the store: its bytes hash to {actual}");
        }
        Ok(bytes)
    }

    /// Records which component each task of `app` has, as last pushed (task → digest).
    pub async fn put_component_index(&self, app: &str, index: &BTreeMap<String, String>) -> Result<()> {
        self.put(&self.key(&format!("apps/{app}/components.json")), serde_json::to_vec_pretty(index)?).await
    }

    /// The components last pushed for `app`, if any were.
    pub async fn component_index(&self, app: &str) -> Result<Option<BTreeMap<String, String>>> {
        let key = format!("apps/{app}/components.json");
        match self.get(&self.key(&key)).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| format!("{key} is damaged"))?)),
            None => Ok(None),
        }
    }

    /// Records the app's policy (timeouts, concurrency limits) as last pushed from its manifest.
    pub async fn put_policy(&self, app: &str, policy: &Policy) -> Result<()> {
        self.put(&self.key(&policy_key(app)), serde_json::to_vec_pretty(policy)?).await
    }

    /// The policy last pushed for `app`, if one was.
    pub async fn policy(&self, app: &str) -> Result<Option<Policy>> {
        let key = policy_key(app);
        match self.get(&self.key(&key)).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| format!("{key} is damaged"))?)),
            None => Ok(None),
        }
    }

    /// A precompiled artifact of a component for one engine configuration, if one was published.
    pub async fn get_artifact(&self, digest: &str, fingerprint: &str) -> Result<Option<Vec<u8>>> {
        self.get(&self.key(&artifact_key(digest, fingerprint))).await
    }

    /// Publishes a precompiled artifact of component `digest` for engine `fingerprint`; hosts seal it first.
    pub async fn put_artifact(&self, digest: &str, fingerprint: &str, bytes: Vec<u8>) -> Result<()> {
        self.put(&self.key(&artifact_key(digest, fingerprint)), bytes).await
    }

    /// Stores one batch of telemetry records (JSON lines) of a function.
    pub async fn put_telemetry(&self, app: &str, function: &str, batch_id: &str, lines: Vec<u8>) -> Result<()> {
        self.put(&self.key(&format!("telemetry/{app}/{function}/{batch_id}.jsonl")), lines).await
    }

    /// Every telemetry batch of the app, all functions, concatenated (JSON lines).
    pub async fn telemetry(&self, app: &str) -> Result<Vec<u8>> {
        let mut lines = Vec::new();
        for key in self.telemetry_batches(app).await? {
            lines.extend(self.telemetry_batch(&key).await?);
        }
        Ok(lines)
    }

    /// The names of the app's telemetry batches, all functions: batches are never rewritten, so
    /// a reader following them fetches each new name once.
    pub async fn telemetry_batches(&self, app: &str) -> Result<Vec<String>> {
        self.list(&format!("telemetry/{app}/")).await
    }

    /// One telemetry batch by its name from [`Store::telemetry_batches`] (empty if it is gone).
    pub async fn telemetry_batch(&self, name: &str) -> Result<Vec<u8>> {
        Ok(self.get(&self.key(name)).await?.unwrap_or_default())
    }

    /// Deletes everything under this store's prefix, then the bucket if nothing else is in it.
    /// Returns how many objects were deleted.
    pub async fn destroy(&self) -> Result<usize> {
        let keys = self.list("").await?;
        for key in &keys {
            let key = self.key(key);
            self.s3.delete_object().bucket(&self.bucket).key(&key).send().await.map_err(|e| failed(&format!("deleting {key}"), e))?;
        }
        if self.s3.list_objects_v2().bucket(&self.bucket).max_keys(1).send().await.is_ok_and(|page| page.contents().is_empty()) {
            self.s3.delete_bucket().bucket(&self.bucket).send().await.map_err(|e| failed(&format!("deleting bucket {}", self.bucket), e))?;
        }
        Ok(keys.len())
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        match self.s3.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(err) => Err(failed(&format!("looking up {key}"), err)),
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| failed(&format!("writing {key}"), e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let object = match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(err) => return Err(failed(&format!("reading {key}"), err)),
        };
        // One copy, chunk by chunk, into a buffer of the announced size (an artifact is tens of MB).
        let announced = object.content_length().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        let mut bytes = Vec::with_capacity(announced);
        let mut body = object.body;
        while let Some(chunk) = body.try_next().await.with_context(|| format!("reading {key}"))? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(&self.bucket).prefix(self.key(prefix)).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed(&format!("listing {prefix}"), e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key()).map(|k| k[self.prefix.len()..].to_string()));
        }
        Ok(keys)
    }
}

fn component_key(digest: &str) -> String {
    format!("components/{}.wasm", digest.trim_start_matches("sha256:"))
}

fn policy_key(app: &str) -> String {
    format!("apps/{app}/policy.json")
}

fn artifact_key(digest: &str, fingerprint: &str) -> String {
    format!("artifacts/{fingerprint}/{}.cwasm", digest.trim_start_matches("sha256:"))
}

fn failed<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(what: &str, err: SdkError<E, R>) -> anyhow::Error {
    anyhow::anyhow!("S3: {what}: {}", DisplayErrorContext(&err))
}
