//! The HTTP front-end of a function: `POST /v1/invoke/{task}` runs the function's task (200 with
//! the result, 202 once async work is accepted, a typed JSON error otherwise), plus `/healthz` and
//! `/metrics` in Prometheus' text format.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::Signer;
use crate::call::{Call, CallMode};
use crate::error::{CallError, ErrorKind};
use crate::function::FunctionHost;
use crate::listener::{self, ConnectionLimits};
use crate::wire::{self, EXPIRE_PATH, INVOKE_PREFIX, REFRESH_PATH};

/// The largest request body a function takes: Lambda's limit for a synchronous invocation's
/// payload (6 MB). A larger one is refused with a typed `413`.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// The HTTP server of one function, with counts of the calls it served, accepted, failed,
/// refused and throttled for `/metrics`.
pub struct HttpFrontEnd {
    host: Arc<FunctionHost>,
    signer: Option<Signer>,
    served: AtomicU64,
    accepted: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
    throttled: AtomicU64,
}

impl HttpFrontEnd {
    /// With a `signer`, every call must carry a valid signature.
    pub fn new(host: Arc<FunctionHost>, signer: Option<Signer>) -> Arc<HttpFrontEnd> {
        Arc::new(HttpFrontEnd {
            host,
            signer,
            served: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        })
    }

    /// Serves on `listener` within `limits` (see [`listener::serve`]); it never returns.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener, limits: ConnectionLimits) {
        let app = axum::Router::new()
            .route("/v1/invoke/{task}", post(invoke))
            .route(EXPIRE_PATH, post(expire))
            .route(REFRESH_PATH, post(refresh))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/metrics", get(metrics))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(self);
        listener::serve(listener, app, limits).await
    }

    /// The function served.
    pub(crate) fn host(&self) -> &Arc<FunctionHost> {
        &self.host
    }

    /// Runs a sync call and counts how it ended.
    pub(crate) async fn run(&self, call: Call) -> Result<Vec<u8>, CallError> {
        let result = self.host.invoke(call).await;
        let counter = match &result {
            Ok(_) => &self.served,
            Err(error) if error.kind == ErrorKind::Throttled => &self.throttled,
            Err(_) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// A typed JSON refusal, counted.
    pub(crate) fn refuse(&self, status: StatusCode, error: CallError) -> Response {
        self.refused.fetch_add(1, Ordering::Relaxed);
        (status, axum::Json(error)).into_response()
    }

    /// The request's body, or its refusal as a typed JSON error (a body over the limit: `413`).
    pub(crate) fn body(&self, body: Result<Bytes, BytesRejection>) -> Result<Bytes, Box<Response>> {
        body.map_err(|rejection| Box::new(self.refuse(rejection.status(), CallError::new(ErrorKind::Rejected, rejection.body_text()))))
    }

    /// Refuses a request without a valid signature (when calls must be signed).
    fn authenticate(&self, path: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Box<Response>> {
        let Some(signer) = &self.signer else { return Ok(()) };
        signer
            .verify(path, headers, body)
            .map_err(|why| Box::new(self.refuse(StatusCode::UNAUTHORIZED, CallError::new(ErrorKind::Rejected, format!("unauthenticated: {why}")))))
    }
}

async fn invoke(State(front): State<Arc<HttpFrontEnd>>, Path(task): Path<String>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match front.body(body) {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    if let Err(refused) = front.authenticate(&format!("{INVOKE_PREFIX}{task}"), &headers, &body) {
        return *refused;
    }
    let (trace, mode) = match wire::read_headers(&headers) {
        Ok(parsed) => parsed,
        Err(err) => return front.refuse(StatusCode::BAD_REQUEST, err),
    };
    if task != front.host.name {
        let error = CallError::new(ErrorKind::NotFound, format!("function '{}' serves task '{}', not '{task}'", front.host.name, front.host.name));
        return front.refuse(StatusCode::NOT_FOUND, error);
    }
    let call = Call { task, payload: body.to_vec(), mode, trace };
    match mode {
        CallMode::Async => match front.host.accept(call) {
            Ok(()) => {
                front.accepted.fetch_add(1, Ordering::Relaxed);
                StatusCode::ACCEPTED.into_response()
            }
            Err(throttled) => {
                front.throttled.fetch_add(1, Ordering::Relaxed);
                (wire::status_of(throttled.kind), axum::Json(throttled)).into_response()
            }
        },
        CallMode::Sync => match front.run(call).await {
            Ok(output) => (StatusCode::OK, output).into_response(),
            Err(error) => (wire::status_of(error.kind), axum::Json(error)).into_response(),
        },
    }
}

/// Retires the function's execution environments, so its next invocations start cold (the load
/// generator's `cold` profile).
async fn expire(State(front): State<Arc<HttpFrontEnd>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match front.body(body) {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    if let Err(refused) = front.authenticate(EXPIRE_PATH, &headers, &body) {
        return *refused;
    }
    front.host.environments().expire();
    StatusCode::NO_CONTENT.into_response()
}

/// Swaps to the store's current setup (the pointer was just moved) and says which version is
/// served: 200 `{"version": N}`, or 409 with the reason the new version was refused.
async fn refresh(State(front): State<Arc<HttpFrontEnd>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match front.body(body) {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    if let Err(refused) = front.authenticate(REFRESH_PATH, &headers, &body) {
        return *refused;
    }
    match front.host.routers().refresh().await {
        Ok(version) => axum::Json(serde_json::json!({ "version": version })).into_response(),
        Err(err) => {
            let serving = front.host.routers().current().setup.version;
            let error = format!("{err:#}");
            (StatusCode::CONFLICT, axum::Json(serde_json::json!({ "version": serving, "error": error }))).into_response()
        }
    }
}

async fn metrics(State(front): State<Arc<HttpFrontEnd>>) -> Response {
    let function = &front.host.name;
    let mut text = String::from("# TYPE fusion_calls_total counter\n");
    let outcomes = [("ok", &front.served), ("accepted", &front.accepted), ("failed", &front.failed), ("refused", &front.refused), ("throttled", &front.throttled)];
    for (outcome, counter) in outcomes {
        text.push_str(&format!("fusion_calls_total{{function=\"{function}\",outcome=\"{outcome}\"}} {}\n", counter.load(Ordering::Relaxed)));
    }
    // Invocations not yet ended (async work included): 0 once the function is idle.
    text.push_str("# TYPE fusion_invocations_in_flight gauge\n");
    text.push_str(&format!("fusion_invocations_in_flight{{function=\"{function}\"}} {}\n", front.host.work().len()));
    // The concurrency limit at work: invocations holding a slot, async ones waiting for one.
    let admission = front.host.admission();
    text.push_str("# TYPE fusion_invocations_running gauge\n");
    text.push_str(&format!("fusion_invocations_running{{function=\"{function}\"}} {}\n", admission.running()));
    text.push_str("# TYPE fusion_async_queued gauge\n");
    text.push_str(&format!("fusion_async_queued{{function=\"{function}\"}} {}\n", admission.queued()));
    text.push_str("# TYPE fusion_setup_version gauge\n");
    text.push_str(&format!("fusion_setup_version{{function=\"{function}\"}} {}\n", front.host.routers().current().setup.version));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
