//! A local stand-in for the Lambda service, enough to run unmodified hosts in Lambda mode on one
//! machine: the Invoke API (`RequestResponse` and `Event`) on one port, and for every function a
//! Runtime API (next, response, invocation error, init error) on a port of its own, which is
//! what `AWS_LAMBDA_RUNTIME_API` points a host at. One environment per function: invocations of
//! a function queue and run one at a time, as in one Lambda execution environment. Every
//! function also has a Function URL with auth type NONE, `{invoke_url}/url/{function}/`: an HTTP
//! request there becomes a payload format 2.0 event, and the `{statusCode, headers, body}` the
//! function answers becomes the HTTP response (a function error answers 502, as on Lambda).
//!
//! What it does not do: it checks that Invoke requests carry a SigV4 `Authorization` header but
//! does not verify the signature; it has no AWS_IAM Function URLs; it neither starts nor scales environments (the caller starts
//! the hosts); it enforces no timeouts or payload limits.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// How an invocation ended, as the Runtime API heard it.
#[derive(Debug)]
enum Outcome {
    Response(Bytes),
    /// A function error: the body `{"errorType", "errorMessage"}`.
    Error(Bytes),
}

struct Pending {
    request_id: String,
    event: Bytes,
    /// None for an `Event` invocation: nobody waits for it.
    reply: Option<oneshot::Sender<Outcome>>,
}

/// One function's queue and its invocations in flight.
struct Function {
    arn: String,
    queue: mpsc::UnboundedSender<Pending>,
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    in_flight: Mutex<HashMap<String, Option<oneshot::Sender<Outcome>>>>,
    /// The error its runtime reported at init, if it did.
    init_error: Mutex<Option<Bytes>>,
    runtime_api: SocketAddr,
}

/// What the Invoke API serves from: every function, and the request ids handed out.
type Service = (Arc<BTreeMap<String, Arc<Function>>>, Arc<AtomicU64>);

/// A running emulator: the Invoke API and a Runtime API per function, on loopback.
pub struct LambdaEmulator {
    /// Base URL of the Invoke API.
    pub invoke_url: String,
    functions: Arc<BTreeMap<String, Arc<Function>>>,
    ids: Arc<AtomicU64>,
}

impl LambdaEmulator {
    /// Starts the Invoke API and one Runtime API per function name, all on loopback.
    pub async fn start(function_names: &[String]) -> std::io::Result<LambdaEmulator> {
        let ids = Arc::new(AtomicU64::new(0));
        let mut functions = BTreeMap::new();
        for name in function_names {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let (queue, next) = mpsc::unbounded_channel();
            let function = Arc::new(Function {
                arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{name}"),
                queue,
                next: tokio::sync::Mutex::new(next),
                in_flight: Mutex::default(),
                init_error: Mutex::default(),
                runtime_api: listener.local_addr()?,
            });
            let app = axum::Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
                .route("/2018-06-01/runtime/invocation/{id}/response", post(invocation_response))
                .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
                .route("/2018-06-01/runtime/init/error", post(init_error))
                .with_state(function.clone());
            tokio::spawn(async move { axum::serve(listener, app).await });
            functions.insert(name.clone(), function);
        }
        let functions = Arc::new(functions);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let invoke_url = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .route("/url/{name}/", post(function_url))
            .with_state((functions.clone(), ids.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(LambdaEmulator { invoke_url, functions, ids })
    }

    /// The Function URL (auth NONE) of a function.
    pub fn function_url(&self, function: &str) -> String {
        format!("{}/url/{function}/", self.invoke_url)
    }

    /// The `AWS_LAMBDA_RUNTIME_API` value (host:port) of a function's environment.
    pub fn runtime_api(&self, function: &str) -> Option<String> {
        self.functions.get(function).map(|f| f.runtime_api.to_string())
    }

    /// The error a function's runtime reported at init, if any.
    pub fn init_error(&self, function: &str) -> Option<serde_json::Value> {
        let error = self.functions.get(function)?.init_error.lock().unwrap().clone()?;
        Some(serde_json::from_slice(&error).unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&error).into())))
    }

    /// Invocations handed to runtimes so far.
    pub fn invocations(&self) -> u64 {
        self.ids.load(Ordering::Relaxed)
    }
}

fn function_error(body: Bytes) -> Response {
    (StatusCode::OK, [("x-amz-function-error", "Unhandled")], body).into_response()
}

fn service_error(status: StatusCode, error_type: &str, message: String) -> Response {
    let body = serde_json::json!({ "Type": "User", "message": message }).to_string();
    (status, [("x-amzn-errortype", error_type)], body).into_response()
}

