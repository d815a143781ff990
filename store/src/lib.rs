//! Fusion's store on S3: content-addressed components, precompiled artifacts
//! keyed by component digest and engine fingerprint, immutable versioned fusion setups with a
//! pointer to the current one, and telemetry batches. Any S3 endpoint works; locally it is the
//! embedded server of [`embedded`].

pub mod aws_api;
pub mod embedded;
mod s3;
pub mod seal;
mod setups;
pub mod source;
mod whole_reads;

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
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
    bucket: s3::Bucket,
    prefix: String,
}

/// How long one S3 call may take, its body included (an artifact is tens of MB).
const S3_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

impl Store {
    /// A client for `config` (path-style addressing, so any endpoint works); creates the bucket
    /// if it does not exist.
    pub async fn connect(config: &StoreConfig) -> Result<Store> {
        let credentials = match &config.credentials {
            Some((key, secret)) => SharedCredentialsProvider::new(Credentials::new(key, secret, None, None, "fusion")),
            None => aws_api::credentials::standard_chain(&config.region).await?,
        };
        let client = aws_api::AwsClient::new(credentials, &config.region, S3_TIMEOUT)?;
        let store = Store { bucket: s3::Bucket::new(client, config.endpoint.as_deref(), &config.bucket), prefix: config.prefix.clone() };
        store.bucket.ensure().await?;
        Ok(store)
    }

    /// The credentials the store signs with, for the process's other AWS calls: one chain, one
    /// cache of what it fetched.
    pub fn credentials(&self) -> SharedCredentialsProvider {
        self.bucket.client().credentials().clone()
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
            self.bucket.delete(&self.key(key)).await?;
        }
        if self.bucket.list("", Some(1)).await.is_ok_and(|left| left.is_empty()) {
            self.bucket.delete_bucket().await?;
        }
        Ok(keys.len())
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.bucket.exists(key).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.bucket.put(key, bytes).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.bucket.get(key).await
    }

    /// The keys under `prefix` (within this store's prefix), without the store's prefix.
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let keys = self.bucket.list(&self.key(prefix), None).await?;
        Ok(keys.into_iter().map(|k| k[self.prefix.len()..].to_string()).collect())
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

