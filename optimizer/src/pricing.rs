//! Price models, kept in one table: the best grouping depends on the prices. A table is one of
//! Lambda's, by name, or a price file (TOML): a price per GB-second, a fee per request, the
//! granularity durations are billed in, and optionally Lambda-style monthly volume tiers.

use anyhow::{Result, ensure};
use fusion_host::telemetry::InvocationRecord;
use serde::Deserialize;

/// One platform's prices: billed duration by memory size, plus a fee per request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    /// Dollars per GB-second of billed duration (1 GB = 1024 MB): with volume tiers, the price of
    /// the tier the account's monthly volume is in.
    pub per_gb_second: f64,
    /// Dollars per invocation.
    pub per_request: f64,
    /// An invocation is billed every started period of this many ms, at least one: 1 on Lambda
    /// since December 2020, 100 before.
    pub granularity_ms: u64,
}

impl Pricing {
    /// AWS Lambda on x86_64 below 6 billion GB-s a month (billed per 1 ms; the init phase is
    /// billed since August 2025).
    pub const LAMBDA_X86: Pricing = Pricing { per_gb_second: 0.000_016_666_7, per_request: 0.20e-6, granularity_ms: 1 };
    /// AWS Lambda on arm64 (Graviton) below 7.5 billion GB-s a month: the GB-second 20% cheaper,
    /// the same request fee.
    pub const LAMBDA_ARM64: Pricing = Pricing { per_gb_second: 0.000_013_333_4, per_request: 0.20e-6, granularity_ms: 1 };
    /// Every built-in price table with its name on the command line.
    pub const NAMED: [(&'static str, Pricing); 2] = [("lambda-x86", Pricing::LAMBDA_X86), ("lambda-arm64", Pricing::LAMBDA_ARM64)];

    /// The table a price file states, checked. Tiers are priced at the margin: each says from how
    /// many GB-seconds a month on its price applies, and `monthly_gb_seconds` (the account's
    /// volume, which Lambda's tiers count, not only this app's) picks the one the app's
    /// GB-seconds are billed at, so what the model saves by a change is what the bill saves.
    pub fn from_toml(text: &str) -> Result<Pricing> {
        let file: PriceFile = toml::from_str(text)?;
        let price = |field: &str, dollars: f64| -> Result<f64> {
            ensure!(dollars.is_finite() && dollars >= 0.0, "{field} must be a price in dollars, 0 or more, not {dollars}");
            Ok(dollars)
        };
        let mut pricing = Pricing { per_gb_second: price("per_gb_second", file.per_gb_second)?, per_request: price("per_request", file.per_request)?, granularity_ms: file.granularity_ms };
        ensure!(pricing.granularity_ms >= 1, "granularity_ms must be at least 1 (Lambda bills every started 1 ms)");
        let volume = file.monthly_gb_seconds.unwrap_or(0.0);
        ensure!(volume.is_finite() && volume >= 0.0, "monthly_gb_seconds must be 0 or more, not {volume}");
        ensure!(file.tiers.is_empty() || file.monthly_gb_seconds.is_some(), "tiers need monthly_gb_seconds, the account's GB-seconds a month, to pick the tier it is billed at");
        let mut below = 0.0;
        for (i, tier) in file.tiers.iter().enumerate() {
            let per_gb_second = price(&format!("tiers[{i}].per_gb_second"), tier.per_gb_second)?;
            ensure!(tier.from_gb_seconds > below && tier.from_gb_seconds.is_finite(), "tiers[{i}].from_gb_seconds must be above {below} (per_gb_second covers from 0, each tier starts above the one before), not {}", tier.from_gb_seconds);
            below = tier.from_gb_seconds;
            if volume >= tier.from_gb_seconds {
                pricing.per_gb_second = per_gb_second;
            }
        }
        Ok(pricing)
    }

    /// The duration billed for an invocation that lasted `duration_ms`: every started period of
    /// the granularity, at least one.
    pub fn billed_ms(&self, duration_ms: f64) -> f64 {
        let granularity = self.granularity_ms as f64;
        (duration_ms / granularity).ceil().max(1.0) * granularity
    }

    /// What an invocation that lasted `duration_ms` at `memory_mb` costs: its billed duration at
    /// its memory size, plus the request fee.
    pub fn cost(&self, duration_ms: f64, memory_mb: u32) -> f64 {
        self.billed_ms(duration_ms) / 1000.0 * memory_mb as f64 / 1024.0 * self.per_gb_second + self.per_request
    }

    /// What `duration_ms` more of an invocation at `memory_mb` costs, not rounded to the billing
    /// period: for an expected duration (a cold start's init times its probability), which
    /// rounding up would turn into a whole period.
    pub fn duration_cost(&self, duration_ms: f64, memory_mb: u32) -> f64 {
        duration_ms / 1000.0 * memory_mb as f64 / 1024.0 * self.per_gb_second
    }

    /// What one recorded invocation costs. A sync caller waiting on a remote callee is billed for
    /// the wait too (double billing): its invocation simply lasts that long.
    pub fn invocation(&self, inv: &InvocationRecord) -> f64 {
        self.cost(inv.duration_us as f64 / 1000.0, inv.memory_mb)
    }
}

impl std::str::FromStr for Pricing {
    type Err = String;

    fn from_str(name: &str) -> Result<Pricing, String> {
        fusion_host::named::parse(&Pricing::NAMED, "price model", name)
    }
}

/// A price file as written: [`Pricing`]'s fields, plus the volume tiers and the volume that
/// picks one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    per_gb_second: f64,
    per_request: f64,
    granularity_ms: u64,
    #[serde(default)]
    tiers: Vec<Tier>,
    monthly_gb_seconds: Option<f64>,
}

/// From `from_gb_seconds` GB-seconds a month on, a GB-second costs `per_gb_second`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tier {
    from_gb_seconds: f64,
    per_gb_second: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(duration_us: u64) -> InvocationRecord {
        InvocationRecord {
            trace_id: "t".into(),
            function: "F".into(),
            setup_version: 0,
            root_span: "s".into(),
            start_us: 0,
            init_us: 0,
            response_us: duration_us,
            duration_us,
            billed_ms: fusion_host::telemetry::billed_ms(duration_us),
            memory_mb: 1024,
            max_memory_used_mb: 0,
            out_of_memory: false,
            process_max_rss_mb: 0,
            cold_start: false,
        }
    }

