//! `fusion optimize`: one step, the loop, or validation, on what the app's cluster measured.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use fusion_aws::Target;
use fusion_aws::autopilot::LambdaApp;
use fusion_aws::package::Arch;
use fusion_cluster::store;
use fusion_host::platform::Platform;
use fusion_optimizer::heuristic::grouping_of;
use fusion_optimizer::objective::{Goal, Objective};
use fusion_optimizer::search::{Point, describe};
use fusion_project::Project;
use fusion_tune::propose::{self, Next, Proposal};
use fusion_tune::tuning_loop::{self, LoopReport};
use fusion_tune::validate::{self, Validation};
use fusion_tune::{Request, Strategy, autopilot, record};
use fusion_store::aws_api::region;

use crate::options::{PricingArg, SteadyLoadArgs, parse_duration, parse_rate};
use crate::output::Terminal;

/// `fusion optimize`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// model: predict every setup and pick the best for the objective; heuristic: Fusionize++'s
    /// next step.
    #[arg(long, default_value = "model")]
    strategy: Strategy,
    #[command(flatten)]
    goal: GoalArgs,
    /// The setup version to profile (default: the current setup, if it served requests; else the
    /// newest in the telemetry).
    #[arg(long)]
    version: Option<u64>,
    /// The platform whose hop costs the model assumes (default: the cluster's): raw or lambda.
    #[arg(long)]
    platform: Option<Platform>,
    #[command(flatten)]
    pricing: PricingArg,
    /// Make the proposal current and hot-swap the running cluster.
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
    /// With --validate: also this many random connected groupings, each at its best memory
    /// sizes (checks a search beyond exhaustive against setups it did not pick).
    #[arg(long, default_value_t = 0, requires = "validate")]
    sample: usize,
    /// Predict cold starts at this many requests per second instead of the profiled traffic's
    /// rate (0.001: one request every ~17 minutes, when most environments have idled out).
    #[arg(long, value_name = "REQ_PER_S", value_parser = parse_rate, conflicts_with_all = ["run_loop", "validate", "watch"])]
    traffic: Option<f64>,
    #[command(flatten)]
    load: SteadyLoadArgs,
    /// The loop's iterations at most.
    #[arg(long, default_value_t = 20)]
    max_iterations: usize,
    /// Run the autopilot: optimize the running cluster window by window from the traffic it
    /// gets, with rollback, until Ctrl-C (which leaves the current setup serving).
    #[arg(long, conflicts_with_all = ["run_loop", "validate", "apply", "version"])]
    watch: bool,
    #[command(flatten)]
    autopilot: AutopilotArgs,
}

/// The autopilot's knobs (`--watch`).
#[derive(clap::Args)]
pub struct AutopilotArgs {
    /// A window closes once it has this many requests…
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(10..), requires = "watch")]
    window_requests: u32,
    /// …and has lasted this long: 60s, 2m.
    #[arg(long, default_value = "60s", value_parser = parse_duration, requires = "watch")]
    window: Duration,
    /// The predicted gain for the objective a new setup must promise, %.
    #[arg(long, default_value_t = 10.0, requires = "watch")]
    min_gain: f64,
    /// The rank test's significance level: a new setup whose window is worse than the one before
    /// at this level is rolled back.
    #[arg(long, default_value_t = 0.01, requires = "watch")]
    alpha: f64,
    /// After an apply, how long before the new setup's window opens (its new environments'
    /// first starts are not a measure of it).
    #[arg(long, default_value = "5s", value_parser = parse_duration, requires = "watch")]
    settle: Duration,
    /// Watch the app deployed with `fusion deploy aws --bucket BUCKET` instead of the local
    /// cluster: its telemetry batches in the store, memory sizes applied through the Lambda API.
    #[arg(long, value_name = "BUCKET", requires = "watch")]
    aws: Option<String>,
    /// With --aws: the AWS region.
    /// Default: `AWS_REGION`, or `AWS_DEFAULT_REGION`, or the profile's region, else us-east-1.
    #[arg(long, requires = "aws")]
    region: Option<String>,
    /// With --aws: one endpoint for S3 and Lambda instead of AWS's (an emulator).
    #[arg(long, requires = "aws")]
    endpoint: Option<String>,
}

