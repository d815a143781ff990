//! The HTTP front-end of a function: `POST /v1/invoke/{task}` runs the function's task (200 with
//! the result, 202 once async work is accepted, a typed JSON error otherwise), plus `/healthz` and
//! `/metrics` (see [`crate::metrics`]).

use std::sync::Arc;

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
use crate::metrics::{self, Metrics, Outcome};
use crate::wire::{self, EXPIRE_PATH, INVOKE_PREFIX, REFRESH_PATH};

/// The largest request body a function takes: Lambda's limit for a synchronous invocation's
/// payload (6 MB). A larger one is refused with a typed `413`.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// The HTTP server of one function, counting how calls ended in its [`Metrics`].
pub struct HttpFrontEnd {
    host: Arc<FunctionHost>,
    signer: Option<Signer>,
    metrics: Arc<Metrics>,
}

impl HttpFrontEnd {
    /// With a `signer`, every call must carry a valid signature. `metrics` should also see the
    /// host's records (a [`crate::telemetry::Tee`] of its sink) for its task and invocation metrics.
    pub fn new(host: Arc<FunctionHost>, signer: Option<Signer>, metrics: Arc<Metrics>) -> Arc<HttpFrontEnd> {
        Arc::new(HttpFrontEnd { host, signer, metrics })
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
        match &result {
            Ok(_) => self.count(Outcome::Ok, None),
            Err(error) if error.kind == ErrorKind::Throttled => self.count(Outcome::Throttled, Some(error.kind)),
            Err(error) => self.count(Outcome::Failed, Some(error.kind)),
        }
        result
    }

    /// A typed JSON refusal, counted.
    pub(crate) fn refuse(&self, status: StatusCode, error: CallError) -> Response {
        self.count(Outcome::Refused, Some(error.kind));
        (status, axum::Json(error)).into_response()
    }

    fn count(&self, outcome: Outcome, error: Option<ErrorKind>) {
        self.metrics.count_call(&self.host.name, outcome, error);
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
                front.count(Outcome::Accepted, None);
                StatusCode::ACCEPTED.into_response()
            }
            Err(throttled) => {
                front.count(Outcome::Throttled, Some(throttled.kind));
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
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], front.metrics.encode(&front.host)).into_response()
}
