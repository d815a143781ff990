//! The Prometheus metrics of a function host, served at `/metrics` in the OpenMetrics text format:
//! latency histograms per function and per task, calls by outcome and error kind, cold starts,
//! billed time, the work in flight and the setup served. Task and invocation metrics are read off
//! the telemetry records as they are written (the host records every execution anyway), so they
//! agree with what the optimizer learns from; the gauges are read at scrape time.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::error::ErrorKind;
use crate::function::FunctionHost;
use crate::telemetry::{Record, RecordSink};

/// Bucket bounds of every latency histogram, in seconds: Prometheus' default buckets (5 ms to
/// 10 s) with finer ones below for fused calls, which take micro- to milliseconds, and coarser
/// ones above up to a minute.
pub const LATENCY_BUCKETS: [f64; 18] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// How a call that reached the host's HTTP front-end ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A sync call answered with its result.
    Ok,
    /// An async call accepted.
    Accepted,
    /// A sync call that failed once running.
    Failed,
    /// Refused before running: unauthenticated, malformed, too large, too slow.
    Refused,
    /// Refused at the concurrency limit.
    Throttled,
}

impl Outcome {
    /// The outcome's label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Accepted => "accepted",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::Throttled => "throttled",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    function: String,
    outcome: &'static str,
    error_kind: Option<&'static str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    function: String,
    task: String,
    mode: &'static str,
    remote: bool,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExecutionLabels {
    function: String,
    task: String,
    error_kind: Option<&'static str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabel {
    function: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn histograms<L: Clone + std::hash::Hash + Eq>() -> Histograms<L> {
    Family::new_with_constructor(latency_histogram)
}

/// Bucket bounds of the memory histogram, in bytes: Lambda's memory sizes from 128 MB to 10 GB.
pub const MEMORY_BUCKETS: [f64; 9] = [
    (32u64 << 20) as f64,
    (64u64 << 20) as f64,
    (128u64 << 20) as f64,
    (256u64 << 20) as f64,
    (512u64 << 20) as f64,
    (1024u64 << 20) as f64,
    (2048u64 << 20) as f64,
    (4096u64 << 20) as f64,
    (10240u64 << 20) as f64,
];

fn memory_histogram() -> Histogram {
    Histogram::new(MEMORY_BUCKETS)
}

/// Counts of the spans a host sends to an OpenTelemetry collector (`fusion-otlp`).
#[derive(Clone, Default)]
pub struct ExportCounters {
    /// Spans the collector took.
    pub exported: Counter,
    /// Spans dropped: the queue was full, or the collector failed or did not answer in time.
    pub dropped: Counter,
}

/// The metrics of one host process.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    task_duration: Histograms<TaskLabels>,
    executions: Family<ExecutionLabels, Counter>,
    invocation_duration: Histograms<FunctionLabel>,
    init_duration: Histograms<FunctionLabel>,
    cold_starts: Family<FunctionLabel, Counter>,
    billed: Family<FunctionLabel, Counter<f64, AtomicU64>>,
    memory_used: Histograms<FunctionLabel>,
    out_of_memory: Family<FunctionLabel, Counter>,
    process_max_rss: Family<FunctionLabel, Gauge>,
    in_flight: Family<FunctionLabel, Gauge>,
    running: Family<FunctionLabel, Gauge>,
    queued: Family<FunctionLabel, Gauge>,
    setup_version: Family<FunctionLabel, Gauge>,
    export: ExportCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric registered, at zero.
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::default(),
            calls: Family::default(),
            task_duration: histograms(),
            executions: Family::default(),
            invocation_duration: histograms(),
            init_duration: histograms(),
            cold_starts: Family::default(),
            billed: Family::default(),
            memory_used: Family::new_with_constructor(memory_histogram),
            out_of_memory: Family::default(),
            process_max_rss: Family::default(),
            in_flight: Family::default(),
            running: Family::default(),
            queued: Family::default(),
            setup_version: Family::default(),
            export: ExportCounters::default(),
        };
        let r = &mut metrics.registry;
        r.register("fusion_calls", "Calls that reached the function's HTTP front-end, by outcome and error kind", metrics.calls.clone());
        r.register_with_unit("fusion_task_duration", "Wall time of task executions, calls and waits included", Unit::Seconds, metrics.task_duration.clone());
        r.register("fusion_task_executions", "Task executions, by the kind of error they ended with (none: a result)", metrics.executions.clone());
        r.register_with_unit(
            "fusion_invocation_duration",
            "Wall time of invocations, from arrival until their last local work ended (what Lambda bills)",
            Unit::Seconds,
            metrics.invocation_duration.clone(),
        );
        r.register_with_unit("fusion_init_duration", "Time cold starts spent starting an execution environment", Unit::Seconds, metrics.init_duration.clone());
        r.register("fusion_cold_starts", "Invocations that started a new execution environment", metrics.cold_starts.clone());
        r.register_with_unit("fusion_billed_duration", "Billed time of invocations, whole milliseconds as Lambda bills", Unit::Seconds, metrics.billed.clone());
        r.register_with_unit(
            "fusion_memory_used",
            "The most memory an environment used per invocation, the host's share included (Lambda's Max Memory Used)",
            Unit::Bytes,
            metrics.memory_used.clone(),
        );
        r.register("fusion_out_of_memory", "Invocations that failed because their environment ran out of memory", metrics.out_of_memory.clone());
        r.register_with_unit("fusion_process_max_resident_memory", "The host process's peak resident memory", Unit::Bytes, metrics.process_max_rss.clone());
        r.register("fusion_invocations_in_flight", "Invocations not yet ended, async work included", metrics.in_flight.clone());
        r.register("fusion_invocations_running", "Invocations holding a slot of the concurrency limit", metrics.running.clone());
        r.register("fusion_async_queued", "Accepted async calls waiting for a slot", metrics.queued.clone());
        r.register("fusion_setup_version", "The version of the fusion setup the function serves", metrics.setup_version.clone());
        r.register("fusion_otlp_spans_exported", "Spans an OpenTelemetry collector took", metrics.export.exported.clone());
        r.register("fusion_otlp_spans_dropped", "Spans not exported: queue full, collector failed or slow", metrics.export.dropped.clone());
        metrics
    }

    /// The counters an OTLP exporter updates.
    pub fn export_counters(&self) -> ExportCounters {
        self.export.clone()
    }

    /// Counts a call of `function` that ended with `outcome` (and `error`, for a failure).
    pub fn count_call(&self, function: &str, outcome: Outcome, error: Option<ErrorKind>) {
        self.calls.get_or_create(&CallLabels { function: function.to_string(), outcome: outcome.as_str(), error_kind: error.map(ErrorKind::as_str) }).inc();
    }

    /// The text `/metrics` answers with, its gauges read from `host` now.
    pub fn encode(&self, host: &FunctionHost) -> String {
        let function = FunctionLabel { function: host.name.clone() };
        self.in_flight.get_or_create(&function).set(host.work().len() as i64);
        self.running.get_or_create(&function).set(host.admission().running() as i64);
        self.queued.get_or_create(&function).set(host.admission().queued() as i64);
        self.setup_version.get_or_create(&function).set(host.routers().current().setup.version as i64);
        self.process_max_rss.get_or_create(&function).set(i64::from(crate::memory::process_max_rss_mb()) << 20);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl RecordSink for Metrics {
    fn record(&self, record: Record) {
        let seconds = |us: u64| us as f64 / 1e6;
        match record {
            Record::Span(span) => {
                let task = TaskLabels { function: span.function.clone(), task: span.task.clone(), mode: span.mode.as_str(), remote: span.remote };
                self.task_duration.get_or_create(&task).observe(seconds(span.duration_us));
                let execution = ExecutionLabels { function: span.function, task: span.task, error_kind: span.error.map(ErrorKind::as_str) };
                self.executions.get_or_create(&execution).inc();
            }
            Record::Invocation(invocation) => {
                let function = FunctionLabel { function: invocation.function };
                self.invocation_duration.get_or_create(&function).observe(seconds(invocation.duration_us));
                self.billed.get_or_create(&function).inc_by(invocation.billed_ms as f64 / 1e3);
                self.memory_used.get_or_create(&function).observe((u64::from(invocation.max_memory_used_mb) << 20) as f64);
                if invocation.out_of_memory {
                    self.out_of_memory.get_or_create(&function).inc();
                }
                if invocation.cold_start {
                    self.cold_starts.get_or_create(&function).inc();
                    self.init_duration.get_or_create(&function).observe(seconds(invocation.init_us));
                }
            }
        }
    }
}
