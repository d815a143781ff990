//! How a Fusion call travels as a Lambda event.
//!
//! A call from another function is an envelope, `{"fusion": {task, mode, trace…}, "payload":
//! base64}`, answered with `{"payload": base64}`. A Function URL request (payload format 2.0:
//! `version` "2.0" and `requestContext.http`) is the app's front door: its body is the entry
//! task's JSON input, and the answer is an HTTP response — the JSON output with status 200, or a
//! typed JSON error with the status its kind maps to over HTTP; of its headers only the W3C trace
//! context is read, so no `x-fusion-*` header from outside counts. Any other event is a direct invocation from outside
//! (`aws lambda invoke`): the event itself is the entry task's JSON input, and the answer is the
//! task's JSON output. A failed call is a function error whose `errorType` names its kind
//! (`Fusion.NotFound`, `Fusion.Trapped`, …), so the caller gets the same typed error as over HTTP.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fusion_host::trace_context::{TRACEPARENT, TRACESTATE};
use fusion_host::{Call, CallError, CallMode, ErrorKind, TraceContext};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize)]
struct Envelope {
    fusion: Header,
    payload: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    task: String,
    mode: CallMode,
    /// W3C Trace Context, as over HTTP.
    traceparent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tracestate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caller: Option<String>,
    #[serde(default)]
    depth: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    setup_version: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Reply {
    payload: String,
}

/// The event body of a call to another function.
pub fn encode_call(call: &Call) -> Vec<u8> {
    let t = &call.trace;
    let envelope = Envelope {
        fusion: Header {
            task: call.task.clone(),
            mode: call.mode,
            traceparent: t.traceparent(),
            tracestate: t.tracestate.clone(),
            caller: t.caller.clone(),
            depth: t.depth,
            setup_version: t.setup_version,
        },
        payload: STANDARD.encode(&call.payload),
    };
    serde_json::to_vec(&envelope).expect("an envelope serializes")
}

/// Where an event came from: each is answered its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Another function of the app, through the Invoke API.
    Fusion,
    /// A Function URL request: answered with an HTTP response.
    FunctionUrl,
    /// A direct invocation from outside: answered with the task's output.
    Direct,
}

/// An incoming event: a call from another function, or a request from outside to `function`'s
/// task, and where it came from.
pub fn decode_event(function: &str, event: Value) -> Result<(Call, Origin), CallError> {
    let outside = |payload: Vec<u8>| Call { task: function.to_string(), payload, mode: CallMode::Sync, trace: TraceContext::new_request() };
    if is_function_url(&event) {
        // Function URLs lower-case header names.
        let header = |name: &str| event["headers"][name].as_str();
        let trace = TraceContext::from_outside(header(TRACEPARENT), header(TRACESTATE));
        let body = event["body"].as_str().unwrap_or_default();
        let payload = if event["isBase64Encoded"].as_bool() == Some(true) {
            STANDARD.decode(body).map_err(|e| CallError::new(ErrorKind::Rejected, format!("the request body is not base64: {e}")))?
        } else {
            body.as_bytes().to_vec()
        };
        serde_json::from_slice::<Value>(&payload).map_err(|e| CallError::new(ErrorKind::Rejected, format!("the request body is not JSON: {e}")))?;
        return Ok((Call { trace, ..outside(payload) }, Origin::FunctionUrl));
    }
    if event.get("fusion").is_none() {
        return Ok((outside(serde_json::to_vec(&event).expect("a JSON value serializes")), Origin::Direct));
    }
    let envelope: Envelope =
        serde_json::from_value(event).map_err(|e| CallError::new(ErrorKind::Rejected, format!("malformed Fusion event: {e}")))?;
    let payload = STANDARD
        .decode(&envelope.payload)
        .map_err(|e| CallError::new(ErrorKind::Rejected, format!("malformed Fusion event payload: {e}")))?;
    let h = envelope.fusion;
    let trace = TraceContext::from_caller(&h.traceparent, h.tracestate.as_deref(), h.caller, h.depth, h.setup_version)?;
    Ok((Call { task: h.task, payload, mode: h.mode, trace }, Origin::Fusion))
}