/// `--objective`, `--latency-slo` and `--completion-slo`.
#[derive(clap::Args, Clone, Copy)]
pub struct GoalArgs {
    /// What the pick optimizes: balanced, cost, latency or completion (until a request's async
    /// work is done too).
    #[arg(long, default_value = "balanced")]
    pub objective: Objective,
    /// Only setups predicted to meet this median latency, ms.
    #[arg(long)]
    pub latency_slo: Option<f64>,
    /// Only setups predicted to meet this median completion time, ms.
    #[arg(long)]
    pub completion_slo: Option<f64>,
}

impl GoalArgs {
    /// The goal as the optimizer takes it.
    pub fn goal(self) -> Goal {
        Goal { objective: self.objective, latency_slo_ms: self.latency_slo, completion_slo_ms: self.completion_slo }
    }
}

/// Dispatches to the step, the loop or the validation.
pub async fn run(project: &Project, args: Args) -> Result<()> {
    let request = Request {
        strategy: args.strategy,
        goal: args.goal.goal(),
        version: args.version,
        platform: args.platform,
        pricing: args.pricing.pricing,
        traffic: args.traffic,
        apply: args.apply,
    };
    if args.watch {
        return watch(project, &request, &args.autopilot).await;
    }
    let open = store::open(project).await?;
    let load = args.load.spec(Duration::from_secs(10))?;
    if args.run_loop {
        let report = tuning_loop::run(project, &open.store, &request, &load, args.max_iterations, &Terminal::Results).await?;
        print_best(&report);
        print_recorded(&record::save(project, &report)?);
    } else if args.validate {
        print_validation(&validate::validate(project, &open.store, &request, &load, validate::Candidates { every: args.every, sample: args.sample }, &Terminal::Results).await?, request.goal);
    } else {
        print_proposal(&propose::propose(project, &open.store, &request).await?, request.goal);
    }
    Ok(())
}

