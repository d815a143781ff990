//! The embedded default: an S3-compatible server on loopback (s3s over a local directory). Every
//! part of Fusion talks to it with the same signed S3 calls it makes to AWS.

use std::path::Path;

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

use crate::whole_reads::WholeReads;

/// A running embedded S3 server; it stops when dropped.
pub struct EmbeddedS3 {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The access key id requests must be signed with.
    pub access_key: String,
    /// The secret key requests must be signed with.
    pub secret_key: String,
    server: tokio::task::JoinHandle<()>,
}

impl EmbeddedS3 {
    /// Serves the buckets under `root` (created if missing) on `listen`, accepting only requests
    /// signed (SigV4) with the given keys.
    pub async fn start(root: &Path, listen: &str, access_key: &str, secret_key: &str) -> Result<EmbeddedS3> {
        std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
        let objects = WholeReads::new(root).with_context(|| format!("cannot serve {}", root.display()))?;
        let mut builder = S3ServiceBuilder::new(objects);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        let service = builder.build();
        let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                // Small requests otherwise wait for delayed ACKs (~40 ms each).
                let _ = socket.set_nodelay(true);
                let conn = http.serve_connection(TokioIo::new(socket), service.clone()).into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Ok(EmbeddedS3 { endpoint, access_key: access_key.to_string(), secret_key: secret_key.to_string(), server })
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}
