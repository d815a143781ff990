//! The autopilot (`fusion optimize --watch`): the optimizer beside the traffic an app really
//! gets, on a local cluster or on AWS Lambda (a [`Deployment`]). It cuts the app's telemetry
//! into windows (each closes once it has both
//! its requests and its duration), profiles each window, and applies the model's pick only when
//! the predicted gain for the objective beats a threshold. The window after an apply is the new
//! setup's trial: a one-sided Mann–Whitney test over the two windows' per-request values rolls
//! it back when it is measurably worse. A changed call graph (drift) voids a trial and clears
//! the setups rolled back under the old workload. Every decision goes into the setup history
//! (`created_by`) and the journal; stopping the autopilot leaves the current setup serving.
//!
//! - [`feed`]: the telemetry as it arrives;
//! - [`window`]: requests cut into windows and measured;
//! - [`workload`]: a window's call graph, to tell drift;
//! - [`rank_test`]: the Mann–Whitney U test;
//! - [`pilot`]: the decision after each window;
//! - [`journal`]: one JSON line per window.

pub mod feed;
pub mod journal;
pub mod pilot;
pub mod rank_test;
mod window;
pub mod workload;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use fusion_cluster::{ClusterState, publish};
use fusion_host::FusionSetup;
use fusion_host::platform::Platform;
use fusion_host::telemetry::unix_micros;
use fusion_optimizer::heuristic::grouping_of;
use fusion_optimizer::model::{Model, Overheads};
use fusion_optimizer::pricing::Pricing;
use fusion_optimizer::search::describe;
use fusion_project::{Project, Reporter};
use fusion_store::Store;

pub use feed::Feed;
pub use pilot::Thresholds;
pub use window::WindowSpec;

use journal::{Entry, Journal};
use pilot::{Action, Pilot};
use window::Traffic;

/// How often the telemetry is read.
const POLL: Duration = Duration::from_millis(250);

/// How the autopilot runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// When a window closes.
    pub window: WindowSpec,
    /// What a new setup must promise, and when a trial is rolled back.
    pub thresholds: Thresholds,
    /// After an apply, how long until the new setup's window opens: its first requests pay for
    /// new environments once, which is no measure of the setup.
    pub settle: Duration,
    /// How long after a window closes it is measured: its last requests' async work is recorded by then.
    pub grace: Duration,
    /// Platform whose overheads the model assumes; None: the cluster's.
    pub platform: Option<Platform>,
    /// The price model.
    pub pricing: Pricing,
}

/// How the autopilot ended: the windows it measured and the setup it left current.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// Windows measured.
    pub windows: usize,
    /// The current version when it stopped: it keeps serving.
    pub version: u64,
}

/// Where the autopilot's decisions take effect: the app's running local cluster, or the app
/// deployed on AWS Lambda.
pub trait Deployment {
    /// Where its telemetry is read from, from now on.
    fn feed(&self, tasks: BTreeSet<String>) -> impl Future<Output = Result<Feed>>;
    /// The platform whose overheads the model assumes unless told otherwise.
    fn platform(&self) -> Platform;
    /// Makes `setup` current — the store's pointer, and whatever the running functions need to
    /// take it up — and returns it as stored.
    fn apply(&self, setup: FusionSetup) -> impl Future<Output = Result<FusionSetup>>;
}

/// The project's running `fusion up` cluster.
pub struct LocalCluster<'a> {
    project: &'a Project,
    store: &'a Store,
    cluster: ClusterState,
}

impl<'a> LocalCluster<'a> {
    /// The running cluster of `project`, whose store is `store`.
    pub fn running(project: &'a Project, store: &'a Store) -> Result<LocalCluster<'a>> {
        let cluster = ClusterState::running(&project.cluster_dir()).with_context(|| format!("the autopilot watches the running cluster of {}: start it with `fusion up`", project.name()))?;
        Ok(LocalCluster { project, store, cluster })
    }
}

impl Deployment for LocalCluster<'_> {
    async fn feed(&self, tasks: BTreeSet<String>) -> Result<Feed> {
        Feed::folder(self.cluster.telemetry.clone(), tasks)
    }

    fn platform(&self) -> Platform {
        self.cluster.platform
    }

    async fn apply(&self, setup: FusionSetup) -> Result<FusionSetup> {
        Ok(publish::apply_setup(self.project, self.store, setup).await?.setup)
    }
}

