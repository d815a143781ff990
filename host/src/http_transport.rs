//! Calls to other functions over HTTP/1.1 with kept-alive connections: sync waits for the result,
//! async returns once the peer answered 202. A peer that is down or silent gives `unavailable`
//! or `timeout`, never a hang.
//!
//! Each call drives its connection itself, in the calling task, instead of handing the request
//! to a connection task: on a 2-core machine that hand-off (a thread wake-up each way) cost about
//! as much as the round trip it served (see the `remote_call` benchmark).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::auth::Signer;
use crate::call::{Call, CallMode};
use crate::trace_context::{TRACEPARENT, TRACESTATE};
use crate::error::{CallError, ErrorKind};
use crate::router::Transport;
use crate::runtime::BoxFuture;
use crate::wire::{self, INVOKE_PREFIX};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Idle connections kept per peer.
const MAX_IDLE: usize = 64;
/// An idle connection older than this is not reused: a peer closes connections idle for its
/// header timeout (10 s by default, `fusion_host::listener`), and a request sent just as it does
/// could not be retried safely.
const MAX_IDLE_AGE: Duration = Duration::from_secs(5);

/// The [`Transport`] to functions in other processes: HTTP calls, signed when there is a signer, on
/// kept-alive connections per peer.
pub struct HttpTransport {
    /// Function → base URL (`http://127.0.0.1:4001`).
    peers: BTreeMap<String, String>,
    signer: Option<Signer>,
    timeout: Duration,
    /// Base URL → idle kept-alive connections.
    idle: Arc<Mutex<BTreeMap<String, Vec<PeerConnection>>>>,
}

/// One HTTP/1.1 connection: the handle that sends requests and the state machine that does the
/// I/O, polled by whoever uses the connection.
struct PeerConnection {
    send: SendRequest<Full<Bytes>>,
    io: Connection<TokioIo<TcpStream>, Full<Bytes>>,
    /// When it last went back to the pool.
    idle_since: Instant,
}

impl HttpTransport {
    /// `timeout` bounds a whole call; connecting gets a shorter bound of its own.
    pub fn new(peers: BTreeMap<String, String>, signer: Option<Signer>, timeout: Duration) -> std::io::Result<Arc<HttpTransport>> {
        for (function, base) in &peers {
            if !base.starts_with("http://") {
                return Err(std::io::Error::other(format!("peer '{function}': '{base}' is not an http:// URL")));
            }
        }
        Ok(Arc::new(HttpTransport { peers, signer, timeout, idle: Arc::default() }))
    }

    fn request(&self, base: &str, call: Call) -> hyper::Request<Full<Bytes>> {
        let path = format!("{INVOKE_PREFIX}{}", call.task);
        let mode = call.mode.as_str();
        let mut request = hyper::Request::post(&path)
            .header(hyper::header::HOST, base.trim_start_matches("http://"))
            .header(TRACEPARENT, call.trace.traceparent())
            .header(wire::DEPTH, call.trace.depth.to_string())
            .header(wire::MODE, mode);
        if let Some(tracestate) = &call.trace.tracestate {
            request = request.header(TRACESTATE, tracestate);
        }
        if let Some(caller) = &call.trace.caller {
            request = request.header(wire::CALLER, caller);
        }
        if let Some(version) = call.trace.setup_version {
            request = request.header(wire::SETUP_VERSION, version.to_string());
        }
        let body = Bytes::from(call.payload);
        let mut request = request.body(Full::new(body.clone())).expect("the request's parts are valid");
        if let Some(signer) = &self.signer {
            let signature = signer.sign(&path, request.headers(), &body);
            request.headers_mut().insert(wire::SIGNATURE, signature.parse().expect("a signature is a valid header value"));
        }
        request
    }
}

