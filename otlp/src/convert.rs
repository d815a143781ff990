//! Fusion's records as OTLP spans: one span per task execution, named after the task, with the
//! right parent (the calling task's span, or the outside client's), OpenTelemetry's FaaS
//! attributes where a convention exists and `fusion.*` ones for the rest. The span that starts an
//! invocation also carries the invocation's cold start, init and billed duration.

use fusion_host::telemetry::{InvocationRecord, Span};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, Status};

/// Whether `span` is the first of an invocation: the one its invocation record completes.
pub(crate) fn starts_invocation(span: &Span) -> bool {
    span.remote || span.parent_span.is_none()
}

/// The OTLP span of a task execution.
pub(crate) fn span(span: Span) -> OtlpSpan {
    let id = |hex: &str| hex::decode(hex).unwrap_or_default();
    let parent = span.parent_span.as_deref().or(span.outside_parent.as_deref()).map(id).unwrap_or_default();
    let kind = if starts_invocation(&span) { SpanKind::Server } else { SpanKind::Internal };
    let mut attributes = vec![
        text("fusion.task", &span.task),
        text("fusion.function", &span.function),
        int("fusion.setup.version", span.setup_version),
        text("fusion.call.mode", span.mode.as_str()),
        flag("fusion.call.remote", span.remote),
        flag("faas.coldstart", span.cold_start),
        int("faas.max_memory", u64::from(span.memory_mb) << 20),
        int("fusion.cpu_time_us", span.cpu_us),
        int("fusion.calls_time_us", span.calls_us),
        int("fusion.memory_used_kb", span.memory_used_kb),
    ];
    if let Some(caller) = &span.caller {
        attributes.push(text("fusion.caller", caller));
    }
    if kind == SpanKind::Server {
        attributes.push(text("faas.trigger", if span.mode.as_str() == "async" { "other" } else { "http" }));
    }
    if span.kv_ops > 0 {
        attributes.extend([int("fusion.kv.operations", span.kv_ops), int("fusion.kv.time_us", span.kv_us)]);
    }
    let status = match span.error {
        Some(kind) => {
            attributes.push(text("error.type", kind.as_str()));
            Status { code: StatusCode::Error as i32, message: kind.as_str().to_string() }
        }
        None => Status::default(),
    };
    OtlpSpan {
        trace_id: id(&span.trace_id),
        span_id: id(&span.span_id),
        parent_span_id: parent,
        name: span.task,
        kind: kind as i32,
        start_time_unix_nano: span.start_us.saturating_mul(1000),
        end_time_unix_nano: span.start_us.saturating_add(span.duration_us).saturating_mul(1000),
        attributes,
        status: Some(status),
        ..OtlpSpan::default()
    }
}

/// Adds what the invocation record knows to the span that started the invocation.
pub(crate) fn complete(span: &mut OtlpSpan, invocation: &InvocationRecord) {
    span.attributes.extend([
        int("fusion.invocation.duration_us", invocation.duration_us),
        int("fusion.billed_duration_ms", invocation.billed_ms),
        int("fusion.init_duration_us", invocation.init_us),
        int("fusion.max_memory_used_mb", u64::from(invocation.max_memory_used_mb)),
        flag("fusion.out_of_memory", invocation.out_of_memory),
    ]);
}

/// A string attribute.
pub(crate) fn text(key: &str, value: &str) -> KeyValue {
    attribute(key, Value::StringValue(value.to_string()))
}

fn int(key: &str, value: u64) -> KeyValue {
    attribute(key, Value::IntValue(i64::try_from(value).unwrap_or(i64::MAX)))
}

fn flag(key: &str, value: bool) -> KeyValue {
    attribute(key, Value::BoolValue(value))
}

fn attribute(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(AnyValue { value: Some(value) }), ..KeyValue::default() }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use fusion_host::{CallMode, ErrorKind};

    /// A span of CS called by I (when `parent` is set), for this crate's tests.
    pub(crate) fn record(parent: Option<&str>, outside: Option<&str>, remote: bool) -> Span {
        Span {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "00f067aa0ba902b7".into(),
            parent_span: parent.map(Into::into),
            outside_parent: outside.map(Into::into),
            function: "I".into(),
            setup_version: 3,
            task: "CS".into(),
            caller: parent.map(|_| "I".into()),
            mode: CallMode::Async,
            remote,
            start_us: 1_700_000_000_000_000,
            duration_us: 1500,
            cpu_us: 700,
            calls_us: 0,
            called_together: Vec::new(),
            kv_ops: 0,
            kv_us: 0,
            memory_mb: 128,
            memory_used_kb: 0,
            cold_start: true,
            error: Some(ErrorKind::Timeout),
        }
    }

    fn value<'a>(span: &'a OtlpSpan, key: &str) -> Option<&'a Value> {
        span.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()?.value.as_ref())
    }

    #[test]
    fn a_fused_call_is_an_internal_child_and_a_remote_one_starts_a_server_span() {
        let fused = span(record(Some("1111111111111111"), None, false));
        assert_eq!((fused.kind, fused.parent_span_id.clone()), (SpanKind::Internal as i32, vec![0x11; 8]));
        assert_eq!((fused.trace_id.len(), fused.span_id.len()), (16, 8));
        assert_eq!(fused.end_time_unix_nano - fused.start_time_unix_nano, 1_500_000);
        assert_eq!(value(&fused, "faas.trigger"), None);
        let remote = span(record(Some("1111111111111111"), None, true));
        assert_eq!((remote.kind, value(&remote, "faas.trigger")), (SpanKind::Server as i32, Some(&Value::StringValue("other".into()))));
        assert_eq!(value(&remote, "faas.max_memory"), Some(&Value::IntValue(128 << 20)));
    }

    #[test]
    fn a_requests_first_span_has_the_outside_client_as_parent_and_errors_show() {
        let root = span(record(None, Some("2222222222222222"), false));
        assert_eq!((root.kind, root.parent_span_id.clone()), (SpanKind::Server as i32, vec![0x22; 8]));
        assert_eq!(root.status.as_ref().map(|s| s.code), Some(StatusCode::Error as i32));
        assert_eq!(value(&root, "error.type"), Some(&Value::StringValue("timeout".into())));
        let alone = span(record(None, None, false));
        assert!(alone.parent_span_id.is_empty(), "a trace's root has no parent");
    }
}