/// Whether `event` is a Function URL request (payload format 2.0).
pub fn is_function_url(event: &Value) -> bool {
    event["version"] == "2.0" && event["requestContext"]["http"].is_object()
}

/// The answer to an event: an envelope for a call, an HTTP response for a Function URL request,
/// the task's JSON output for a direct invocation (a JSON string when the output is not JSON).
pub fn encode_reply(output: &[u8], origin: Origin) -> Value {
    match origin {
        Origin::Fusion => serde_json::to_value(Reply { payload: STANDARD.encode(output) }).expect("a reply serializes"),
        Origin::FunctionUrl => http_response(200, String::from_utf8_lossy(output).into_owned()),
        Origin::Direct => serde_json::from_slice(output).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(output).into_owned())),
    }
}

/// A failed Function URL request, as the HTTP response a caller of the front door expects: the
/// typed JSON error with the status its kind has over HTTP (a function error would reach the
/// caller as Lambda's own 502).
pub fn encode_url_error(error: &CallError) -> Value {
    http_response(fusion_host::wire::status_of(error.kind).as_u16(), serde_json::to_string(error).expect("an error serializes"))
}

fn http_response(status: u16, body: String) -> Value {
    serde_json::json!({ "statusCode": status, "headers": { "content-type": "application/json" }, "body": body, "isBase64Encoded": false })
}

/// The output inside a successful reply.
pub fn decode_reply(body: &[u8]) -> Result<Vec<u8>, CallError> {
    let reply: Reply = serde_json::from_slice(body)
        .map_err(|e| CallError::new(ErrorKind::Unavailable, format!("the callee's answer is not a Fusion reply: {e}")))?;
    STANDARD.decode(reply.payload).map_err(|e| CallError::new(ErrorKind::Unavailable, format!("the callee's reply payload: {e}")))
}

/// The `errorType` a failed call is reported with.
pub fn error_type(kind: ErrorKind) -> String {
    let name = match kind {
        ErrorKind::NotFound => "NotFound",
        ErrorKind::Trapped => "Trapped",
        ErrorKind::Timeout => "Timeout",
        ErrorKind::Unavailable => "Unavailable",
        ErrorKind::Rejected => "Rejected",
        ErrorKind::Application => "Application",
        ErrorKind::Throttled => "Throttled",
        ErrorKind::OutOfMemory => "OutOfMemory",
    };
    format!("Fusion.{name}")
}

