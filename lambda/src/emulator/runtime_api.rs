//! An execution environment's Runtime API: what `AWS_LAMBDA_RUNTIME_API` points a host at
//! (next invocation, response, invocation error, init error).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::function::{Environment, Function, Outcome};

/// The Runtime API of `environment`, an environment of `function`.
pub(super) fn router(function: Arc<Function>, environment: Arc<Environment>) -> axum::Router {
    axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(invocation_response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(Runtime { function, environment })
}

/// What an environment's Runtime API serves from.
#[derive(Clone)]
struct Runtime {
    function: Arc<Function>,
    environment: Arc<Environment>,
}

/// The answer to a retired environment's `next`: none, as Lambda gives none, until its process
/// is stopped (then an error, for a runtime still there to hear it).
async fn retired(environment: &Environment) -> Response {
    environment.stopped.cancelled().await;
    (StatusCode::GONE, r#"{"errorType":"Runtime.Retired","errorMessage":"this execution environment was retired"}"#).into_response()
}

async fn next_invocation(State(Runtime { function, environment }): State<Runtime>) -> Response {
    // A retired environment's runtime must not hold the queue: its wait ends when it is retired.
    let received = tokio::select! {
        biased;
        () = environment.retired.cancelled() => return retired(&environment).await,
        received = async { function.next.lock().await.recv().await } => received,
    };
    let Some(pending) = received else {
        return StatusCode::GONE.into_response();
    };
    {
        let mut in_flight = environment.in_flight.lock().unwrap();
        if environment.retired.is_cancelled() {
            // Retired while it was being handed over: the next environment takes it.
            drop(in_flight);
            let _ = function.queue.send(pending);
            return retired(&environment).await;
        }
        function.queued.fetch_sub(1, Ordering::SeqCst);
        environment.invocations.fetch_add(1, Ordering::Relaxed);
        in_flight.insert(pending.request_id.clone(), pending.reply);
    }
    let timeout_ms = environment.configuration.as_ref().map_or(900_000, |c| u128::from(c.timeout_s) * 1000);
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() + timeout_ms;
    let headers = [
        ("lambda-runtime-aws-request-id", pending.request_id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", function.arn.clone()),
        ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".to_string()),
        ("content-type", "application/json".to_string()),
    ];
    (StatusCode::OK, headers, pending.event).into_response()
}

fn finish(environment: &Environment, id: &str, outcome: Outcome) -> Response {
    match environment.in_flight.lock().unwrap().remove(id) {
        Some(reply) => {
            if let Some(reply) = reply {
                let _ = reply.send(outcome);
            }
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
        }
        None => (StatusCode::BAD_REQUEST, format!("no invocation '{id}' in flight")).into_response(),
    }
}

async fn invocation_response(State(runtime): State<Runtime>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&runtime.environment, &id, Outcome::Response(body))
}

async fn invocation_error(State(runtime): State<Runtime>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&runtime.environment, &id, Outcome::Error(body))
}

async fn init_error(State(Runtime { function, environment }): State<Runtime>, body: Bytes) -> Response {
    *function.init_error.lock().unwrap() = Some(body);
    // Like Lambda, fail what waits for this environment: its invocation in flight and the queue.
    environment.in_flight.lock().unwrap().clear();
    tokio::spawn(async move {
        let mut queue = function.next.lock().await;
        while let Ok(pending) = queue.try_recv() {
            function.queued.fetch_sub(1, Ordering::SeqCst);
            drop(pending);
        }
    });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}
