//! `fusion bench`: Fusion's own measurements, each printed against a baseline from the same run.

use std::time::Duration;

use anyhow::Result;
use fusion_bench::languages::LanguageCosts;
use fusion_bench::refusion::{self, RefusionSpec};
use fusion_bench::{cold_start, languages, memory, throughput};
use fusion_host::platform::Platform;
use fusion_project::Project;

use crate::options::{Size, parse_duration};
use crate::output::{median, ms};

/// The benchmarks.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Requests per second one host serves for a trivial task over HTTP, against its /healthz.
    Throughput {
        /// How long each endpoint is measured.
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        duration: Duration,
        /// Requests kept in flight (one kept-alive connection each).
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// A function's host started from the store, to its first response: compiling its group,
    /// with the sealed artifacts from the store, and with them in its local cache.
    ColdStart {
        /// The setup the function's group comes from.
        #[arg(long, default_value = "fusionize-optimum")]
        setup: String,
        /// The function to start (IoT's CS runs CS, CSA and CSL under the optimum).
        #[arg(long, default_value = "CS")]
        function: String,
        /// Starts of each kind.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The test kit's echo task in Rust, Python and JavaScript: component size, compile time,
    /// cold start and a fused call, each as a ratio to Rust.
    Languages {
        /// Cold starts of each kind per language.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Fused calls per language.
        #[arg(long, default_value_t = 300)]
        calls: usize,
        /// MiB of each pool slot's memory kept mapped between uses (the host's flag).
        #[arg(long, default_value_t = (fusion_host::engine::KEEP_RESIDENT >> 20) as u64)]
        keep_resident_mb: u64,
    },
    /// What an execution environment holds: the test kit's echo task in Rust, Python and
    /// JavaScript under 1, 4 and 16 concurrent calls — the host process's resident memory beside
    /// the environment's peak as Fusion counts it against the memory size.
    Memory {
        /// Rounds of concurrent calls per language and concurrency.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// MiB of each pool slot's memory kept mapped between uses (the host's flag).
        #[arg(long, default_value_t = (fusion_host::engine::KEEP_RESIDENT >> 20) as u64)]
        keep_resident_mb: u64,
    },
    /// Hot swaps under a steady load: the setup changes every few seconds; reports how long each
    /// swap took to reach every host, failed requests, and requests that mixed setup versions.
    Refusion {
        /// Setups in the order they are applied; the cluster starts on the first.
        #[arg(long, value_delimiter = ',', default_value = "all-remote,fusionize-optimum,all-local,fusionize-optimum,all-remote")]
        setups: Vec<String>,
        /// How long each setup serves.
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        every: Duration,
        /// Requests per second.
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
    },
}

/// Builds the components, runs the benchmark and prints its table.
pub async fn run(project: &Project, command: Command) -> Result<()> {
    super::build::run(project).await?;
    match command {
        Command::Throughput { duration, connections } => {
            let t = throughput::measure(project, duration, connections).await?;
            println!("{connections} connections, {:.0} s each, one host, client on the same machine", duration.as_secs_f64());
            for (label, rates) in [("a fresh instance per execution (the default)", &t.fresh), ("instances reused (the task's opt-in)", &t.reused)] {
                println!("host with {label}");
                println!("  GET /healthz (HTTP stack only)     {:>9.0} req/s", rates.healthz);
                println!("  POST /v1/invoke/echo (signed call) {:>9.0} req/s  ({:.2}× /healthz)", rates.invoke, rates.invoke / rates.healthz);
            }
            println!("bare wasmtime host (wasmtime, wasmtime-wasi and axum; Fusion's engine configuration; a new instance per request)");
            println!("  GET /healthz (HTTP stack only)     {:>9.0} req/s", t.bare.healthz);
            println!("  POST / (unsigned call)             {:>9.0} req/s  ({:.2}× /healthz)", t.bare.invoke, t.bare.invoke / t.bare.healthz);
            println!("Fusion's signed call against the bare host's call: {:.2}× (fresh instances), {:.2}× (reused)", t.fresh.invoke / t.bare.invoke, t.reused.invoke / t.bare.invoke);
        }
        Command::ColdStart { setup, function, runs } => {
            let app = project.name();
            let starts = cold_start::measure(project, &setup, &function, runs.max(1), Size::Small.payload().as_bytes()).await?;
            println!("{app} · {setup} · function {function} runs {{{}}}: spawn → first response, median of {runs}", starts.group.join(","));
            let compile = median(&starts.compile);
            for (way, samples) in [("compiling its components", &starts.compile), ("sealed artifacts from the store", &starts.store_artifact), ("artifacts in its local cache", &starts.local_artifact)] {
                let m = median(samples);
                println!("  {way:<34} {:>7.1} ms  ({:.2}× compiling)", ms(m), m.as_secs_f64() / compile.as_secs_f64());
            }
        }
        Command::Languages { runs, calls, keep_resident_mb } => {
            print_languages(&languages::measure(project, runs.max(1), calls.max(1), (keep_resident_mb as usize) << 20).await?, runs, calls)
        }
        Command::Memory { rounds, keep_resident_mb } => {
            let rows = memory::measure(project, rounds, keep_resident_mb).await?;
            println!("the test kit's echo task, one host process per row (function at 128 MB, --keep-resident-mb {keep_resident_mb}), {rounds} rounds of concurrent calls; MB");
            println!("| language | concurrent calls | process RSS idle | process RSS peak | of it, mapped from artifacts | RSS growth per environment | environment peak (Fusion) | one store |");
            println!("|---|---|---|---|---|---|---|---|");
            for row in &rows {
                println!(
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.1} |",
                    row.language.name(),
                    row.concurrent,
                    row.idle_rss_mb,
                    row.peak_rss_mb,
                    row.code_rss_mb,
                    row.rss_per_environment_mb(),
                    row.environment_peak_mb,
                    row.store_mb
                );
            }
            println!("environment peak = the host's share ({} MB) + the stores an invocation holds at once", fusion_host::memory::HOST_SHARE >> 20);
        }
        Command::Refusion { setups, every, rate } => {
            let app = project.name();
            let dir = tempfile::tempdir()?;
            let spec = RefusionSpec { setups: &setups, every, rate, payload: Size::Small.payload().as_bytes().to_vec(), platform: Platform::RAW };
            let run = refusion::run(project, dir.path(), &spec).await?;
            println!("{app} at {rate} req/s, small work, setup switched every {:.1} s (starts on v{} {})", every.as_secs_f64(), run.first_version, setups[0]);
            for swap in &run.swaps {
                println!("  → v{:<3} {:<20} every host serves it {:>6.1} ms after the apply began", swap.version, swap.label, ms(swap.took));
            }
            let took: Vec<Duration> = run.swaps.iter().map(|s| s.took).collect();
            let failed = run.outcomes.iter().filter(|o| o.error.is_some()).count();
            let (m, start) = (ms(median(&took)), ms(run.cluster_start));
            println!("  swap: median {m:.1} ms, max {:.1} ms", ms(took.iter().max().copied().unwrap_or_default()));
            println!("  baseline: starting the cluster afresh (a redeploy) took {start:.0} ms; a swap takes {:.3}× that", m / start);
            println!("  requests: {} sent, {failed} failed, {} under more than one setup version", run.outcomes.len(), run.mixed_requests().len());
            let served: Vec<String> = run.requests_per_version().iter().map(|(v, n)| format!("v{v}: {n}")).collect();
            println!("  requests per version: {}", served.join(", "));
        }
    }
    Ok(())
}

