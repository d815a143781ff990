//! Option groups shared by several commands, defined once and flattened into each.

use std::time::Duration;

use clap::{Args, ValueEnum};
use fusion_host::platform::Platform;
use fusion_measure::load::{LoadSpec, Profile};
use fusion_measure::mix::Mix;
use fusion_measure::mix::read_bounded;
use fusion_optimizer::pricing::Pricing;

/// `--no-build`.
#[derive(Args, Debug, Clone, Copy)]
pub struct BuildArg {
    /// Use the components as they are instead of building first.
    #[arg(long)]
    pub no_build: bool,
}

/// `--pricing`.
#[derive(Args, Debug, Clone, Copy)]
pub struct PricingArg {
    /// Price model: lambda-x86, lambda-arm64, or a price file (TOML: per_gb_second, per_request,
    /// granularity_ms, optional tiers and monthly_gb_seconds; see docs/cli.md).
    #[arg(long, default_value = "lambda-x86", value_name = "lambda-x86|lambda-arm64|FILE", value_parser = parse_pricing)]
    pub pricing: Pricing,
}

/// `--platform`, for commands that start hosts.
#[derive(Args, Debug, Clone, Copy)]
pub struct PlatformArg {
    /// raw: Fusion's own overheads only; lambda: adds Lambda's hop and init delays.
    #[arg(long, default_value = "raw")]
    pub platform: Platform,
}

/// Work sizes of the reference apps' requests.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Size {
    /// The paper's work sizes.
    Paper,
    /// The paper's waits, a tenth of its CPU work (burn(5) for burn(7)): the reference workloads
    /// at 10 req/s then fit a 2-core machine.
    Scaled,
    /// Tiny work, for a quick look.
    Small,
}

impl Size {
    /// The request body that asks for these sizes.
    pub fn payload(self) -> &'static str {
        match self {
            Size::Paper => "{}",
            Size::Scaled => r#"{"work":{"burn":5.0}}"#,
            Size::Small => r#"{"work":{"burn":2.0,"sieve":10000,"db_ms":1,"sleep_ms":5}}"#,
        }
    }
}

/// `--size` and `--payload`: what each request carries.
#[derive(Args, Debug, Clone)]
pub struct PayloadArgs {
    /// Work sizes of the reference apps: the paper's, a tenth of its CPU work, or small ones.
    #[arg(long, value_enum, default_value_t = Size::Scaled)]
    pub size: Size,
    /// The request body: JSON, or @FILE to read it from a file; overrides --size.
    #[arg(long, value_name = "JSON|@FILE")]
    pub payload: Option<String>,
}

impl PayloadArgs {
    /// The request body, checked to be JSON.
    pub fn body(&self) -> anyhow::Result<Vec<u8>> {
        let payload = match self.payload.as_deref() {
            Some(file) if file.starts_with('@') => read_bounded(std::path::Path::new(&file[1..]))?,
            Some(json) => json.to_string(),
            None => self.size.payload().to_string(),
        };
        serde_json::from_str::<serde_json::Value>(&payload).map_err(|e| anyhow::anyhow!("--payload is not valid JSON: {e}"))?;
        Ok(payload.into_bytes())
    }
}

/// `--rate`, `--duration`, `--size`: the steady load a measuring command drives itself.
#[derive(Args, Debug, Clone)]
pub struct SteadyLoadArgs {
    /// Requests per second.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Length of each measurement: 30s, 2m, 500ms (default: 10s; the demo: 8s).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Work sizes of each request.
    #[arg(long, value_enum, default_value_t = Size::Scaled)]
    pub size: Size,
    /// Replay a weighted mix of requests instead (as `fusion load --mix`): a JSON file
    /// `[{"weight": 8, "payload": {...}}, ...]`.
    #[arg(long, value_name = "FILE")]
    pub mix: Option<std::path::PathBuf>,
}

impl SteadyLoadArgs {
    /// The load as the measuring library takes it; `duration` unless one was given.
    pub fn spec(&self, duration: Duration) -> anyhow::Result<LoadSpec> {
        anyhow::ensure!(self.rate > 0.0, "--rate must be positive");
        let duration = self.duration.unwrap_or(duration);
        let payload = match &self.mix {
            Some(file) => Mix::load(file)?,
            None => self.size.payload().into(),
        };
        Ok(LoadSpec { rate: self.rate, duration, profile: Profile::Steady, payload })
    }
}

/// A duration like `30s`, `2m` or `500ms` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().map_err(|_| format!("'{text}' is not a duration like 30s, 2m or 500ms"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => return Err(format!("unknown unit '{unit}' in '{text}' (ms, s, m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// A request rate: a positive number of requests per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("'{text}' is not a rate: a positive number of requests per second")),
    }
}

/// A built-in price table by name, else a price file; a name wins over a file of the same name.
fn parse_pricing(text: &str) -> Result<Pricing, String> {
    text.parse().or_else(|unknown| {
        let path = std::path::Path::new(text);
        if !path.exists() {
            return Err(format!("{unknown}, and no price file of that name"));
        }
        read_bounded(path).and_then(|toml| Pricing::from_toml(&toml)).map_err(|e| format!("price file {text}: {e:#}"))
    })
}
