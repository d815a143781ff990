//! Price models, kept in one table: the best grouping depends on the prices.

use fusion_host::telemetry::InvocationRecord;

/// One platform's prices: billed duration by memory size, plus a fee per request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    /// What the table is picked by (`lambda-x86`, `lambda-arm64`).
    pub name: &'static str,
    /// Dollars per GB-second of billed duration (1 GB = 1024 MB).
    pub per_gb_second: f64,
    /// Dollars per invocation.
    pub per_request: f64,
}

impl Pricing {
    /// AWS Lambda on x86_64 (billed per 1 ms; the init phase is billed since August 2025).
    pub const LAMBDA_X86: Pricing = Pricing { name: "lambda-x86", per_gb_second: 0.000_016_666_7, per_request: 0.20e-6 };
    /// AWS Lambda on arm64 (Graviton): the GB-second 20% cheaper, the same request fee.
    pub const LAMBDA_ARM64: Pricing = Pricing { name: "lambda-arm64", per_gb_second: 0.000_013_333_4, per_request: 0.20e-6 };
    /// Every price table, for lookup by name.
    pub const ALL: [Pricing; 2] = [Pricing::LAMBDA_X86, Pricing::LAMBDA_ARM64];

    /// The price table called `name`, if there is one.
    pub fn named(name: &str) -> Option<Pricing> {
        Self::ALL.into_iter().find(|p| p.name == name)
    }

    /// What one invocation costs: its billed duration at its memory size, plus the request fee.
    /// A sync caller waiting on a remote callee is billed for the wait too (double billing):
    /// its invocation simply lasts that long.
    pub fn invocation(&self, inv: &InvocationRecord) -> f64 {
        let gb_seconds = inv.billed_ms as f64 / 1000.0 * inv.memory_mb as f64 / 1024.0;
        gb_seconds * self.per_gb_second + self.per_request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_at_one_gb_costs_the_gb_second_price_plus_the_request() {
        let inv = InvocationRecord {
            trace_id: "t".into(),
            function: "F".into(),
            setup_version: 0,
            root_span: "s".into(),
            start_us: 0,
            init_us: 0,
            response_us: 1_000_000,
            duration_us: 1_000_000,
            billed_ms: 1000,
            memory_mb: 1024,
            max_memory_used_mb: 0,
            out_of_memory: false,
            process_max_rss_mb: 0,
            cold_start: false,
        };
        let cost = Pricing::LAMBDA_X86.invocation(&inv);
        assert!((cost - (0.000_016_666_7 + 0.000_000_2)).abs() < 1e-12, "{cost}");
        assert!(Pricing::LAMBDA_ARM64.invocation(&inv) < cost);
    }
}
