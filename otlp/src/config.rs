//! Where and how spans are exported, from OpenTelemetry's standard environment variables.

use std::time::Duration;

/// The exporter's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    /// The full URL spans are POSTed to.
    pub traces_endpoint: String,
    /// `service.name` of the exported resource.
    pub service_name: String,
    /// Further resource attributes (`OTEL_RESOURCE_ATTRIBUTES`).
    pub resource: Vec<(String, String)>,
    /// Extra request headers, e.g. an API key (`OTEL_EXPORTER_OTLP_HEADERS`).
    pub headers: Vec<(String, String)>,
    /// How long one export may take before its spans count as dropped.
    pub timeout: Duration,
    /// How long a span may wait in the queue before its batch is sent.
    pub schedule_delay: Duration,
    /// Spans queued at most; more are dropped.
    pub max_queue: usize,
    /// Spans per export request at most.
    pub max_batch: usize,
}

impl OtlpConfig {
    /// Reads the standard variables; `None` when no endpoint is set or export is switched off.
    ///
    /// - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (with
    ///   `/v1/traces` appended);
    /// - `OTEL_SERVICE_NAME` (default: `default_service`), `OTEL_RESOURCE_ATTRIBUTES`;
    /// - `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`, `OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT` (ms, 10 000);
    /// - `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`: only `http/protobuf` is spoken;
    /// - `OTEL_BSP_SCHEDULE_DELAY` (ms, 5 000), `OTEL_BSP_MAX_QUEUE_SIZE` (2 048),
    ///   `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (512);
    /// - `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true` switch export off.
    pub fn from_env(default_service: &str) -> Result<Option<OtlpConfig>, String> {
        OtlpConfig::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()), default_service)
    }

    fn from_lookup(var: impl Fn(&str) -> Option<String>, default_service: &str) -> Result<Option<OtlpConfig>, String> {
        let traces_or = |specific: &str, general: &str| var(specific).or_else(|| var(general));
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim() == "none") {
            return Ok(None);
        }
        let endpoint = match (var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), var("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(traces), _) => traces,
            (None, Some(base)) => format!("{}/v1/traces", base.trim_end_matches('/')),
            (None, None) => return Ok(None),
        };
        let endpoint = endpoint.trim().to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(format!("the OTLP endpoint '{endpoint}' is not an http:// or https:// URL"));
        }
        if let Some(protocol) = traces_or("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL").filter(|p| p.trim() != "http/protobuf") {
            return Err(format!("OTLP protocol '{protocol}' is not supported: Fusion exports with http/protobuf"));
        }
        let number = |name: &str, default: u64| -> Result<u64, String> {
            var(name).map_or(Ok(default), |v| v.trim().parse().map_err(|_| format!("{name}='{v}' is not a whole number")))
        };
        let timeout_ms = match var("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") {
            Some(_) => number("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", 10_000)?,
            None => number("OTEL_EXPORTER_OTLP_TIMEOUT", 10_000)?,
        };
        let max_queue = number("OTEL_BSP_MAX_QUEUE_SIZE", 2048)?.max(1) as usize;
        Ok(Some(OtlpConfig {
            traces_endpoint: endpoint,
            service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| default_service.to_string()),
            resource: pairs(&var("OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default()),
            headers: pairs(&traces_or("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS").unwrap_or_default()),
            timeout: Duration::from_millis(timeout_ms.max(1)),
            schedule_delay: Duration::from_millis(number("OTEL_BSP_SCHEDULE_DELAY", 5000)?),
            max_queue,
            max_batch: (number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)?.max(1) as usize).min(max_queue),
        }))
    }
}

/// `k1=v1,k2=v2` with percent-encoded values, as the OpenTelemetry variables write lists.
/// Members without `=` are skipped.
fn pairs(list: &str) -> Vec<(String, String)> {
    list.split(',').filter_map(|member| member.split_once('=')).map(|(k, v)| (k.trim().to_string(), percent_decoded(v.trim()))).filter(|(k, _)| !k.is_empty()).collect()
}

fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%').then(|| value.get(i + 1..i + 3)).flatten().and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Option<OtlpConfig>, String> {
        OtlpConfig::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()), "iot")
    }

    #[test]
    fn the_standard_variables_set_the_exporter_up() {
        assert_eq!(config(&[]), Ok(None), "no endpoint, no export");
        let base = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap().unwrap();
        assert_eq!((base.traces_endpoint.as_str(), base.service_name.as_str()), ("http://collector:4318/v1/traces", "iot"));
        assert_eq!((base.timeout, base.schedule_delay, base.max_queue, base.max_batch), (Duration::from_secs(10), Duration::from_secs(5), 2048, 512));
        let full = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces.example/otlp"),
            ("OTEL_SERVICE_NAME", "shop"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=a%2Cb"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "250"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!((full.traces_endpoint.as_str(), full.service_name.as_str()), ("https://traces.example/otlp", "shop"));
        assert_eq!(full.resource, vec![("deployment.environment".into(), "prod".into()), ("team".into(), "a,b".into())]);
        assert_eq!(full.headers, vec![("api-key".into(), "s=cret".into())]);
        assert_eq!((full.timeout, full.max_queue, full.max_batch), (Duration::from_millis(250), 100, 100));
    }

    #[test]
    fn export_can_be_switched_off_and_a_bad_setting_is_a_clear_error() {
        assert_eq!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_TRACES_EXPORTER", "none")]), Ok(None));
        assert_eq!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_SDK_DISABLED", "true")]), Ok(None));
        assert!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap_err().contains("http/protobuf"));
        assert!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")]).unwrap_err().contains("not an http"));
        assert!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_BSP_SCHEDULE_DELAY", "soon")]).unwrap_err().contains("OTEL_BSP_SCHEDULE_DELAY"));
    }
}
