//! The emulator's Invoke API (`RequestResponse` and `Event`) and Function URLs (auth NONE).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use super::Shared;
use super::function::{Outcome, Pending};

fn function_error(body: Bytes) -> Response {
    (StatusCode::OK, [("x-amz-function-error", "Unhandled")], body).into_response()
}

/// The function error of an invocation whose environment could not be started.
fn not_started(err: std::io::Error) -> Response {
    let body = serde_json::json!({ "errorType": "Runtime.InvalidEntrypoint", "errorMessage": format!("the environment did not start: {err}") });
    function_error(Bytes::from(body.to_string()))
}

fn service_error(status: StatusCode, error_type: &str, message: String) -> Response {
    let body = serde_json::json!({ "Type": "User", "message": message }).to_string();
    (status, [("x-amzn-errortype", error_type)], body).into_response()
}

impl Shared {
    fn request_id(&self) -> String {
        format!("req-{:08}", self.ids.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// A Function URL request (auth NONE): the HTTP request as a payload format 2.0 event, the
/// function's `{statusCode, headers, body}` as the HTTP response.
pub(super) async fn function_url(State(shared): State<Arc<Shared>>, Path(name): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(function) = shared.functions.get(&name) else {
        return (StatusCode::NOT_FOUND, "no such Function URL").into_response();
    };
    if function.init_error.lock().unwrap().is_some() {
        return (StatusCode::BAD_GATEWAY, "the function failed").into_response();
    }
    let request_id = shared.request_id();
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
    if shared.enqueue(function, Pending { request_id, event: Bytes::from(event.to_string()), reply: Some(reply) }).is_err() {
        return (StatusCode::BAD_GATEWAY, "the function's environment did not start").into_response();
    }
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

pub(super) async fn invoke(State(shared): State<Arc<Shared>>, Path(name): Path<String>, headers: HeaderMap, event: Bytes) -> Response {
    let signed = headers.get("authorization").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    if !signed {
        return service_error(StatusCode::FORBIDDEN, "MissingAuthenticationTokenException", "the request is not signed with SigV4".into());
    }
    let Some(function) = shared.functions.get(&name) else {
        return service_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", format!("Function not found: {name}"));
    };
    if let Some(error) = function.init_error.lock().unwrap().clone() {
        return function_error(error);
    }
    let request_id = shared.request_id();
    match headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()).unwrap_or("RequestResponse") {
        "Event" => match shared.enqueue(function, Pending { request_id, event, reply: None }) {
            Ok(()) => StatusCode::ACCEPTED.into_response(),
            Err(err) => not_started(err),
        },
        "RequestResponse" => {
            let (reply, outcome) = oneshot::channel();
            if let Err(err) = shared.enqueue(function, Pending { request_id, event, reply: Some(reply) }) {
                return not_started(err);
            }
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
