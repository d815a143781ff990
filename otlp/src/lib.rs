//! Exports a host's spans to an OpenTelemetry collector over OTLP/HTTP with protobuf bodies, so a
//! request that crosses functions is one trace in Jaeger, Tempo or any OTLP backend.
//!
//! Configured by OpenTelemetry's standard variables ([`OtlpConfig::from_env`]). Records are turned
//! into OTLP spans as they are written and queued; a background task sends them in batches, off
//! the request path. The queue is bounded: a dead or slow collector costs dropped spans, counted
//! in `fusion_otlp_spans_dropped_total`, never a request or unbounded memory.

mod config;
mod convert;
mod exporter;

pub use config::OtlpConfig;
pub use exporter::OtlpSink;