    #[test]
    fn one_second_at_one_gb_costs_the_gb_second_price_plus_the_request() {
        let inv = invocation(1_000_000);
        let cost = Pricing::LAMBDA_X86.invocation(&inv);
        assert!((cost - (0.000_016_666_7 + 0.000_000_2)).abs() < 1e-12, "{cost}");
        assert!(Pricing::LAMBDA_ARM64.invocation(&inv) < cost);
    }

    #[test]
    fn durations_are_billed_in_whole_periods_of_the_granularity() {
        let per_100_ms = Pricing { granularity_ms: 100, ..Pricing::LAMBDA_X86 };
        assert_eq!(per_100_ms.billed_ms(101.0), 200.0, "101 ms bills two periods");
        assert_eq!((per_100_ms.billed_ms(100.0), per_100_ms.billed_ms(0.0)), (100.0, 100.0), "a whole period, and at least one");
        let ms = |pricing: Pricing, duration_us| (pricing.invocation(&invocation(duration_us)) - pricing.per_request) / pricing.per_gb_second * 1000.0;
        assert!((ms(per_100_ms, 101_000) - 200.0).abs() < 1e-9, "{}", ms(per_100_ms, 101_000));
        // Per 1 ms, what the host recorded as billed.
        for duration_us in [0, 1, 999, 1000, 1001, 101_000, 899_999_999] {
            let billed = invocation(duration_us).billed_ms as f64;
            assert_eq!(Pricing::LAMBDA_X86.billed_ms(duration_us as f64 / 1000.0), billed, "{duration_us} µs");
        }
    }