/// A Function URL request (auth NONE): the HTTP request as a payload format 2.0 event, the
/// function's `{statusCode, headers, body}` as the HTTP response.
async fn function_url(State((functions, ids)): State<Service>, Path(name): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(function) = functions.get(&name) else {
        return (StatusCode::NOT_FOUND, "no such Function URL").into_response();
    };
    let request_id = format!("req-{:08}", ids.fetch_add(1, Ordering::Relaxed) + 1);
    let header_map: serde_json::Map<String, serde_json::Value> =
        headers.iter().filter_map(|(k, v)| Some((k.as_str().to_string(), serde_json::Value::String(v.to_str().ok()?.to_string())))).collect();
    let (text, base64) = match std::str::from_utf8(&body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &body), true),
    };
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "", "headers": header_map,
        "requestContext": { "http": { "method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1" }, "requestId": request_id },
        "body": text, "isBase64Encoded": base64,
    });
    let (reply, outcome) = oneshot::channel();
    let _ = function.queue.send(Pending { request_id, event: Bytes::from(event.to_string()), reply: Some(reply) });
    let Ok(Outcome::Response(answer)) = outcome.await else {
        return (StatusCode::BAD_GATEWAY, "the function failed").into_response();
    };
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&answer) else {
        return (StatusCode::BAD_GATEWAY, "the function's answer is not JSON").into_response();
    };
    let status = answer["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let content_type = answer["headers"]["content-type"].as_str().unwrap_or("application/json").to_string();
    (status, [(axum::http::header::CONTENT_TYPE, content_type)], answer["body"].as_str().unwrap_or_default().to_string()).into_response()
}

async fn invoke(
    State((functions, ids)): State<Service>,
    Path(name): Path<String>,
    headers: HeaderMap,
    event: Bytes,
) -> Response {
    let signed = headers.get("authorization").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed {
        return service_error(StatusCode::FORBIDDEN, "MissingAuthenticationTokenException", "the request is not signed with SigV4".into());
    }
    let Some(function) = functions.get(&name) else {
        return service_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", format!("Function not found: {name}"));
    };
    if let Some(error) = function.init_error.lock().unwrap().clone() {
        return function_error(error);
    }
    let request_id = format!("req-{:08}", ids.fetch_add(1, Ordering::Relaxed) + 1);
    match headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()).unwrap_or("RequestResponse") {
        "Event" => {
            let _ = function.queue.send(Pending { request_id, event, reply: None });
            StatusCode::ACCEPTED.into_response()
        }
        "RequestResponse" => {
            let (reply, outcome) = oneshot::channel();
            let _ = function.queue.send(Pending { request_id, event, reply: Some(reply) });
            match outcome.await {
                Ok(Outcome::Response(body)) => (StatusCode::OK, body).into_response(),
                Ok(Outcome::Error(body)) => function_error(body),
                // The runtime went away mid-invocation, or reported an init error meanwhile.
                Err(_) => match function.init_error.lock().unwrap().clone() {
                    Some(error) => function_error(error),
                    None => function_error(Bytes::from_static(br#"{"errorType":"Runtime.ExitError","errorMessage":"the runtime exited"}"#)),
                },
            }
        }
        other => service_error(StatusCode::BAD_REQUEST, "InvalidParameterValueException", format!("unknown invocation type '{other}'")),
    }
}

async fn next_invocation(State(function): State<Arc<Function>>) -> Response {
    let Some(pending) = function.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    function.in_flight.lock().unwrap().insert(pending.request_id.clone(), pending.reply);
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() + 900_000;
    let headers = [
        ("lambda-runtime-aws-request-id", pending.request_id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", function.arn.clone()),
        ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".to_string()),
        ("content-type", "application/json".to_string()),
    ];
    (StatusCode::OK, headers, pending.event).into_response()
}

fn finish(function: &Function, id: &str, outcome: Outcome) -> Response {
    match function.in_flight.lock().unwrap().remove(id) {
        Some(reply) => {
            if let Some(reply) = reply {
                let _ = reply.send(outcome);
            }
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
        }
        None => (StatusCode::BAD_REQUEST, format!("no invocation '{id}' in flight")).into_response(),
    }
}

async fn invocation_response(State(function): State<Arc<Function>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&function, &id, Outcome::Response(body))
}

async fn invocation_error(State(function): State<Arc<Function>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&function, &id, Outcome::Error(body))
}

async fn init_error(State(function): State<Arc<Function>>, body: Bytes) -> Response {
    *function.init_error.lock().unwrap() = Some(body);
    // Like Lambda, fail what waits for this environment.
    for (_, reply) in function.in_flight.lock().unwrap().drain() {
        drop(reply);
    }
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}
