//! How a call travels over HTTP between functions: the path, the headers that carry the trace
//! context (W3C `traceparent`/`tracestate`, plus Fusion's caller, depth, mode and setup version),
//! and the mapping between error kinds and status codes.

use axum::http::{HeaderMap, StatusCode};

use crate::call::CallMode;
use crate::trace_context::{TRACEPARENT, TRACESTATE, TraceContext};
use crate::error::{CallError, ErrorKind};

/// Path prefix of a task call: `POST /v1/invoke/<task>`.
pub const INVOKE_PREFIX: &str = "/v1/invoke/";
/// Retires a function's execution environments (signed like a call, with an empty trace and mode).
pub const EXPIRE_PATH: &str = "/v1/admin/expire";
/// Has a function started from a store swap to the store's current setup now (signed the same
/// way); answers with the version it serves.
pub const REFRESH_PATH: &str = "/v1/admin/refresh";
/// Header with the name of the calling task; absent for an external request.
pub const CALLER: &str = "x-fusion-caller";
/// Header with the call's nesting depth; absent means 0.
pub const DEPTH: &str = "x-fusion-depth";
/// Header with the call's mode, `sync` (the default) or `async`.
pub const MODE: &str = "x-fusion-mode";
/// Header with the setup version the request runs under; absent for an external request.
pub const SETUP_VERSION: &str = "x-fusion-setup-version";
/// Header with the call's signature, `t=<unix seconds>,n=<nonce>,sig=<hex>` (see [`crate::auth`]).
pub const SIGNATURE: &str = "x-fusion-signature";

/// The HTTP status an error of `kind` is answered with.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Trapped => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Rejected => StatusCode::BAD_REQUEST,
        ErrorKind::Application => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Throttled => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::OutOfMemory => StatusCode::INSUFFICIENT_STORAGE,
    }
}

/// Reads the error a peer answered with; a body that is not one of ours still gives a kind.
pub fn error_from_response(status: u16, body: &[u8]) -> CallError {
    serde_json::from_slice(body).unwrap_or_else(|_| {
        let kind = match status {
            401 | 403 | 400 => ErrorKind::Rejected,
            404 => ErrorKind::NotFound,
            504 => ErrorKind::Timeout,
            429 => ErrorKind::Throttled,
            507 => ErrorKind::OutOfMemory,
            _ => ErrorKind::Unavailable,
        };
        CallError::new(kind, format!("peer answered {status}: {}", String::from_utf8_lossy(body)))
    })
}

/// The trace context and mode of an incoming call; a call without a caller is an external
/// request, which starts a new trace when it has no `traceparent`.
pub fn read_headers(headers: &HeaderMap) -> Result<(TraceContext, CallMode), CallError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mode = match text(MODE).as_deref() {
        None | Some("sync") => CallMode::Sync,
        Some("async") => CallMode::Async,
        Some(other) => return Err(CallError::new(ErrorKind::Rejected, format!("unknown mode '{other}'"))),
    };
    let depth = match text(DEPTH) {
        None => 0,
        Some(d) => d.parse().map_err(|_| CallError::new(ErrorKind::Rejected, format!("bad {DEPTH} '{d}'")))?,
    };
    let setup_version = match text(SETUP_VERSION) {
        None => None,
        Some(v) => Some(v.parse().map_err(|_| CallError::new(ErrorKind::Rejected, format!("bad {SETUP_VERSION} '{v}'")))?),
    };
    let tracestate = text(TRACESTATE);
    let trace = match text(TRACEPARENT) {
        Some(traceparent) => TraceContext::from_caller(&traceparent, tracestate.as_deref(), text(CALLER), depth, setup_version)?,
        None if headers.contains_key(CALLER) => return Err(CallError::new(ErrorKind::Rejected, format!("a call from a task without {TRACEPARENT}"))),
        None => TraceContext { depth, setup_version, ..TraceContext::new_request() },
    };
    Ok((trace, mode))
}
