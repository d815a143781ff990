//! Where a call sits in its request's trace, and how that travels: W3C Trace Context
//! (`traceparent`, `tracestate`) on every hop, so that a request arriving from an instrumented
//! client continues the client's trace and every span of the request, fused or remote, sync or
//! async, has its right parent in whatever tracing tool the spans are exported to.

use crate::error::{CallError, ErrorKind};

/// The W3C header naming the trace and the caller's span: `00-<trace id>-<parent id>-<flags>`.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C header with vendors' trace data, carried along the request unchanged.
pub const TRACESTATE: &str = "tracestate";
/// The longest `tracestate` carried (the W3C limit a platform must propagate at least): a longer
/// one is dropped, as the recommendation allows, rather than cut inside an entry.
pub const MAX_TRACESTATE: usize = 512;

/// Where a call sits in its request's call tree.
#[derive(Debug, Clone)]
pub struct TraceContext {
    /// Identifies the request the call belongs to; every call of the request shares it. 32 hex
    /// digits, a W3C trace id.
    pub trace_id: String,
    /// The span of the calling task; `None` for a request from outside the app.
    pub parent_span: Option<String>,
    /// For a request from outside: the span of the client that sent it (its `traceparent`),
    /// the parent of the request's first span in an exported trace. Fusion's own call tree ends
    /// at that first span.
    pub outside_parent: Option<String>,
    /// The request's W3C `tracestate`, passed on with every call it makes.
    pub tracestate: Option<String>,
    /// The calling task; `None` for an external request.
    pub caller: Option<String>,
    /// Nesting depth of the call, to stop runaway recursion.
    pub depth: u32,
    /// The setup version the request runs under; `None` for an external request, which runs under
    /// the callee's current setup. Every later call of the request carries that version.
    pub setup_version: Option<u64>,
}

impl TraceContext {
    /// The context of a new request from outside the application, starting a trace of its own.
    pub fn new_request() -> TraceContext {
        TraceContext { trace_id: new_trace_id(), parent_span: None, outside_parent: None, tracestate: None, caller: None, depth: 0, setup_version: None }
    }

    /// The context of a request from outside that carried these W3C headers: it continues the
    /// client's trace when `traceparent` is valid and starts a new one otherwise (as the W3C
    /// recommendation asks of a receiver; a broken header from outside is not an error).
    pub fn from_outside(traceparent: Option<&str>, tracestate: Option<&str>) -> TraceContext {
        let mut trace = TraceContext::new_request();
        if let Some((trace_id, parent)) = traceparent.and_then(parse_traceparent) {
            trace.trace_id = trace_id;
            trace.outside_parent = Some(parent);
            trace.tracestate = tracestate.and_then(valid_tracestate);
        }
        trace
    }

    /// The context of a call from another function: its `traceparent` names the calling task's
    /// span when the call has a caller, the client's span otherwise. Our hosts send a valid
    /// header, so a broken one is refused.
    pub fn from_caller(traceparent: &str, tracestate: Option<&str>, caller: Option<String>, depth: u32, setup_version: Option<u64>) -> Result<TraceContext, CallError> {
        let (trace_id, parent) =
            parse_traceparent(traceparent).ok_or_else(|| CallError::new(ErrorKind::Rejected, format!("malformed {TRACEPARENT} '{traceparent}'")))?;
        let (parent_span, outside_parent) = if caller.is_some() { (Some(parent), None) } else { (None, Some(parent)) };
        Ok(TraceContext { trace_id, parent_span, outside_parent, tracestate: tracestate.and_then(valid_tracestate), caller, depth, setup_version })
    }

    /// The `traceparent` a call in this context sends: the calling task's span as the parent.
    /// A request's first call, made by a client that is not a task (the load generator, a bench),
    /// names a fresh span of that client, as an instrumented client would.
    pub fn traceparent(&self) -> String {
        let parent = self.parent_span.clone().or_else(|| self.outside_parent.clone()).unwrap_or_else(new_span_id);
        format!("00-{}-{parent}-01", self.trace_id)
    }
}

