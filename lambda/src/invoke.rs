//! Calls between functions on AWS: `POST /2015-03-31/functions/{name}/invocations` of the Lambda
//! Invoke API, `RequestResponse` for a sync call (the answer is the callee's result) and `Event`
//! for an async one (Lambda queues it and answers 202). Requests are signed with SigV4 using the
//! function's own credentials, so IAM decides who may call whom.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use fusion_host::router::Transport;
use fusion_host::runtime::BoxFuture;
use fusion_host::{Call, CallError, CallMode, ErrorKind};

use crate::event;

/// Where the Invoke API is and how functions are named there.
#[derive(Debug, Clone)]
pub struct InvokeConfig {
    /// `https://lambda.{region}.amazonaws.com`, or a local stand-in.
    pub endpoint: String,
    pub region: String,
    /// The Lambda function of Fusion function `F` is `{prefix}F` (e.g. `fusion-iot-`).
    pub function_prefix: String,
    /// How long a sync call may take before the caller gives up.
    pub timeout: Duration,
}

impl InvokeConfig {
    pub fn aws(region: &str, function_prefix: &str, timeout: Duration) -> InvokeConfig {
        InvokeConfig { endpoint: format!("https://lambda.{region}.amazonaws.com"), region: region.into(), function_prefix: function_prefix.into(), timeout }
    }
}

pub struct LambdaTransport {
    config: InvokeConfig,
    credentials: SharedCredentialsProvider,
    client: reqwest::Client,
}

impl LambdaTransport {
    pub fn new(config: InvokeConfig, credentials: SharedCredentialsProvider) -> anyhow::Result<Arc<LambdaTransport>> {
        let client = reqwest::Client::builder().tcp_nodelay(true).timeout(config.timeout).build()?;
        Ok(Arc::new(LambdaTransport { config, credentials, client }))
    }

    async fn invoke(&self, function: &str, call: Call) -> Result<Vec<u8>, CallError> {
        let name = format!("{}{function}", self.config.function_prefix);
        let url = format!("{}/2015-03-31/functions/{name}/invocations", self.config.endpoint.trim_end_matches('/'));
        let invocation_type = match call.mode {
            CallMode::Sync => "RequestResponse",
            CallMode::Async => "Event",
        };
        let body = event::encode_call(&call);
        let signed = self.sign(&url, invocation_type, &body).await?;
        let mut request = self.client.post(&url).header("x-amz-invocation-type", invocation_type).body(body);
        for (header, value) in signed {
            request = request.header(header, value);
        }
        let response = request.send().await.map_err(|e| {
            let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unavailable };
            CallError::new(kind, format!("invoking Lambda function '{name}': {e}"))
        })?;
        let status = response.status().as_u16();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response.bytes().await.map_err(|e| CallError::new(ErrorKind::Unavailable, format!("reading the answer of '{name}': {e}")))?;
        match (call.mode, status) {
            (CallMode::Sync, 200) if function_error => Err(event::decode_function_error(&body)),
            (CallMode::Sync, 200) => event::decode_reply(&body),
            (CallMode::Async, 202) => Ok(Vec::new()),
            _ => Err(service_error(&name, status, &body)),
        }
    }

    /// The SigV4 headers of an Invoke request.
    async fn sign(&self, url: &str, invocation_type: &str, body: &[u8]) -> Result<Vec<(String, String)>, CallError> {
        let unsigned = |why: String| CallError::new(ErrorKind::Unavailable, format!("cannot sign the Invoke request: {why}"));
        let credentials = self.credentials.provide_credentials().await.map_err(|e| unsigned(e.to_string()))?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.config.region)
            .name("lambda")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| unsigned(e.to_string()))?
            .into();
        let headers = [("x-amz-invocation-type", invocation_type)];
        let request = SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body)).map_err(|e| unsigned(e.to_string()))?;
        let (instructions, _) = sign(request, &params).map_err(|e| unsigned(e.to_string()))?.into_parts();
        Ok(instructions.headers().map(|(name, value)| (name.to_string(), value.to_string())).collect())
    }
}

impl Transport for LambdaTransport {
    fn send(&self, function: &str, call: Call) -> BoxFuture<Result<Vec<u8>, CallError>> {
        let this = LambdaTransport { config: self.config.clone(), credentials: self.credentials.clone(), client: self.client.clone() };
        let function = function.to_string();
        Box::pin(async move { this.invoke(&function, call).await })
    }
}

/// An error of the Lambda service itself (not of the function), by its status.
fn service_error(name: &str, status: u16, body: &[u8]) -> CallError {
    let kind = match status {
        404 => ErrorKind::NotFound,
        400 | 403 | 413 | 415 => ErrorKind::Rejected,
        _ => ErrorKind::Unavailable,
    };
    CallError::new(kind, format!("Lambda answered {status} for '{name}': {}", String::from_utf8_lossy(body)))
}
