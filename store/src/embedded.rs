//! The embedded default: an S3-compatible server on loopback (s3s over a local directory). Every
//! part of Fusion talks to it with the same signed S3 calls it makes to AWS. Like a bucket on
//! AWS, it is in one region and refuses requests signed for another (s3s checks the signature
//! whatever region its scope names).

use std::path::Path;

use anyhow::{Context, Result};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper::{Request, Response};
use s3s::HttpResponse;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

use crate::whole_reads::WholeReads;

/// What the server answers a request with, as s3s's service does.
type Answer = std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, s3s::HttpError>> + Send>>;

/// The region of the embedded default's store, which Fusion's commands and hosts sign for.
pub const EMBEDDED_REGION: &str = "us-east-1";

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
    /// signed (SigV4) with the given keys, for `region`.
    pub async fn start(root: &Path, listen: &str, access_key: &str, secret_key: &str, region: &str) -> Result<EmbeddedS3> {
        std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
        let objects = WholeReads::new(root).with_context(|| format!("cannot serve {}", root.display()))?;
        let mut builder = S3ServiceBuilder::new(objects);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        let s3 = builder.build();
        let region = region.to_string();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| -> Answer {
            match signed_region(&request).filter(|signed| *signed != region) {
                Some(signed) => {
                    let refusal = wrong_region(&signed, &region);
                    Box::pin(async move { Ok(refusal) })
                }
                None => Service::call(&s3, request),
            }
        });
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

/// The region a SigV4 request was signed for: the third part of its credential scope
/// (`KEY/DATE/REGION/SERVICE/aws4_request`), from the `Authorization` header or a presigned URL.
fn signed_region(request: &Request<Incoming>) -> Option<String> {
    let scope = match request.headers().get(hyper::header::AUTHORIZATION) {
        Some(header) => header.to_str().ok()?.split("Credential=").nth(1)?.split(',').next()?.to_string(),
        None => {
            let encoded = request.uri().query()?.split('&').find_map(|pair| pair.strip_prefix("X-Amz-Credential="))?;
            percent_encoding::percent_decode_str(encoded).decode_utf8().ok()?.into_owned()
        }
    };
    scope.split('/').nth(2).map(str::to_string)
}

/// S3's answer to a request signed for another region than the bucket's.
fn wrong_region(signed: &str, region: &str) -> HttpResponse {
    let message = format!("The authorization header is malformed; the region '{signed}' is wrong; expecting '{region}'");
    let xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AuthorizationHeaderMalformed</Code><Message>{message}</Message><Region>{region}</Region></Error>");
    Response::builder().status(400).header(hyper::header::CONTENT_TYPE, "application/xml").body(s3s::Body::from(xml)).expect("a valid response")
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}