    const LAMBDA_X86: &str = "per_gb_second = 0.0000166667\nper_request = 0.0000002\ngranularity_ms = 1\n";

    #[test]
    fn a_price_file_states_the_same_table_as_the_built_in_one() {
        assert_eq!(Pricing::from_toml(LAMBDA_X86).unwrap(), Pricing::LAMBDA_X86);
        assert_eq!("lambda-arm64".parse(), Ok(Pricing::LAMBDA_ARM64));
        assert_eq!("lambda".parse::<Pricing>(), Err("unknown price model 'lambda' (lambda-x86, lambda-arm64)".to_string()));
    }

    #[test]
    fn the_monthly_volume_picks_the_tier() {
        let at = |volume: &str| {
            let tiers = "[[tiers]]\nfrom_gb_seconds = 6e9\nper_gb_second = 0.000015\n[[tiers]]\nfrom_gb_seconds = 15_000_000_000\nper_gb_second = 0.0000133334\n";
            Pricing::from_toml(&format!("{LAMBDA_X86}monthly_gb_seconds = {volume}\n{tiers}")).unwrap().per_gb_second
        };
        assert_eq!([at("0"), at("5.9e9"), at("6e9"), at("14e9"), at("2e10")], [0.000_016_666_7, 0.000_016_666_7, 0.000_015, 0.000_015, 0.000_013_333_4]);
        let example = Pricing::from_toml(include_str!("../../docs/pricing-example.toml")).unwrap();
        assert_eq!(example, Pricing { per_gb_second: 0.000_015, ..Pricing::LAMBDA_X86 }, "the example in the docs: 8 billion GB-s a month");
    }

    #[test]
    fn a_bad_price_file_is_refused_with_what_is_wrong() {
        let refused = |text: &str| format!("{:#}", Pricing::from_toml(text).unwrap_err());
        let without_fee = LAMBDA_X86.replace("per_request = 0.0000002\n", "");
        assert!(refused(&without_fee).contains("missing field `per_request`"), "{}", refused(&without_fee));
        let negative = LAMBDA_X86.replace("0.0000166667", "-0.0000166667");
        assert!(refused(&negative).contains("per_gb_second must be a price in dollars, 0 or more, not -0.0000166667"), "{}", refused(&negative));
        let free_nan = LAMBDA_X86.replace("0.0000002", "nan");
        assert!(refused(&free_nan).contains("per_request must be a price"), "{}", refused(&free_nan));
        let never_billed = LAMBDA_X86.replace("granularity_ms = 1", "granularity_ms = 0");
        assert!(refused(&never_billed).contains("granularity_ms must be at least 1"), "{}", refused(&never_billed));
        let fractional = LAMBDA_X86.replace("granularity_ms = 1", "granularity_ms = 0.5");
        assert!(refused(&fractional).contains("granularity_ms"), "{}", refused(&fractional));
        let typo = format!("{LAMBDA_X86}monthly_gb_second = 1e9\n");
        assert!(refused(&typo).contains("unknown field `monthly_gb_second`"), "{}", refused(&typo));
        let tier = |from: &str| format!("[[tiers]]\nfrom_gb_seconds = {from}\nper_gb_second = 0.000015\n");
        let no_volume = format!("{LAMBDA_X86}{}", tier("6e9"));
        assert!(refused(&no_volume).contains("tiers need monthly_gb_seconds"), "{}", refused(&no_volume));
        let falling = format!("{LAMBDA_X86}monthly_gb_seconds = 1\n{}{}", tier("6e9"), tier("5e9"));
        assert!(refused(&falling).contains("tiers[1].from_gb_seconds must be above 6000000000"), "{}", refused(&falling));
        let from_zero = format!("{LAMBDA_X86}monthly_gb_seconds = 1\n{}", tier("0"));
        assert!(refused(&from_zero).contains("tiers[0].from_gb_seconds must be above 0"), "{}", refused(&from_zero));
        assert!(refused("per_gb_second = ").contains("TOML parse error"), "{}", refused("per_gb_second = "));
    }
}
