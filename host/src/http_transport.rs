//! Calls to other functions over HTTP with kept-alive connections: sync waits for the result,
//! async returns once the peer answered 202. A peer that is down or silent gives `unavailable`
//! or `timeout`, never a hang.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Signed, Signer};
use crate::call::{Call, CallMode};
use crate::error::{CallError, ErrorKind};
use crate::router::Transport;
use crate::runtime::BoxFuture;
use crate::wire::{self, INVOKE_PREFIX};

pub struct HttpTransport {
    client: reqwest::Client,
    /// Function → base URL (`http://127.0.0.1:4001`).
    peers: BTreeMap<String, String>,
    signer: Option<Signer>,
}

impl HttpTransport {
    /// `timeout` bounds a whole sync call; connecting gets a shorter bound of its own.
    pub fn new(peers: BTreeMap<String, String>, signer: Option<Signer>, timeout: Duration) -> reqwest::Result<Arc<HttpTransport>> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Arc::new(HttpTransport { client, peers, signer }))
    }
}

impl Transport for HttpTransport {
    fn send(&self, function: &str, call: Call) -> BoxFuture<Result<Vec<u8>, CallError>> {
        let Some(base) = self.peers.get(function) else {
            let error = CallError::new(ErrorKind::Unavailable, format!("no address known for function '{function}'"));
            return Box::pin(async move { Err(error) });
        };
        let path = format!("{INVOKE_PREFIX}{}", call.task);
        let mode = call.mode.as_str();
        let mut request = self
            .client
            .post(format!("{base}{path}"))
            .header(wire::TRACE_ID, &call.trace.trace_id)
            .header(wire::DEPTH, call.trace.depth.to_string())
            .header(wire::MODE, mode);
        if let Some(parent) = &call.trace.parent_span {
            request = request.header(wire::PARENT_SPAN, parent);
        }
        if let Some(caller) = &call.trace.caller {
            request = request.header(wire::CALLER, caller);
        }
        if let Some(signer) = &self.signer {
            let signed = Signed { path: &path, trace_id: &call.trace.trace_id, mode, body: &call.payload };
            request = request.header(wire::SIGNATURE, signer.sign(&signed));
        }
        let request = request.body(call.payload);
        let (function, base) = (function.to_string(), base.clone());
        Box::pin(async move {
            let response = request.send().await.map_err(|e| {
                let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Unavailable };
                CallError::new(kind, format!("function '{function}' at {base}: {e}"))
            })?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(|e| CallError::new(ErrorKind::Unavailable, format!("function '{function}' broke off its answer: {e}")))?;
            match (call.mode, status) {
                (CallMode::Sync, 200) => Ok(body.to_vec()),
                (CallMode::Async, 202) => Ok(Vec::new()),
                _ => Err(wire::error_from_response(status, &body)),
            }
        })
    }
}
