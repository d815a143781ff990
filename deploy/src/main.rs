//! The `fusion` command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use fusion_deploy::cluster::{ClusterState, LocalCluster};
use fusion_deploy::loadgen::{self, LoadSpec, Profile};
use fusion_deploy::pricing::Pricing;
use fusion_deploy::report::{self, LoadResult};
use fusion_deploy::stats::Summary;
use fusion_deploy::demo::{self, DemoSpec};
use fusion_deploy::optimize::{self, Strategy};
use fusion_deploy::refusion::{self, RefusionSpec};
use fusion_optimizer::search::{Goal, Objective};
use fusion_deploy::aws::{self, package::Arch};
use fusion_deploy::{Workspace, builder, calltree, cold_start, extract, languages, local_store, runner, store_commands, throughput};
use fusion_host::AppManifest;
use fusion_host::platform::Platform;

#[derive(Parser)]
#[command(name = "fusion", version, about = "Run serverless applications as WebAssembly components and fuse them automatically")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every task into a wasm32-wasip2 component (installs the target if missing).
    Build,
    /// Run requests against an application in one process and print latencies and a call tree.
    Run {
        /// Application: iot, tree, webshop (a folder of tasks/ with an app.json).
        #[arg(long, default_value = "iot")]
        app: String,
        /// all-remote, all-local, a setup shipped with the app (e.g. fusionize-optimum) or a JSON file.
        #[arg(long, default_value = "all-local")]
        setup: String,
        #[arg(long, default_value_t = 10)]
        requests: usize,
        /// Work sizes: the paper's, or small ones for a quick look.
        #[arg(long, value_enum, default_value_t = Size::Scaled)]
        size: Size,
        /// Request payload (JSON); overrides --size.
        #[arg(long)]
        payload: Option<String>,
        /// Use the components as they are instead of building first.
        #[arg(long)]
        no_build: bool,
    },
    /// Start a local cluster: one host process per function on loopback; Ctrl-C stops it.
    Up {
        #[arg(long, default_value = "iot")]
        app: String,
        /// all-remote, all-local, a setup shipped with the app or a JSON file.
        #[arg(long, default_value = "all-remote")]
        setup: String,
        /// raw: Fusion's own overheads only; lambda: adds Lambda's hop and init delays.
        #[arg(long, default_value = "raw")]
        platform: String,
        #[arg(long)]
        no_build: bool,
    },
    /// Send an open-loop workload to the app's running cluster (or to a fresh cluster per
    /// setup), then report latency, cost, invocations and cold starts per request.
    Load {
        #[arg(long, default_value = "iot")]
        app: String,
        /// Setups to measure, comma-separated, each on a fresh cluster. Without it, the running
        /// `fusion up` cluster of the app is used, or all-remote.
        #[arg(long, value_delimiter = ',')]
        setup: Vec<String>,
        /// Requests per second (the peak rate for the bursty profile).
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// How long to send: 30s, 2m, 500ms.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        duration: Duration,
        #[arg(long, value_enum, default_value_t = Profile::Steady)]
        profile: Profile,
        #[arg(long, default_value = "raw")]
        platform: String,
        #[arg(long, value_enum, default_value_t = Size::Scaled)]
        size: Size,
        #[arg(long)]
        payload: Option<String>,
        /// Price model: lambda-x86 or lambda-arm64.
        #[arg(long, default_value = "lambda-x86", value_parser = parse_pricing)]
        pricing: Pricing,
        #[arg(long)]
        no_build: bool,
    },
    /// Propose the next fusion setup from the app's measured telemetry (its last cluster): the
    /// model's pick and predicted Pareto front, or Fusionize++'s next step; --apply makes it
    /// current and hot-swaps a running cluster.
    Optimize {
        #[arg(long, default_value = "iot")]
        app: String,
        #[arg(long, value_enum, default_value_t = Strategy::Model)]
        strategy: Strategy,
        #[arg(long, value_enum, default_value_t = Objective::Balanced)]
        objective: Objective,
        /// Only setups predicted to meet this median latency, ms.
        #[arg(long)]
        latency_slo: Option<f64>,
        /// The setup version to profile (default: the newest in the telemetry).
        #[arg(long)]
        version: Option<u64>,
        /// The platform whose hop costs the model assumes (default: the cluster's).
        #[arg(long)]
        platform: Option<String>,
        #[arg(long, default_value = "lambda-x86", value_parser = parse_pricing)]
        pricing: Pricing,
        #[arg(long)]
        apply: bool,
        /// Close the loop on the running cluster: measure, optimize, hot-swap, measure again,
        /// until nothing improves.
        #[arg(long = "loop")]
        run_loop: bool,
        /// Measure every setup on the predicted Pareto front on the running cluster, to compare
        /// the pick with the measured optimum.
        #[arg(long, conflicts_with = "run_loop")]
        validate: bool,
        /// With --validate: every grouping the search tried, not only the front.
        #[arg(long, requires = "validate")]
        every: bool,
        /// The loop's workload per measurement.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        duration: Duration,
        #[arg(long, value_enum, default_value_t = Size::Scaled)]
        size: Size,
        #[arg(long, default_value_t = 20)]
        max_iterations: usize,
    },
    /// The main demo: per app, a cluster on the embedded store starts all-remote and the
    /// optimizer loop measures, optimizes and hot-swaps until nothing improves; prints a table
    /// per iteration and writes an HTML report.
    Demo {
        #[arg(long, value_delimiter = ',', default_value = "iot,tree")]
        apps: Vec<String>,
        #[arg(long, default_value = "lambda")]
        platform: String,
        #[arg(long, value_enum, default_value_t = Objective::Balanced)]
        objective: Objective,
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Measurement length per iteration.
        #[arg(long, default_value = "8s", value_parser = parse_duration)]
        duration: Duration,
        #[arg(long, value_enum, default_value_t = Size::Scaled)]
        size: Size,
        #[arg(long, default_value_t = 5)]
        max_iterations: usize,
        #[arg(long, default_value = "lambda-x86", value_parser = parse_pricing)]
        pricing: Pricing,
        /// Where the HTML report goes (default: target/fusion/demo.html).
        #[arg(long)]
        report: Option<PathBuf>,
        #[arg(long)]
        no_build: bool,
    },
    /// Upload the built components of an app to the store (unchanged ones are skipped).
    Push {
        #[arg(long, default_value = "iot")]
        app: String,
        #[arg(long)]
        no_build: bool,
    },
    /// Fusion setups in the store: apply, show, history, rollback.
    #[command(subcommand)]
    Setup(SetupCommand),
    /// Benchmarks that print their result as a ratio against a baseline measured in the same run.
    #[command(subcommand)]
    Bench(Bench),
    /// Rebuild the call graph and per-request latency, cost and cold starts from telemetry.
    Extract {
        #[arg(long, default_value = "iot")]
        app: String,
        /// A telemetry directory (default: that of the app's last `fusion up`).
        #[arg(long, conflicts_with = "store")]
        telemetry: Option<PathBuf>,
        /// Read the telemetry batches the app's Lambda functions wrote to this store instead,
        /// e.g. s3://BUCKET/fusion/iot (as `fusion deploy aws` made it).
        #[arg(long)]
        store: Option<String>,
        /// An S3-compatible endpoint instead of AWS's, for --store.
        #[arg(long, requires = "store")]
        store_endpoint: Option<String>,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        #[arg(long, default_value = "lambda-x86", value_parser = parse_pricing)]
        pricing: Pricing,
    },
    /// Deploy an application to a cloud: `fusion deploy aws --app iot --bucket B --region R`.
    #[command(subcommand)]
    Deploy(DeployCommand),
}