/// Runs the autopilot until Ctrl-C, on the local cluster or the app on AWS.
async fn watch(project: &Project, request: &Request, knobs: &AutopilotArgs) -> Result<()> {
    anyhow::ensure!((0.0..100.0).contains(&knobs.min_gain), "--min-gain is a percentage from 0 to 100");
    anyhow::ensure!(knobs.alpha > 0.0 && knobs.alpha < 0.5, "--alpha is a significance level between 0 and 0.5");
    let mut settings = autopilot::Settings {
        window: autopilot::WindowSpec { requests: knobs.window_requests as usize, duration: knobs.window },
        thresholds: autopilot::Thresholds { goal: request.goal, min_gain: knobs.min_gain / 100.0, alpha: knobs.alpha },
        settle: knobs.settle,
        // Local hosts write each record at once.
        grace: Duration::from_secs(2),
        platform: request.platform,
        pricing: request.pricing,
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match &knobs.aws {
        None => {
            let open = store::open(project).await?;
            let cluster = autopilot::LocalCluster::running(project, &open.store)?;
            autopilot::run(project, &open.store, &cluster, &settings, stop, &Terminal::Results).await?;
        }
        Some(bucket) => {
            let target = Target { app: project.name().to_string(), bucket: bucket.clone(), region: region::or_configured(knobs.region.clone()).await, arch: Arch::X86_64, host_binary: None, endpoint: knobs.endpoint.clone(), url: None };
            let app = LambdaApp::connect(&target).await?;
            // Functions on Lambda write their telemetry in batches, at most 10 s old.
            settings.grace = Duration::from_secs(15);
            autopilot::run(project, app.store(), &app, &settings, stop, &Terminal::Results).await?;
        }
    }
    Ok(())
}

/// The loop's answer.
pub fn print_best(report: &LoopReport) {
    let best = &report.steps[report.best];
    let m = &best.measured;
    println!("best: v{} {} · p50 {:.1} ms (completion {:.1} ms) · ${:.3e} per request", best.version, best.groups(), m.p50_latency_ms, m.p50_completion_ms, m.mean_cost);
}

/// Where the loop was recorded, and how to see it.
pub fn print_recorded(file: &Path) {
    println!("loop recorded: {} (render it with `fusion report {}`)", file.display(), file.display());
}

fn print_proposal(proposal: &Proposal, goal: Goal) {
    let profile = &proposal.profile;
    let tasks = propose::tasks(profile);
    let m = &profile.measured;
    println!(
        "profiled {} v{} ({}): {} requests{}, p50 {:.1} ms (completion {:.1} ms), ${:.3e} and {:.2} invocations per request",
        profile.app,
        profile.setup.version,
        describe(&grouping_of(&profile.setup, &tasks)),
        profile.requests,
        if profile.cold_requests > 0 { format!(" (and {} that met a cold environment, left out)", profile.cold_requests) } else { String::new() },
        m.p50_latency_ms,
        m.p50_completion_ms,
        m.mean_cost,
        m.invocations
    );
    let c = proposal.correction;
    println!(
        "model on {}: measured/predicted on this setup ×{:.2} latency, ×{:.2} completion, ×{:.2} cost (applied as corrections)",
        proposal.platform, c.latency, c.completion, c.cost
    );
    match &proposal.next {
        Next::Pick { front, evaluated, pick } => {
            print!("{}", front_table(front, *evaluated));
            let p = pick.prediction;
            println!("pick ({}): {} → p50 {:.1} ms (completion {:.1} ms), ${:.3e} per request", goal.objective, describe(&pick.grouping), p.latency_ms, p.completion_ms, p.cost);
            if let Some(rate) = profile.arrival_per_s {
                let rate = if rate >= 0.01 { format!("{rate:.2}") } else { format!("{rate:.1e}") };
                println!("at {rate} requests/s the pick starts {:.2e} new environments per request in steady state (included above)", p.cold_starts);
            }
            if !goal.meets_slo(p.outcome()) {
                let slos = [("latency", goal.latency_slo_ms), ("completion", goal.completion_slo_ms)].map(|(name, slo)| slo.map(|ms| format!("{name} {ms} ms")));
                println!("no setup is predicted to meet the SLO ({}): the pick is the nearest", slos.into_iter().flatten().collect::<Vec<_>>().join(", "));
            }
        }
        Next::Inline(setup) => println!("next ({}): {}", setup.created_by, describe(&grouping_of(setup, &tasks))),
        Next::Sweep(setups) => {
            println!("every sync edge is fused; the memory sweep measures each of these in turn:");
            for setup in setups {
                println!("  {}", setup.created_by);
            }
        }
    }
    if let Some(applied) = &proposal.applied {
        println!("{}: setup version {} is current", applied.setup.app, applied.setup.version);
        super::setup::print_swap(applied);
    }
}

fn print_validation(validation: &Validation, goal: Goal) {
    let (latency, cost) = validation.mean_abs_error;
    println!("mean absolute prediction error: {latency:.1} % latency, {cost:.1} % cost");
    if let Some((best, is_pick)) = &validation.best {
        let verdict = if *is_pick { "the model's pick" } else { "not the model's pick" };
        println!("measured best for {}: v{} ({verdict}) {}", goal.objective, best.version, best.groups());
    }
    if let Some(behind) = validation.pick_behind_best {
        println!("the model's pick measured {behind:.1} % behind the best of the {} setups measured", validation.measured.len());
    }
}

fn front_table(front: &[Point], evaluated: usize) -> String {
    let mut out = format!("predicted Pareto front ({} of {evaluated} setups evaluated):\n", front.len());
    for point in front {
        let _ = writeln!(out, "  p50 {:>9.1} ms  ${:.3e}  {}", point.prediction.latency_ms, point.prediction.cost, describe(&point.grouping));
    }
    out
}