/// Runs the autopilot on `deployment` of the project's app until `stop` completes (Ctrl-C);
/// each window's decision is told to `reporter` and appended to the journal at
/// [`Project::state_dir`]`/autopilot.jsonl`.
pub async fn run(project: &Project, store: &Store, deployment: &impl Deployment, settings: &Settings, stop: impl Future<Output = ()>, reporter: &dyn Reporter) -> Result<Stopped> {
    let app = project.name();
    let manifest = fusion_cluster::app_manifest(project);
    let tasks = manifest.task_names();
    let overheads = Overheads::of(&settings.platform.unwrap_or(deployment.platform()));
    let journal = Journal::at(&project.state_dir().join("autopilot.jsonl"))?;
    let mut feed = deployment.feed(tasks.clone()).await?;
    let mut traffic = Traffic::default();
    let mut pilot = Pilot::new(settings.thresholds);
    let mut setup = publish::current(store, app).await?;
    let mut window = Opening::now(Duration::ZERO);
    let mut closed: Option<Opening> = None;
    let mut windows = 0;
    reporter.note(&format!(
        "autopilot on {app} v{} ({}): windows of {} requests and {:.0} s, {} objective, apply above {:.0} % predicted gain, roll back at α = {}",
        setup.version,
        describe(&grouping_of(&setup, &tasks)),
        settings.window.requests,
        settings.window.duration.as_secs_f64(),
        settings.thresholds.goal.objective,
        100.0 * settings.thresholds.min_gain,
        settings.thresholds.alpha
    ));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(POLL) => {}
        }
        traffic.add(feed.poll().await?);
        let current = store.current_version(app).await?;
        if current.is_some_and(|v| v != setup.version) {
            setup = publish::current(store, app).await?;
            reporter.note(&format!("v{} was made current outside the autopilot: watching it", setup.version));
            pilot.abandon_trial();
            (window, closed) = (Opening::now(settings.settle), None);
            continue;
        }
        if closed.is_none() {
            let requests = traffic.requests(setup.version, window.us, None).len();
            if requests >= settings.window.requests && window.at.elapsed() >= settings.window.duration {
                closed = Some(Opening::now(Duration::ZERO));
            }
            continue;
        }
        let end = closed.expect("a closed window");
        if end.at.elapsed() < settings.grace {
            continue;
        }
        windows += 1;
        let measured = window::measure(&traffic, &setup, &manifest.entry, &tasks, window.us..end.us, settings.thresholds.goal.objective, settings.pricing);
        let (entry, next) = match measured {
            Ok(m) => {
                let decision = pilot.decide(windows, &m, &Model::new(&m.profile, overheads, settings.pricing));
                let (action, next) = match decision.action {
                    Action::Apply(next) if decision.judgement.as_ref().is_some_and(|j| j.worse) => ("rollback", Some(next)),
                    Action::Apply(next) => ("apply", Some(next)),
                    Action::Hold => ("hold", None),
                };
                let entry = Entry {
                    window: windows,
                    version: setup.version,
                    groups: describe(&grouping_of(&setup, &tasks)),
                    requests: m.requests,
                    p50_latency_ms: m.profile.measured.p50_latency_ms,
                    mean_cost: m.profile.measured.mean_cost,
                    drift: decision.drift,
                    judgement: decision.judgement,
                    action,
                    applied: None,
                    reason: decision.reason,
                };
                (entry, next)
            }
            Err(err) => {
                let reason = format!("not measured: {err:#}");
                (Entry { window: windows, version: setup.version, groups: String::new(), requests: 0, p50_latency_ms: 0.0, mean_cost: 0.0, drift: Vec::new(), judgement: None, action: "hold", applied: None, reason }, None)
            }
        };
        let mut entry = entry;
        if let Some(next) = next {
            setup = deployment.apply(next).await?;
            entry.applied = Some(setup.version);
            window = Opening::now(settings.settle);
        } else {
            window = end;
        }
        closed = None;
        traffic.forget_before(window.us.min(end.us));
        reporter.note(&line(&entry));
        journal.write(&entry)?;
    }
    reporter.note(&format!("autopilot stopped after {windows} windows: v{} keeps serving", setup.version));
    Ok(Stopped { windows, version: setup.version })
}

/// When a window opens: the moment, as an instant and in Unix µs (what spans carry).
#[derive(Debug, Clone, Copy)]
struct Opening {
    at: Instant,
    us: u64,
}

impl Opening {
    /// A window opening `after` from now.
    fn now(after: Duration) -> Opening {
        Opening { at: Instant::now() + after, us: unix_micros(SystemTime::now() + after) }
    }
}

/// A window's line for people.
fn line(entry: &Entry) -> String {
    let judged = match &entry.judgement {
        Some(j) => match j.p_value {
            Some(p) if j.worse => format!(" · trial of v{} worse than v{} (p = {p:.1e})", j.after, j.before),
            Some(p) => format!(" · trial of v{} kept (p = {p:.2})", j.after),
            None => format!(" · trial of v{} not judged: the workload changed", j.after),
        },
        None => String::new(),
    };
    let drift = if entry.drift.is_empty() { String::new() } else { format!(" · workload changed on {} edges", entry.drift.len()) };
    let applied = entry.applied.map(|v| format!(" → v{v}")).unwrap_or_default();
    format!(
        "window {} · v{} · {} requests · p50 {:.1} ms · ${:.3e}{judged}{drift} · {}{applied}: {}",
        entry.window, entry.version, entry.requests, entry.p50_latency_ms, entry.mean_cost, entry.action, entry.reason
    )
}