#[derive(Subcommand)]
enum DeployCommand {
    /// One Lambda function per task (provided.al2023), an IAM role, the components and setup in
    /// S3. Idempotent: a second run changes only what differs. --destroy removes it all.
    Aws {
        #[arg(long, default_value = "iot")]
        app: String,
        /// The S3 bucket of the app's store (created if missing); the app uses s3://BUCKET/fusion/APP.
        #[arg(long)]
        bucket: String,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// Make this setup current (all-remote, all-local, a shipped setup or a file); memory
        /// sizes follow it without a code upload. Default: keep the store's current setup.
        #[arg(long)]
        setup: Option<String>,
        #[arg(long, value_enum, default_value_t = Arch::X86_64)]
        arch: Arch,
        /// A fusion-host binary already built for Lambda, instead of building one.
        #[arg(long)]
        host_binary: Option<PathBuf>,
        /// One endpoint for S3, IAM and Lambda instead of AWS's (an emulator such as moto).
        #[arg(long)]
        endpoint: Option<String>,
        /// Remove the app's functions, role and store instead.
        #[arg(long)]
        destroy: bool,
        #[arg(long)]
        no_build: bool,
    },
}

#[derive(Subcommand)]
enum SetupCommand {
    /// Make a setup current: all-remote, all-local, one shipped with the app, or a JSON file.
    Apply {
        setup: String,
        #[arg(long, default_value = "iot")]
        app: String,
    },
    /// Print the current setup.
    Show {
        #[arg(long, default_value = "iot")]
        app: String,
    },
    /// List every setup applied, oldest first; `*` marks the current one.
    History {
        #[arg(long, default_value = "iot")]
        app: String,
    },
    /// Make the current setup's predecessor current again.
    Rollback {
        #[arg(long, default_value = "iot")]
        app: String,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// Requests per second one host serves for a trivial task over HTTP, against its /healthz.
    Throughput {
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        duration: Duration,
        /// Requests kept in flight (one kept-alive connection each).
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// A function's host started from the store, to its first response: compiling its group,
    /// with the sealed artifacts from the store, and with them in its local cache.
    ColdStart {
        #[arg(long, default_value = "iot")]
        app: String,
        #[arg(long, default_value = "fusionize-optimum")]
        setup: String,
        /// The function to start (IoT's CS runs CS, CSA and CSL under the optimum).
        #[arg(long, default_value = "CS")]
        function: String,
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
    },
    /// Hot swaps under a steady load: the setup changes every few seconds; reports how long each
    /// swap took to reach every host, failed requests, and requests that mixed setup versions.
    Refusion {
        #[arg(long, default_value = "iot")]
        app: String,
        /// Setups in the order they are applied; the cluster starts on the first.
        #[arg(long, value_delimiter = ',', default_value = "all-remote,fusionize-optimum,all-local,fusionize-optimum,all-remote")]
        setups: Vec<String>,
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        every: Duration,
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
    },
}

fn parse_duration(text: &str) -> Result<Duration, String> {
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

fn parse_pricing(name: &str) -> Result<Pricing, String> {
    Pricing::named(name).ok_or_else(|| format!("unknown price model '{name}' (lambda-x86, lambda-arm64)"))
}

fn parse_platform(name: &str) -> Result<()> {
    Platform::named(name).map(|_| ()).with_context(|| format!("unknown platform '{name}' (raw, lambda)"))
}

#[derive(Clone, Copy, ValueEnum)]
enum Size {
    /// The paper's work sizes.
    Paper,
    /// The paper's waits, a tenth of its CPU work (burn(5) for burn(7)): the §9 workloads at
    /// 10 req/s then fit a 2-core machine.
    Scaled,
    /// Tiny work, for a quick look.
    Small,
}

impl Size {
    fn payload(self) -> &'static str {
        match self {
            Size::Paper => "{}",
            Size::Scaled => r#"{"work":{"burn":5.0}}"#,
            Size::Small => r#"{"work":{"burn":2.0,"sieve":10000,"db_ms":1,"sleep_ms":5}}"#,
        }
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let ws = Workspace::locate()?;
    match cli.command {
        Command::Build => build(&ws),
        Command::Run { app, setup, requests, size, payload, no_build } => {
            if !no_build {
                build(&ws)?;
            }
            let payload = payload.unwrap_or_else(|| size.payload().to_string());
            serde_json::from_str::<serde_json::Value>(&payload).context("--payload is not valid JSON")?;
            let manifest = AppManifest::load(&ws.app_manifest(&app))?;
            let setup = runner::resolve_setup(&ws, &manifest, &setup)?;
            println!("app {app}: {} tasks, setup {} ({})", manifest.tasks.len(), setup.created_by, setup.describe());
            let rt = tokio::runtime::Runtime::new()?;
            let report = rt.block_on(runner::run(&ws, &app, setup, requests, payload.as_bytes()))?;
            print_report(&report);
            Ok(())
        }
        Command::Up { app, setup, platform, no_build } => {
            parse_platform(&platform)?;
            if !no_build {
                build(&ws)?;
            }
            let manifest = AppManifest::load(&ws.app_manifest(&app))?;
            let resolved = runner::resolve_setup(&ws, &manifest, &setup)?;
            let rt = tokio::runtime::Runtime::new()?;
            let cluster = rt.block_on(async {
                let store = local_store::open(&ws).await?;
                eprintln!("store: {}", store.location);
                LocalCluster::start(&ws, &ws.clusters_dir().join(&app), &manifest, &resolved, &setup, &platform, store).await
            })?;
            print!("{}", report::endpoint_table(&cluster.state, &resolved));
            println!("\ntelemetry: {}", cluster.state.telemetry.display());
            println!("setup version {} (try: fusion setup apply all-local --app {app})", cluster.state.setup_version);
            println!("try: fusion load --app {app} --rate 10 --duration 10s   (Ctrl-C here stops every host)");
            rt.block_on(until_stopped())?;
            eprintln!("stopping {} hosts…", cluster.state.endpoints.len());
            cluster.stop();
            Ok(())
        }
        Command::Load { app, setup, rate, duration, profile, platform, size, payload, pricing, no_build } => {
            parse_platform(&platform)?;
            anyhow::ensure!(rate > 0.0, "--rate must be positive");
            let payload = payload.unwrap_or_else(|| size.payload().to_string());
            serde_json::from_str::<serde_json::Value>(&payload).context("--payload is not valid JSON")?;
            let spec = LoadSpec { rate, duration, profile, payload: payload.into_bytes() };
            let rt = tokio::runtime::Runtime::new()?;
            let running = ClusterState::running(&ws.clusters_dir().join(&app));
            if let (true, Some(state)) = (setup.is_empty(), running) {
                let result = rt.block_on(measure(&state, &spec, pricing))?;
                print!("{}", report::load_summary(&result));
                return Ok(());
            }
            if !no_build {
                build(&ws)?;
            }
            let manifest = AppManifest::load(&ws.app_manifest(&app))?;
            let setups = if setup.is_empty() { vec!["all-remote".to_string()] } else { setup };
            let mut results = Vec::new();
            for label in &setups {
                let resolved = runner::resolve_setup(&ws, &manifest, label)?;
                let dir = ws.fusion_dir().join("runs").join(format!("{app}-{}", label.replace(['/', '.'], "_")));
                let cluster = rt.block_on(async { LocalCluster::start(&ws, &dir, &manifest, &resolved, label, &platform, local_store::open(&ws).await?).await })?;
                let result = rt.block_on(measure(&cluster.state, &spec, pricing));
                cluster.stop();
                let result = result?;
                print!("{}", report::load_summary(&result));
                results.push(result);
            }
            if results.len() > 1 {
                print!("\n{}", report::comparison(&results));
            }
            Ok(())
        }
        Command::Optimize { app, strategy, objective, latency_slo, version, platform, pricing, apply, run_loop, validate, every, rate, duration, size, max_iterations } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let open = local_store::open(&ws).await?;
                let goal = Goal { objective, latency_slo_ms: latency_slo };
                let request = optimize::Request { app: &app, strategy, goal, version, platform: platform.as_deref(), pricing, apply };
                let load = LoadSpec { rate, duration, profile: Profile::Steady, payload: size.payload().as_bytes().to_vec() };
                if run_loop {
                    optimize::optimize_loop(&ws, &open.store, &request, &load, max_iterations).await.map(drop)
                } else if validate {
                    optimize::validate(&ws, &open.store, &request, &load, every).await
                } else {
                    optimize::optimize(&ws, &open.store, &request).await
                }
            })
        }
        Command::Demo { apps, platform, objective, rate, duration, size, max_iterations, pricing, report, no_build } => {
            parse_platform(&platform)?;
            if !no_build {
                build(&ws)?;
            }
            let report = report.unwrap_or_else(|| ws.fusion_dir().join("demo.html"));
            let load = LoadSpec { rate, duration, profile: Profile::Steady, payload: size.payload().as_bytes().to_vec() };
            let goal = Goal { objective, latency_slo_ms: None };
            let spec = DemoSpec { apps: &apps, platform: &platform, load, max_iterations, goal, pricing, report };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(demo::run(&ws, &spec)).map(drop)
        }
        Command::Push { app, no_build } => {
            if !no_build {
                build(&ws)?;
            }
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let open = local_store::open(&ws).await?;
                eprintln!("store: {}", open.location);
                store_commands::push(&ws, &open, &app).await
            })
        }
        Command::Setup(command) => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let open = local_store::open(&ws).await?;
                match command {
                    SetupCommand::Apply { setup, app } => store_commands::apply(&ws, &open, &app, &setup).await,
                    SetupCommand::Show { app } => store_commands::show(&open, &app).await,
                    SetupCommand::History { app } => store_commands::history(&open, &app).await,
                    SetupCommand::Rollback { app } => store_commands::rollback(&ws, &open, &app).await,
                }
            })
        }
        Command::Bench(Bench::Throughput { duration, connections }) => {
            build(&ws)?;
            let rt = tokio::runtime::Runtime::new()?;
            let t = rt.block_on(throughput::measure(&ws, duration, connections))?;
            println!("{connections} connections, {:.0} s each, one host, client on the same machine", duration.as_secs_f64());
            println!("  GET /healthz (HTTP stack only)     {:>9.0} req/s", t.healthz);
            println!("  POST /v1/invoke/echo (signed call) {:>9.0} req/s  ({:.2}× /healthz)", t.invoke, t.invoke / t.healthz);
            Ok(())
        }
        Command::Bench(Bench::ColdStart { app, setup, function, runs }) => {
            build(&ws)?;
            let rt = tokio::runtime::Runtime::new()?;
            let starts = rt.block_on(cold_start::measure(&ws, &app, &setup, &function, runs.max(1), Size::Small.payload().as_bytes()))?;
            println!("{app} · {setup} · function {function} runs {{{}}}: spawn → first response, median of {runs}", starts.group.join(","));
            let compile = median(&starts.compile);
            for (way, samples) in [("compiling its components", &starts.compile), ("sealed artifacts from the store", &starts.store_artifact), ("artifacts in its local cache", &starts.local_artifact)] {
                let m = median(samples);
                println!("  {way:<34} {:>7.1} ms  ({:.2}× compiling)", m.as_secs_f64() * 1e3, m.as_secs_f64() / compile.as_secs_f64());
            }
            Ok(())
        }
        Command::Bench(Bench::Languages { runs, calls }) => {
            build(&ws)?;
            let rt = tokio::runtime::Runtime::new()?;
            let costs = rt.block_on(languages::measure(&ws, runs.max(1), calls.max(1)))?;
            print_languages(&costs, runs, calls);
            Ok(())
        }
        Command::Bench(Bench::Refusion { app, setups, every, rate }) => {
            build(&ws)?;
            let rt = tokio::runtime::Runtime::new()?;
            let dir = tempfile::tempdir()?;
            let spec = RefusionSpec { app: &app, setups: &setups, every, rate, payload: Size::Small.payload().as_bytes().to_vec(), platform: "raw" };
            let run = rt.block_on(refusion::run(&ws, dir.path(), &spec))?;
            println!("{app} at {rate} req/s, small work, setup switched every {:.1} s (starts on v{} {})", every.as_secs_f64(), run.first_version, setups[0]);
            for swap in &run.swaps {
                println!("  → v{:<3} {:<20} every host serves it {:>6.1} ms after the apply began", swap.version, swap.label, swap.took.as_secs_f64() * 1e3);
            }
            let took: Vec<Duration> = run.swaps.iter().map(|s| s.took).collect();
            let failed = run.outcomes.iter().filter(|o| o.error.is_some()).count();
            let (m, start) = (median(&took).as_secs_f64() * 1e3, run.cluster_start.as_secs_f64() * 1e3);
            println!("  swap: median {m:.1} ms, max {:.1} ms", took.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3);
            println!("  baseline: starting the cluster afresh (a redeploy) took {start:.0} ms; a swap takes {:.3}× that", m / start);
            println!("  requests: {} sent, {failed} failed, {} under more than one setup version", run.outcomes.len(), run.mixed_requests().len());
            let served: Vec<String> = run.requests_per_version().iter().map(|(v, n)| format!("v{v}: {n}")).collect();
            println!("  requests per version: {}", served.join(", "));
            Ok(())
        }
        Command::Extract { app, telemetry, store, store_endpoint, region, pricing } => {
            let (records, skipped, source) = match (store, telemetry) {
                (Some(location), _) => {
                    let rt = tokio::runtime::Runtime::new()?;
                    let store = rt.block_on(fusion_store::Store::connect(&fusion_store::StoreConfig::at(&location, store_endpoint, &region)?))?;
                    let lines = rt.block_on(store.telemetry(&app))?;
                    let (records, skipped) = extract::parse_lines(&String::from_utf8_lossy(&lines));
                    (records, skipped, location)
                }
                (None, telemetry) => {
                    let dir = match telemetry {
                        Some(dir) => dir,
                        None => ClusterState::last(&ws.clusters_dir().join(&app))?.telemetry,
                    };
                    let (records, skipped) = extract::read_dir(&dir)?;
                    (records, skipped, dir.display().to_string())
                }
            };
            if skipped > 0 {
                eprintln!("warning: skipped {skipped} unreadable lines in {source}");
            }
            let versions = extract::extract(&records, pricing, None);
            anyhow::ensure!(!versions.is_empty(), "no complete request in {source}");
            for version in &versions {
                print!("{}", report::version(version));
            }
            Ok(())
        }
        Command::Deploy(DeployCommand::Aws { app, bucket, region, setup, arch, host_binary, endpoint, destroy, no_build }) => {
            let target = aws::Target { app, bucket, region, arch, host_binary, endpoint };
            let rt = tokio::runtime::Runtime::new()?;
            if destroy {
                let gone = rt.block_on(aws::destroy(&ws, &target))?;
                println!(
                    "{}: removed {} functions, {} role, {} objects of {}",
                    target.app,
                    gone.functions,
                    if gone.role { "its" } else { "no" },
                    gone.objects,
                    target.store_location()
                );
                return Ok(());
            }
            if !no_build {
                build(&ws)?;
            }
            let deployed = rt.block_on(aws::deploy(&ws, &target, setup.as_deref()))?;
            println!("{}: setup version {} ({}) is current in {}", target.app, deployed.setup.version, deployed.setup.describe(), target.store_location());
            println!("role {}: {}", target.role_name(), if deployed.role_created { "created" } else { "policy updated" });
            for (name, change) in &deployed.functions {
                let what = match change {
                    aws::Change::Created => "created".to_string(),
                    aws::Change::Unchanged => "unchanged".to_string(),
                    aws::Change::Updated { code, configuration } => {
                        let parts: Vec<&str> = [(*code, "code"), (*configuration, "configuration")].iter().filter(|(c, _)| *c).map(|(_, p)| *p).collect();
                        format!("updated ({})", parts.join(", "))
                    }
                };
                println!("  {name:<28} {what}");
            }
            Ok(())
        }
    }
}