/// A random trace id: 32 hex digits (128 bits), never all zeros.
pub fn new_trace_id() -> String {
    format!("{:032x}", fastrand::u128(1..))
}

/// A random span id: 16 hex digits (64 bits), never all zeros.
pub fn new_span_id() -> String {
    format!("{:016x}", fastrand::u64(1..))
}

/// The trace id and parent span id of a W3C `traceparent`, or `None` when it is not one.
/// Version 00 is exactly `00-<32 hex>-<16 hex>-<2 hex>`; a later version may append fields, which
/// are ignored; version `ff` and all-zero ids are invalid. Hex is lowercase.
pub fn parse_traceparent(value: &str) -> Option<(String, String)> {
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut fields = value.trim().split('-');
    let (version, trace_id, parent, flags) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let known_shape = hex(version, 2) && version != "ff" && hex(trace_id, 32) && hex(parent, 16) && hex(flags, 2);
    let extra_fields_allowed = version != "00" || fields.next().is_none();
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    (known_shape && extra_fields_allowed && !zero(trace_id) && !zero(parent)).then(|| (trace_id.to_string(), parent.to_string()))
}

/// `value` when it is a `tracestate` worth passing on: printable ASCII within [`MAX_TRACESTATE`].
/// Its list members are vendors' business and are not parsed further.
pub fn valid_tracestate(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty() && value.len() <= MAX_TRACESTATE && value.bytes().all(|b| (0x20..0x7f).contains(&b))).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    #[test]
    fn a_valid_traceparent_is_read_and_a_broken_one_is_not() {
        assert_eq!(parse_traceparent(&format!("00-{TRACE}-{SPAN}-01")), Some((TRACE.into(), SPAN.into())));
        assert_eq!(parse_traceparent(&format!("01-{TRACE}-{SPAN}-00-later-fields")), Some((TRACE.into(), SPAN.into())));
        for broken in [
            format!("00-{TRACE}-{SPAN}-01-extra"),
            format!("ff-{TRACE}-{SPAN}-01"),
            format!("00-{}-{SPAN}-01", "0".repeat(32)),
            format!("00-{TRACE}-{}-01", "0".repeat(16)),
            format!("00-{}-{SPAN}-01", TRACE.to_uppercase()),
            format!("00-{TRACE}-{SPAN}"),
            format!("00-{TRACE}x-{SPAN}-01"),
            String::new(),
        ] {
            assert_eq!(parse_traceparent(&broken), None, "{broken}");
        }
    }

    #[test]
    fn an_outside_request_continues_the_clients_trace_or_starts_its_own() {
        let continued = TraceContext::from_outside(Some(&format!("00-{TRACE}-{SPAN}-01")), Some("vendor=x"));
        assert_eq!((continued.trace_id.as_str(), continued.outside_parent.as_deref(), continued.parent_span.as_deref()), (TRACE, Some(SPAN), None));
        assert_eq!(continued.tracestate.as_deref(), Some("vendor=x"));
        assert_eq!(continued.traceparent(), format!("00-{TRACE}-{SPAN}-01"));
        let fresh = TraceContext::from_outside(Some("garbage"), Some("vendor=x"));
        assert_ne!(fresh.trace_id, TRACE);
        assert_eq!((fresh.outside_parent, fresh.tracestate), (None, None));
        assert!(TraceContext::from_outside(None, Some(&"a".repeat(MAX_TRACESTATE + 1))).tracestate.is_none());
    }

    #[test]
    fn a_callers_traceparent_names_the_calling_span_and_a_broken_one_is_refused() {
        let header = format!("00-{TRACE}-{SPAN}-01");
        let from_task = TraceContext::from_caller(&header, None, Some("I".into()), 1, Some(3)).unwrap();
        assert_eq!((from_task.parent_span.as_deref(), from_task.outside_parent), (Some(SPAN), None));
        let from_client = TraceContext::from_caller(&header, None, None, 0, None).unwrap();
        assert_eq!((from_client.parent_span, from_client.outside_parent.as_deref()), (None, Some(SPAN)));
        assert_eq!(TraceContext::from_caller("00-nope", None, None, 0, None).unwrap_err().kind, ErrorKind::Rejected);
    }
}
