//! Serving HTTP/1.1 on a TCP listener within limits, so that slow or idle clients cannot hold a
//! host's sockets: a request's head must arrive within one timeout, its body within another, and a
//! listener holds at most so many connections at once. Both listeners of a host (the signed API
//! of its function and the public front door) are served this way.

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;

/// What one listener allows its clients. Each listener has limits of its own, so outsiders who
/// fill the front door's connections do not stop the function's callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a request's head (request line and headers) may take to arrive, counted from
    /// when the server starts waiting for it: on a new connection, and again after each response
    /// on a kept-alive one, so it is also how long an idle connection stays open. The connection
    /// is closed when it passes. Default 10 s: a head is a few hundred bytes that every real
    /// client sends at once, so 10 s leaves ample room on a loaded machine while a client that
    /// trickles its head (or sends nothing) is cut within seconds; a caller whose kept-alive
    /// connection sat idle that long opens a new one.
    pub header_read_timeout: Duration,
    /// How long a request's whole body may take to arrive, counted from its head (not reset by
    /// each piece that arrives, so a body trickled a byte at a time is cut too). A body still
    /// incomplete then is refused with a typed `408` and the connection closed. Default 30 s:
    /// the largest body a function takes, 6 MB, arrives within it at about 1.6 Mbit/s, and calls
    /// between functions send their bodies at once.
    pub body_read_timeout: Duration,
    /// The connections one listener holds at once. At the cap it accepts no more until one
    /// closes: new connections wait in the kernel's listen backlog and are served once a slot is
    /// free (a slow client's slot frees within the timeouts), instead of being accepted only to
    /// be closed, which would fail well-behaved callers in a burst. Default 512: far more than
    /// the calls a host serves at once on a few cores plus the idle connections its callers
    /// keep, while the two listeners of an entry function stay near the common soft limit of
    /// 1,024 open files. Keep it below the process's open-file limit (`ulimit -n`), with room for
    /// the host's own files and its connections to other functions.
    pub max_connections: NonZeroUsize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: NonZeroUsize::new(512).expect("512 is not zero"),
        }
    }
}

/// Serves `router` on `listener` within `limits`, HTTP/1.1 with TCP_NODELAY (small calls, no
/// Nagle delay). It never returns: dropping the future stops accepting, and the connections
/// already accepted are served on until they close (as with `axum::serve`).
pub async fn serve(listener: TcpListener, router: axum::Router, limits: ConnectionLimits) {
    let router = router.layer(middleware::from_fn_with_state(limits.body_read_timeout, body_deadline));
    let slots = Arc::new(Semaphore::new(limits.max_connections.get().min(Semaphore::MAX_PERMITS)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    loop {
        let slot = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // A connection that failed before it was accepted concerns only its client; any
                // other error (out of file descriptors) is waited out, not fatal.
                if !matches!(err.kind(), std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionRefused) {
                    tracing::error!("accepting a connection: {err}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(router.clone()));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!("connection from {peer}: {err}");
            }
            drop(slot);
        });
    }
}

/// Bounds the time the request's body may take to arrive; a body cut by the bound makes the
/// handler refuse the request (its typed JSON error), answered as `408 Request Timeout` on a
/// connection that then closes (the rest of the body is not read).
async fn body_deadline(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let expired = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let body = DeadlineBody { body, deadline: Box::pin(tokio::time::sleep(timeout)), timeout, expired: expired.clone() };
    let mut response = next.run(Request::from_parts(parts, Body::new(body))).await;
    if expired.load(Ordering::Relaxed) {
        *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that fails once its deadline passes before it has all arrived.
struct DeadlineBody {
    body: Body,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
    /// Set when the deadline cut the body.
    expired: Arc<AtomicBool>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(BoxError::from)));
        }
        ready!(self.deadline.as_mut().poll(cx));
        self.expired.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(format!("the request body did not arrive within {:?}", self.timeout).into())))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
