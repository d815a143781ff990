//! The store the CLI works with: an S3 bucket named by `FUSION_S3_BUCKET` (optionally at
//! `FUSION_S3_ENDPOINT`, keys from the standard AWS chain), or else the embedded default: an S3
//! server on loopback over the project's `.fusion/s3`. A running `fusion up` serves it for everyone;
//! otherwise the command starts it for its own duration.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fusion_store::embedded::{EMBEDDED_REGION, EmbeddedS3};
use fusion_store::{Store, StoreConfig};
use fusion_store::aws_api::region;
use serde::{Deserialize, Serialize};

use fusion_project::Project;

use crate::random::random_hex;
use crate::state::ClusterState;

/// The embedded server's keys and the artifact sealing key, made once per checkout.
#[derive(Serialize, Deserialize)]
struct Keys {
    access_key: String,
    secret_key: String,
    #[serde(default)]
    artifact_key: String,
}

/// What a host needs to reach the store (passed on its command line and environment).
#[derive(Debug, Clone)]
pub struct StoreAccess {
    /// `s3://bucket/prefix`
    pub location: String,
    /// An S3-compatible endpoint; None for AWS.
    pub endpoint: Option<String>,
    /// The AWS region its requests are signed for.
    pub region: String,
    /// Static keys; None: the host inherits the standard AWS chain.
    pub keys: Option<(String, String)>,
    /// Seals precompiled artifacts; None: hosts do not share artifacts through the store.
    pub artifact_key: Option<String>,
    /// The app's key-value database on this machine, which every local host opens.
    pub kv_file: PathBuf,
}

/// A connected store, and the embedded server behind it when this process runs it.
pub struct OpenStore {
    /// The connection.
    pub store: Store,
    /// Where it lives, for messages.
    pub location: String,
    /// What a host needs to reach it.
    pub access: StoreAccess,
    /// True for the embedded default (served here or by a running `fusion up`).
    pub embedded: bool,
    _server: Option<EmbeddedS3>,
}

/// The store the project's commands use: the bucket `FUSION_S3_BUCKET` names, else the embedded
/// default (the running `fusion up`'s server, or one started for this process).
pub async fn open(project: &Project) -> Result<OpenStore> {
    if let Ok(bucket) = std::env::var("FUSION_S3_BUCKET") {
        let config = StoreConfig {
            endpoint: std::env::var("FUSION_S3_ENDPOINT").ok(),
            bucket: bucket.clone(),
            prefix: std::env::var("FUSION_S3_PREFIX").unwrap_or_else(|_| "fusion/".into()),
            region: region::or_configured(None).await,
            credentials: None,
        };
        let store = Store::connect(&config).await?;
        let location = format!("s3://{bucket}/{}", config.prefix);
        let access = StoreAccess {
            location: location.clone(),
            endpoint: config.endpoint,
            region: config.region,
            keys: None,
            artifact_key: std::env::var("FUSION_ARTIFACT_KEY").ok().filter(|k| !k.is_empty()),
            kv_file: project.kv_file(),
        };
        return Ok(OpenStore { store, location, access, embedded: false, _server: None });
    }
    let keys = keys(project)?;
    let root = project.store_dir();
    match running_endpoint(project) {
        Some(endpoint) => connect_embedded(&root, endpoint, keys, None, project.kv_file()).await,
        None => embedded(&root, keys, project.kv_file()).await,
    }
}

/// An embedded store of its own over `root`, with fresh keys and a key-value database of its
/// own beside it (tests, side-by-side clusters).
pub async fn private(root: &Path) -> Result<OpenStore> {
    let keys = Keys { access_key: format!("fusion-{}", random_hex(6)?), secret_key: random_hex(24)?, artifact_key: random_hex(32)? };
    let kv_file = root.with_extension("kv.sqlite");
    embedded(root, keys, kv_file).await
}

async fn embedded(root: &Path, keys: Keys, kv_file: PathBuf) -> Result<OpenStore> {
    let server = EmbeddedS3::start(root, "127.0.0.1:0", &keys.access_key, &keys.secret_key, EMBEDDED_REGION).await?;
    connect_embedded(root, server.endpoint.clone(), keys, Some(server), kv_file).await
}

async fn connect_embedded(root: &Path, endpoint: String, keys: Keys, server: Option<EmbeddedS3>, kv_file: PathBuf) -> Result<OpenStore> {
    let credentials = (keys.access_key, keys.secret_key);
    let config = StoreConfig {
        endpoint: Some(endpoint.clone()),
        bucket: "fusion".into(),
        prefix: String::new(),
        region: EMBEDDED_REGION.into(),
        credentials: Some(credentials.clone()),
    };
    let store = Store::connect(&config).await?;
    let access = StoreAccess {
        location: "s3://fusion".into(),
        endpoint: Some(endpoint),
        region: EMBEDDED_REGION.into(),
        keys: Some(credentials),
        artifact_key: Some(keys.artifact_key),
        kv_file,
    };
    Ok(OpenStore { store, location: format!("embedded S3 over {}", root.display()), access, embedded: true, _server: server })
}

/// The embedded store the project's running `fusion up` serves, if it answers.
fn running_endpoint(project: &Project) -> Option<String> {
    let endpoint = ClusterState::running(&project.cluster_dir())?.store_endpoint?;
    let addr = endpoint.trim_start_matches("http://").parse().ok()?;
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).is_ok().then_some(endpoint)
}

fn keys(project: &Project) -> Result<Keys> {
    let path = project.keys_file();
    let (mut keys, stored) = match std::fs::read_to_string(&path) {
        Ok(text) => (serde_json::from_str::<Keys>(&text).with_context(|| format!("{} is damaged; delete it to make new keys", path.display()))?, true),
        Err(_) => (Keys { access_key: format!("fusion-{}", random_hex(6)?), secret_key: random_hex(24)?, artifact_key: String::new() }, false),
    };
    if stored && !keys.artifact_key.is_empty() {
        return Ok(keys);
    }
    if keys.artifact_key.is_empty() {
        keys.artifact_key = random_hex(32)?;
    }
    std::fs::create_dir_all(project.state_dir())?;
    std::fs::write(&path, serde_json::to_string_pretty(&keys)?)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(keys)
}
