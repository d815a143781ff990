//! The bounded queue of spans and the task that sends it to the collector in batches.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fusion_host::metrics::ExportCounters;
use fusion_host::telemetry::{Record, RecordSink};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};
use prost::Message;
use tokio::sync::Notify;

use crate::config::OtlpConfig;
use crate::convert;

/// A record sink that exports spans to an OTLP collector.
pub struct OtlpSink {
    shared: Arc<Shared>,
}

struct Shared {
    config: OtlpConfig,
    resource: Resource,
    client: reqwest::Client,
    counters: ExportCounters,
    /// Spans ready to send, oldest first; at most `config.max_queue`.
    queue: Mutex<Vec<OtlpSpan>>,
    /// Spans that started an invocation, waiting for its record (which ends after them); bounded
    /// like the queue.
    starting: Mutex<HashMap<Vec<u8>, OtlpSpan>>,
    /// Rung when a batch is full, to send it before the schedule delay.
    full: Notify,
    /// Whether the last export failed, so a dead collector is logged once, not per batch.
    failing: AtomicBool,
}

impl OtlpSink {
    /// Starts the exporter's background task on the current Tokio runtime. `function` names the
    /// resource (`faas.name`) when the host serves one function.
    pub fn start(config: OtlpConfig, function: Option<&str>, counters: ExportCounters) -> Arc<OtlpSink> {
        let mut attributes = vec![
            convert::text("service.name", &config.service_name),
            convert::text("telemetry.sdk.name", "fusion"),
            convert::text("telemetry.sdk.language", "rust"),
            convert::text("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ];
        attributes.extend(function.map(|f| convert::text("faas.name", f)));
        attributes.extend(config.resource.iter().map(|(k, v)| convert::text(k, v)));
        let shared = Arc::new(Shared {
            resource: Resource { attributes, ..Resource::default() },
            client: reqwest::Client::new(),
            counters,
            queue: Mutex::default(),
            starting: Mutex::default(),
            full: Notify::new(),
            failing: AtomicBool::new(false),
            config,
        });
        tokio::spawn(send_on_schedule(shared.clone()));
        Arc::new(OtlpSink { shared })
    }

    /// Sends everything queued now and waits for it: on Lambda, before the environment freezes.
    /// Spans still waiting for their invocation's record go with the next flush.
    pub async fn flush(&self) {
        while self.shared.send_batch().await {}
    }
}

impl RecordSink for OtlpSink {
    fn record(&self, record: Record) {
        let shared = &self.shared;
        match record {
            Record::Span(span) => {
                let starts = convert::starts_invocation(&span);
                let span = convert::span(span);
                if starts {
                    let mut starting = shared.starting.lock().unwrap();
                    if starting.len() < shared.config.max_queue {
                        starting.insert(span.span_id.clone(), span);
                        return;
                    }
                }
                shared.enqueue(span);
            }
            Record::Invocation(invocation) => {
                let id = hex::decode(&invocation.root_span).unwrap_or_default();
                let waiting = shared.starting.lock().unwrap().remove(&id);
                if let Some(mut span) = waiting {
                    convert::complete(&mut span, &invocation);
                    shared.enqueue(span);
                }
            }
        }
    }
}

impl Shared {
    fn enqueue(&self, span: OtlpSpan) {
        let mut queue = self.queue.lock().unwrap();
        if queue.len() >= self.config.max_queue {
            self.counters.dropped.inc();
            return;
        }
        queue.push(span);
        if queue.len() == self.config.max_batch {
            self.full.notify_one();
        }
    }

    /// Sends one batch; false when the queue was empty.
    async fn send_batch(&self) -> bool {
        let spans: Vec<OtlpSpan> = {
            let mut queue = self.queue.lock().unwrap();
            let n = queue.len().min(self.config.max_batch);
            queue.drain(..n).collect()
        };
        if spans.is_empty() {
            return false;
        }
        let count = spans.len() as u64;
        let scope = InstrumentationScope { name: "fusion-host".into(), version: env!("CARGO_PKG_VERSION").into(), ..InstrumentationScope::default() };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans { scope: Some(scope), spans, ..ScopeSpans::default() }],
                ..ResourceSpans::default()
            }],
        };
        let mut post = self.client.post(&self.config.traces_endpoint).header("content-type", "application/x-protobuf").timeout(self.config.timeout);
        for (name, value) in &self.config.headers {
            post = post.header(name, value);
        }
        let answer = post.body(request.encode_to_vec()).send().await;
        let failure = match answer {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("the collector answered {}", response.status())),
            Err(err) => Some(format!("{err}")),
        };
        match failure {
            None => {
                self.counters.exported.inc_by(count);
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("exporting spans to {} again", self.config.traces_endpoint);
                }
            }
            Some(why) => {
                self.counters.dropped.inc_by(count);
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!("{count} spans not exported to {} ({why}); dropping spans until it answers", self.config.traces_endpoint);
                }
            }
        }
        true
    }
}

/// Sends the queue every schedule delay, or as soon as a batch is full. It runs as long as the
/// host process: a host has one exporter.
async fn send_on_schedule(shared: Arc<Shared>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(shared.config.schedule_delay) => {}
            () = shared.full.notified() => {}
        }
        while shared.send_batch().await {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fusion_host::telemetry::Span;
    use std::time::Duration;

    fn fused_span(n: u64) -> Record {
        let span = crate::convert::tests::record(Some("00f067aa0ba902b7"), None, false);
        Record::Span(Span { span_id: format!("{n:016x}"), ..span })
    }

    #[tokio::test]
    async fn a_dead_collector_costs_counted_drops_and_the_queue_stays_bounded() {
        // Nothing listens on port 1 of loopback.
        let config = OtlpConfig {
            traces_endpoint: "http://127.0.0.1:1/v1/traces".into(),
            service_name: "test".into(),
            resource: Vec::new(),
            headers: Vec::new(),
            timeout: Duration::from_secs(2),
            schedule_delay: Duration::from_secs(3600),
            max_queue: 10,
            max_batch: 4,
        };
        let counters = ExportCounters::default();
        let sink = OtlpSink::start(config, Some("I"), counters.clone());
        for n in 1..=100 {
            sink.record(fused_span(n));
            assert!(sink.shared.queue.lock().unwrap().len() <= 10, "the queue holds at most OTEL_BSP_MAX_QUEUE_SIZE spans");
        }
        sink.flush().await;
        assert!(sink.shared.queue.lock().unwrap().is_empty());
        assert_eq!(counters.dropped.get() + counters.exported.get(), 100, "every span is accounted for");
        assert_eq!(counters.exported.get(), 0);
    }
}
