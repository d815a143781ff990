//! Calls between functions on AWS: `POST /2015-03-31/functions/{name}/invocations` of the Lambda
//! Invoke API, `RequestResponse` for a sync call (the answer is the callee's result) and `Event`
//! for an async one (Lambda queues it and answers 202). Requests are signed with SigV4 using the
//! function's own credentials, so IAM decides who may call whom.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use fusion_host::router::Transport;
use fusion_host::runtime::BoxFuture;
use fusion_host::{Call, CallError, CallMode, ErrorKind};

use fusion_store::aws_api::{AwsClient, Failure};
use crate::event;

/// Where the Invoke API is and how functions are named there.
#[derive(Debug, Clone)]
pub struct InvokeConfig {
    /// `https://lambda.{region}.amazonaws.com`, or a local stand-in.
    pub endpoint: String,
    /// The region calls are signed for.
    pub region: String,
    /// The Lambda function of Fusion function `F` is `{prefix}F` (e.g. `fusion-iot-`).
    pub function_prefix: String,
    /// How long a sync call may take before the caller gives up.
    pub timeout: Duration,
}

impl InvokeConfig {
    /// AWS's own Invoke API in `region`; Lambda functions named `{function_prefix}F`.
    pub fn aws(region: &str, function_prefix: &str, timeout: Duration) -> InvokeConfig {
        InvokeConfig { endpoint: format!("https://lambda.{region}.amazonaws.com"), region: region.into(), function_prefix: function_prefix.into(), timeout }
    }
}

/// Carries calls between functions as SigV4-signed Lambda Invoke requests.
pub struct LambdaTransport {
    config: InvokeConfig,
    client: AwsClient,
}

impl LambdaTransport {
    /// A transport for `config`, signing with `credentials` (on Lambda, the function's own role).
    pub fn new(config: InvokeConfig, credentials: SharedCredentialsProvider) -> anyhow::Result<Arc<LambdaTransport>> {
        let client = AwsClient::new(credentials, &config.region, config.timeout)?;
        Ok(Arc::new(LambdaTransport { config, client }))
    }
}

impl Transport for LambdaTransport {
    fn send(&self, function: &str, call: Call) -> BoxFuture<Result<Vec<u8>, CallError>> {
        let name = format!("{}{function}", self.config.function_prefix);
        let url = format!("{}/2015-03-31/functions/{name}/invocations", self.config.endpoint.trim_end_matches('/'));
        let client = self.client.clone();
        Box::pin(async move {
            let invocation_type = match call.mode {
                CallMode::Sync => "RequestResponse",
                CallMode::Async => "Event",
            };
            let body = event::encode_call(&call);
            let answer = client.send("lambda", "POST", &url, &[("x-amz-invocation-type", invocation_type)], body).await.map_err(|e| {
                let kind = if matches!(e, Failure::TimedOut(_)) { ErrorKind::Timeout } else { ErrorKind::Unavailable };
                CallError::new(kind, format!("invoking Lambda function '{name}': {e}"))
            })?;
            let function_error = answer.headers.contains_key("x-amz-function-error");
            match (call.mode, answer.status) {
                (CallMode::Sync, 200) if function_error => Err(event::decode_function_error(&answer.body)),
                (CallMode::Sync, 200) => event::decode_reply(&answer.body),
                (CallMode::Async, 202) => Ok(Vec::new()),
                (_, status) => Err(service_error(&name, status, &answer.body)),
            }
        })
    }
}

/// An error of the Lambda service itself (not of the function), by its status.
fn service_error(name: &str, status: u16, body: &[u8]) -> CallError {
    let kind = match status {
        404 => ErrorKind::NotFound,
        400 | 403 | 413 | 415 => ErrorKind::Rejected,
        // TooManyRequestsException: the function is at its (reserved) concurrency limit.
        429 => ErrorKind::Throttled,
        _ => ErrorKind::Unavailable,
    };
    CallError::new(kind, format!("Lambda answered {status} for '{name}': {}", String::from_utf8_lossy(body)))
}