/// The typed error of a function error's body (`{"errorType", "errorMessage"}`). Errors Lambda
/// raised itself (a crashed runtime, a timeout) are mapped to the nearest kind.
pub fn decode_function_error(body: &[u8]) -> CallError {
    #[derive(Deserialize)]
    struct FunctionError {
        #[serde(rename = "errorType", default)]
        error_type: String,
        #[serde(rename = "errorMessage", default)]
        error_message: String,
    }
    let Ok(error) = serde_json::from_slice::<FunctionError>(body) else {
        return CallError::new(ErrorKind::Unavailable, format!("function error: {}", String::from_utf8_lossy(body)));
    };
    let ours = ErrorKind::ALL.into_iter().find(|kind| error_type(*kind) == error.error_type);
    match (ours, error.error_type.as_str()) {
        (Some(kind), _) => CallError::new(kind, error.error_message),
        (None, "Sandbox.Timedout") => CallError::new(ErrorKind::Timeout, error.error_message),
        (None, "Runtime.OutOfMemory") => CallError::new(ErrorKind::OutOfMemory, error.error_message),
        // Lambda's own (a crashed runtime) or a failed init: the type says what happened.
        (None, other) => CallError::new(ErrorKind::Unavailable, format!("{other}: {}", error.error_message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_a_function_error() {
        for kind in ErrorKind::ALL {
            let body = serde_json::json!({ "errorType": error_type(kind), "errorMessage": "why" });
            assert_eq!(decode_function_error(body.to_string().as_bytes()), CallError::new(kind, "why"));
        }
        let lambdas = br#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 3.00 seconds"}"#;
        assert_eq!(decode_function_error(lambdas).kind, ErrorKind::Timeout);
    }

    #[test]
    fn a_call_survives_the_envelope() {
        let (t1, s1) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
        let trace = TraceContext {
            trace_id: t1.into(),
            parent_span: Some(s1.into()),
            outside_parent: None,
            tracestate: Some("vendor=v".into()),
            caller: Some("I".into()),
            depth: 2,
            setup_version: Some(7),
        };
        let call = Call { task: "CS".into(), payload: vec![0, 159, 146, 150], mode: CallMode::Async, trace };
        let event: Value = serde_json::from_slice(&encode_call(&call)).unwrap();
        let (back, origin) = decode_event("CS", event).unwrap();
        assert_eq!(origin, Origin::Fusion);
        assert_eq!((back.task.as_str(), back.payload, back.mode), ("CS", vec![0, 159, 146, 150], CallMode::Async));
        assert_eq!((back.trace.trace_id, back.trace.parent_span, back.trace.caller), (t1.into(), Some(s1.into()), Some("I".into())));
        assert_eq!(back.trace.tracestate.as_deref(), Some("vendor=v"));
        assert_eq!((back.trace.depth, back.trace.setup_version), (2, Some(7)));
    }

    #[test]
    fn any_other_event_is_a_request_to_the_functions_task() {
        let (call, origin) = decode_event("I", serde_json::json!({ "sensor": "s-1" })).unwrap();
        assert_eq!(origin, Origin::Direct);
        assert_eq!((call.task.as_str(), call.mode, call.trace.caller), ("I", CallMode::Sync, None));
        assert_eq!(call.payload, br#"{"sensor":"s-1"}"#);
        assert_eq!(encode_reply(br#"{"ok":true}"#, Origin::Direct), serde_json::json!({ "ok": true }));
        assert_eq!(decode_reply(&serde_json::to_vec(&encode_reply(b"\x00raw", Origin::Fusion)).unwrap()).unwrap(), b"\x00raw");
    }

    #[test]
    fn a_function_url_request_is_the_entry_tasks_body_answered_as_http() {
        let event = serde_json::json!({
            "version": "2.0", "requestContext": { "http": { "method": "POST" } },
            "headers": { "x-fusion-depth": "31", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
            "body": "eyJuIjoxfQ==", "isBase64Encoded": true,
        });
        let (call, origin) = decode_event("I", event).unwrap();
        assert_eq!((origin, call.payload.as_slice(), call.trace.depth), (Origin::FunctionUrl, br#"{"n":1}"#.as_slice(), 0));
        assert_eq!((call.trace.trace_id.as_str(), call.trace.outside_parent.as_deref()), ("4bf92f3577b34da6a3ce929d0e0e4736", Some("00f067aa0ba902b7")));
        assert_eq!(encode_reply(b"{}", Origin::FunctionUrl)["statusCode"], 200);
        let error = encode_url_error(&CallError::new(ErrorKind::Timeout, "slow"));
        assert_eq!((error["statusCode"].as_u64(), error["body"].as_str().unwrap().contains("timeout")), (Some(504), true));
        let not_json = serde_json::json!({ "version": "2.0", "requestContext": { "http": {} }, "body": "nope" });
        assert_eq!(decode_event("I", not_json).unwrap_err().kind, ErrorKind::Rejected);
    }

    #[test]
    fn error_kinds_round_trip_and_lambdas_own_errors_are_unavailable() {
        for kind in [ErrorKind::NotFound, ErrorKind::Trapped, ErrorKind::Timeout, ErrorKind::Unavailable, ErrorKind::Rejected, ErrorKind::Application] {
            let body = serde_json::json!({ "errorType": error_type(kind), "errorMessage": "why" }).to_string();
            let error = decode_function_error(body.as_bytes());
            assert_eq!((error.kind, error.message.as_str()), (kind, "why"));
        }
        let crashed = decode_function_error(br#"{"errorType":"Runtime.ExitError","errorMessage":"exit status 2"}"#);
        assert_eq!(crashed.kind, ErrorKind::Unavailable);
        assert!(crashed.message.contains("Runtime.ExitError"), "{}", crashed.message);
        assert!(decode_event("I", serde_json::json!({ "fusion": { "task": 1 } })).is_err());
    }
}