impl Transport for HttpTransport {
    fn send(&self, function: &str, call: Call) -> BoxFuture<Result<Vec<u8>, CallError>> {
        let Some(base) = self.peers.get(function) else {
            let error = CallError::new(ErrorKind::Unavailable, format!("no address known for function '{function}'"));
            return Box::pin(async move { Err(error) });
        };
        let mode = call.mode;
        let request = self.request(base, call);
        let (function, base, idle, timeout) = (function.to_string(), base.clone(), self.idle.clone(), self.timeout);
        Box::pin(async move {
            let exchange = exchange(&idle, &base, request);
            let (status, body) = match tokio::time::timeout(timeout, exchange).await {
                Err(_) => return Err(CallError::new(ErrorKind::Timeout, format!("function '{function}' at {base} did not answer within {timeout:?}"))),
                Ok(Err(why)) => return Err(CallError::new(ErrorKind::Unavailable, format!("function '{function}' at {base}: {why}"))),
                Ok(Ok(answer)) => answer,
            };
            match (mode, status) {
                (CallMode::Sync, 200) => Ok(body.to_vec()),
                (CallMode::Async, 202) => Ok(Vec::new()),
                _ => Err(wire::error_from_response(status, &body)),
            }
        })
    }
}

/// Sends `request` on an idle connection to `base` (or a new one) and reads the whole answer.
/// A kept-alive connection the peer has closed meanwhile is replaced, once, when the request
/// provably was not sent on it.
async fn exchange(idle: &Mutex<BTreeMap<String, Vec<PeerConnection>>>, base: &str, request: hyper::Request<Full<Bytes>>) -> Result<(u16, Bytes), String> {
    let mut request = request;
    let mut fresh = false;
    loop {
        let mut conn = match take_idle(idle, base) {
            Some(conn) => conn,
            None => {
                fresh = true;
                connect(base).await?
            }
        };
        let sent = conn.send.try_send_request(request);
        let answer = async {
            let response = sent.await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, RetryOr>((status, body))
        };
        // Drive the connection's I/O in this task until the answer is complete.
        let answered = {
            tokio::pin!(answer);
            tokio::select! {
                biased;
                answered = &mut answer => answered,
                ended = &mut conn.io => Err(RetryOr::Failed(match ended {
                    Ok(()) => "the connection closed before the answer".to_string(),
                    Err(e) => e.to_string(),
                })),
            }
        };
        match answered {
            Ok(answer) => {
                let mut idle = idle.lock().unwrap();
                let pool = idle.entry(base.to_string()).or_default();
                if pool.len() < MAX_IDLE {
                    conn.idle_since = Instant::now();
                    pool.push(conn);
                }
                return Ok(answer);
            }
            Err(RetryOr::Retry(unsent)) if !fresh => request = *unsent,
            Err(RetryOr::Retry(_)) => return Err("the connection closed before the request was sent".into()),
            Err(RetryOr::Failed(why)) => return Err(why),
        }
    }
}

enum RetryOr {
    /// The request was not sent: it may go out on another connection.
    Retry(Box<hyper::Request<Full<Bytes>>>),
    Failed(String),
}

impl From<hyper::client::conn::TrySendError<hyper::Request<Full<Bytes>>>> for RetryOr {
    fn from(mut err: hyper::client::conn::TrySendError<hyper::Request<Full<Bytes>>>) -> Self {
        match err.take_message() {
            Some(request) => RetryOr::Retry(Box::new(request)),
            None => RetryOr::Failed(err.into_error().to_string()),
        }
    }
}

impl From<String> for RetryOr {
    fn from(why: String) -> Self {
        RetryOr::Failed(why)
    }
}

/// An idle connection to `base` that is still open, if there is one.
fn take_idle(idle: &Mutex<BTreeMap<String, Vec<PeerConnection>>>, base: &str) -> Option<PeerConnection> {
    let mut idle = idle.lock().unwrap();
    let pool = idle.get_mut(base)?;
    while let Some(mut conn) = pool.pop() {
        // Let the connection notice a close that arrived while it sat idle.
        let fresh = conn.idle_since.elapsed() < MAX_IDLE_AGE;
        if fresh && (&mut conn.io).now_or_never().is_none() && !conn.send.is_closed() {
            return Some(conn);
        }
    }
    None
}

async fn connect(base: &str) -> Result<PeerConnection, String> {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Err(_) => return Err(format!("no connection within {CONNECT_TIMEOUT:?}")),
        Ok(connected) => connected.map_err(|e| format!("cannot connect: {e}"))?,
    };
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (send, io) = http1::handshake(TokioIo::new(tcp)).await.map_err(|e| format!("HTTP handshake failed: {e}"))?;
    Ok(PeerConnection { send, io, idle_since: Instant::now() })
}
