//! The public front door of an app: the entry function's listener for requests from outside.
//! `POST /` runs the entry task synchronously with the request's JSON body and answers with its
//! JSON result, or a typed JSON error with the status the error kind maps to. Nothing is signed
//! here, and no `x-fusion-*` header from outside is read: every request starts at depth 0 under
//! the current setup, so an outsider cannot pose as another function or pick a setup version.
//! Only the W3C trace context is taken, so a request from an instrumented client continues its
//! trace. Calls between functions stay on the signed listener.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::call::{Call, CallMode};
use crate::trace_context::{TRACEPARENT, TRACESTATE, TraceContext};
use crate::error::{CallError, ErrorKind};
use crate::http_server::{HttpFrontEnd, MAX_BODY_BYTES};
use crate::listener::{self, ConnectionLimits};
use crate::wire;

/// Serves the front door of `front`'s function on `listener` within `limits`; it never returns.
pub async fn serve(front: Arc<HttpFrontEnd>, listener: tokio::net::TcpListener, limits: ConnectionLimits) {
    let app = axum::Router::new().route("/", post(request)).route("/healthz", get(|| async { "ok\n" })).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(front);
    listener::serve(listener, app, limits).await
}

async fn request(State(front): State<Arc<HttpFrontEnd>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match front.body(body) {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    if let Err(err) = serde_json::from_slice::<serde_json::Value>(&body) {
        let error = CallError::new(ErrorKind::Rejected, format!("the request body is not JSON: {err}"));
        return front.refuse(StatusCode::BAD_REQUEST, error);
    }
    let host = front.host();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let trace = TraceContext::from_outside(text(TRACEPARENT), text(TRACESTATE));
    let call = Call { task: host.name.clone(), payload: body.to_vec(), mode: CallMode::Sync, trace };
    match front.run(call).await {
        Ok(output) => ([(header::CONTENT_TYPE, "application/json")], output).into_response(),
        Err(error) => (wire::status_of(error.kind), axum::Json(error)).into_response(),
    }
}
