//! The store the CLI works with: an S3 bucket named by `FUSION_S3_BUCKET` (optionally at
//! `FUSION_S3_ENDPOINT`, keys from the standard AWS chain), or else the embedded default: an S3
//! server on loopback over `target/fusion/s3`, started for the command's duration.

use anyhow::{Context, Result};
use fusion_store::embedded::EmbeddedS3;
use fusion_store::{Store, StoreConfig};
use serde::{Deserialize, Serialize};

use crate::random::random_hex;
use crate::workspace::Workspace;

/// The embedded server's keys, made once per checkout.
#[derive(Serialize, Deserialize)]
struct Keys {
    access_key: String,
    secret_key: String,
}

/// A connected store, and the embedded server behind it when there is one.
pub struct OpenStore {
    pub store: Store,
    /// Where it lives, for messages.
    pub location: String,
    _server: Option<EmbeddedS3>,
}

pub async fn open(ws: &Workspace) -> Result<OpenStore> {
    if let Ok(bucket) = std::env::var("FUSION_S3_BUCKET") {
        let config = StoreConfig {
            endpoint: std::env::var("FUSION_S3_ENDPOINT").ok(),
            bucket: bucket.clone(),
            prefix: std::env::var("FUSION_S3_PREFIX").unwrap_or_else(|_| "fusion/".into()),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            credentials: None,
        };
        let store = Store::connect(&config).await?;
        return Ok(OpenStore { store, location: format!("s3://{bucket}/{}", config.prefix), _server: None });
    }
    let keys = keys(ws)?;
    let root = ws.fusion_dir().join("s3");
    let server = EmbeddedS3::start(&root, "127.0.0.1:0", &keys.access_key, &keys.secret_key).await?;
    let config = StoreConfig {
        endpoint: Some(server.endpoint.clone()),
        bucket: "fusion".into(),
        prefix: String::new(),
        region: "us-east-1".into(),
        credentials: Some((keys.access_key, keys.secret_key)),
    };
    let store = Store::connect(&config).await?;
    Ok(OpenStore { store, location: format!("embedded S3 over {}", root.display()), _server: Some(server) })
}

fn keys(ws: &Workspace) -> Result<Keys> {
    let path = ws.fusion_dir().join("s3-keys.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return serde_json::from_str(&text).with_context(|| format!("{} is damaged; delete it to make new keys", path.display()));
    }
    let keys = Keys { access_key: format!("fusion-{}", random_hex(6)?), secret_key: random_hex(24)? };
    std::fs::create_dir_all(ws.fusion_dir())?;
    std::fs::write(&path, serde_json::to_string_pretty(&keys)?)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(keys)
}
