//! A signed HTTP client of AWS's APIs: SigV4 over reqwest, no SDK. Fusion makes a handful of
//! calls (the store's S3 calls, Invoke, DynamoDB; the control plane's Lambda and IAM calls), and
//! the generated SDK crates added minutes each to a clean release build on two cores (Lambda and
//! IAM 9.5; S3 alone 4.6 CPU-minutes of 41). It lives with the store, the lowest crate that calls
//! AWS.

pub mod credentials;
pub mod region;

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode, sign};
use aws_sigv4::sign::v4;
use aws_smithy_types::error::display::DisplayErrorContext;

/// An answer: status, the headers asked for, body.
pub struct Answer {
    /// HTTP status: Invoke answers 200 for a sync call, 202 for an async one.
    pub status: u16,
    /// The answer's headers (Invoke's `x-amz-function-error` among them).
    pub headers: reqwest::header::HeaderMap,
    /// The answer's body, read to the end.
    pub body: Vec<u8>,
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum Failure {
    /// The request could not be signed (no credentials, say).
    Unsigned(String),
    /// No answer within the client's timeout.
    TimedOut(String),
    /// The connection failed, or the answer could not be read.
    Unreachable(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unsigned(why) => write!(f, "cannot sign the request: {why}"),
            Failure::TimedOut(why) | Failure::Unreachable(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Failure {}

/// Sends SigV4-signed requests to AWS's APIs in one region; clones share the connection pool.
#[derive(Clone)]
pub struct AwsClient {
    credentials: SharedCredentialsProvider,
    region: String,
    http: reqwest::Client,
}

impl AwsClient {
    /// A client signing with `credentials` for `region`, giving up on a request after `timeout`.
    pub fn new(credentials: SharedCredentialsProvider, region: &str, timeout: Duration) -> anyhow::Result<AwsClient> {
        let http = reqwest::Client::builder().tcp_nodelay(true).timeout(timeout).build()?;
        Ok(AwsClient { credentials, region: region.to_string(), http })
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The credentials it signs with: clients for other services share them (and their cache).
    pub fn credentials(&self) -> &SharedCredentialsProvider {
        &self.credentials
    }

    /// Sends a request to `service` (the signing name: `lambda`, `iam`), signed with SigV4.
    /// The body is cheap to clone as [`bytes::Bytes`] (a retry sends it again).
    pub async fn send(&self, service: &str, method: &str, url: &str, headers: &[(&str, &str)], body: impl Into<bytes::Bytes>) -> Result<Answer, Failure> {
        let body: bytes::Bytes = body.into();
        let signed = self.sign(service, method, url, headers, &body).await?;
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| Failure::Unsigned(e.to_string()))?;
        let mut request = self.http.request(method, url).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() { Failure::TimedOut(format!("{url}: {e}")) } else { Failure::Unreachable(format!("{url}: {e}")) }
        })?;
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        // One copy, chunk by chunk, into a buffer of the announced size (an artifact is tens of MB).
        let mut body = Vec::with_capacity(response.content_length().and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(|e| Failure::Unreachable(format!("reading the answer of {url}: {e}")))? {
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, headers, body })
    }

    async fn sign(&self, service: &str, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Vec<(String, String)>, Failure> {
        let unsigned = |why: String| Failure::Unsigned(why);
        // The error's whole chain: its own text says only what kind of failure it was.
        let credentials = self.credentials.provide_credentials().await.map_err(|e| unsigned(format!("no AWS credentials: {}", DisplayErrorContext(&e))))?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service)
            .time(SystemTime::now())
            .settings(settings(service))
            .build()
            .map_err(|e| unsigned(e.to_string()))?
            .into();
        let request = SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(body)).map_err(|e| unsigned(e.to_string()))?;
        let (instructions, _) = sign(request, &params).map_err(|e| unsigned(e.to_string()))?.into_parts();
        Ok(instructions.headers().map(|(name, value)| (name.to_string(), value.to_string())).collect())
    }
}

/// How `service` wants its requests signed: S3 signs the path as sent (encoded once, not
/// normalized) and the payload's hash in a header of its own.
fn settings(service: &str) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    settings
}