/// One row per language, each figure followed by its ratio to Rust's (the first row).
fn print_languages(costs: &[languages::LanguageCosts], runs: usize, calls: usize) {
    println!("the test kit's echo task; cold start: spawn → first response, median of {runs}; fused call: median of {calls}");
    let header = ["language", "component", "compile", "cold start, local artifact", "cold start, store artifact", "cold start, compiling", "fused call"];
    println!("| {} |", header.join(" | "));
    println!("|{}", header.iter().map(|h| format!("{:-<1$}|", "", h.len() + 2)).collect::<String>());
    let Some(rust) = costs.first() else { return };
    let figures = |c: &languages::LanguageCosts| {
        let ms = |samples: &[Duration]| median(samples).as_secs_f64() * 1e3;
        [
            c.component_bytes as f64 / 1024.0,
            c.compile.as_secs_f64() * 1e3,
            ms(&c.cold_starts.local_artifact),
            ms(&c.cold_starts.store_artifact),
            ms(&c.cold_starts.compile),
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

fn median(samples: &[Duration]) -> Duration {
    Summary::of(samples).map_or(Duration::ZERO, |s| s.p50)
}

/// Returns on Ctrl-C or SIGTERM.
async fn until_stopped() -> Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// Runs the load with a progress bar, waits for the cluster to go idle and extracts the run.
async fn measure(cluster: &ClusterState, spec: &LoadSpec, pricing: Pricing) -> Result<LoadResult> {
    let total = spec.duration;
    let outcomes = loadgen::run(cluster, spec, |p| report::progress_bar(p, total)).await?;
    eprintln!();
    loadgen::wait_idle(cluster).await?;
    let traces = outcomes.iter().map(|o| o.trace_id.clone()).collect();
    let (records, _) = extract::read_dir(&cluster.telemetry)?;
    let versions = extract::extract(&records, pricing, Some(&traces));
    Ok(LoadResult { cluster: cluster.clone(), profile: spec.profile, rate: spec.rate, outcomes, versions })
}

fn build(ws: &Workspace) -> Result<()> {
    let mut n = 0;
    let built = builder::build(ws, |c| {
        n += 1;
        eprintln!("[{n:>2}] {:<28} {:>8.1} KiB", c.name, c.bytes as f64 / 1024.0);
    })?;
    eprintln!("{} components in {}", built.len(), ws.components_dir().display());
    Ok(())
}

fn print_report(report: &runner::RunReport) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    if let Some(s) = Summary::of(&report.latencies) {
        println!(
            "{} requests, {} errors: p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            s.count,
            report.errors.len(),
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            ms(s.max)
        );
    }
    for err in report.errors.iter().take(3) {
        println!("  error: {err}");
    }
    if let Some(response) = &report.last_response {
        let text = String::from_utf8_lossy(response);
        let cut: String = text.chars().take(400).collect();
        println!("response: {cut}{}", if cut.len() < text.len() { "…" } else { "" });
    }
    if let Some(trace) = report.trace_ids.last() {
        println!("\ncall tree of the last request (trace {trace}):");
        print!("{}", calltree::render(&report.records, trace));
    }
}