/// One row per language, each figure followed by its ratio to Rust's (the first row).
fn print_languages(costs: &[LanguageCosts], runs: usize, calls: usize) {
    println!("the test kit's echo task; cold start: spawn → first response, median of {runs}; fused call: median of {calls}");
    let header = ["language", "component", "compile", "cold start, local artifact", "cold start, store artifact", "cold start, compiling", "fused call"];
    println!("| {} |", header.join(" | "));
    println!("|{}", header.iter().map(|h| format!("{:-<1$}|", "", h.len() + 2)).collect::<String>());
    let Some(rust) = costs.first() else { return };
    let figures = |c: &LanguageCosts| {
        [
            c.component_bytes as f64 / 1024.0,
            ms(c.compile),
            ms(median(&c.cold_starts.local_artifact)),
            ms(median(&c.cold_starts.store_artifact)),
            ms(median(&c.cold_starts.compile)),
            c.fused_call.as_secs_f64() * 1e6,
        ]
    };
    let base = figures(rust);
    for c in costs {
        let cells: Vec<String> = figures(c)
            .iter()
            .zip(&base)
            .zip(["KiB", "ms", "ms", "ms", "ms", "µs"])
            .map(|((value, base), unit)| format!("{value:.1} {unit} ({:.1}×)", value / base))
            .collect();
        println!("| {} | {} |", c.language.name(), cells.join(" | "));
    }
}
