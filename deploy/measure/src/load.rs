//! The load generator: an open loop (requests leave on schedule, whether or not earlier ones have
//! answered) against a cluster's entry function, signed like any call between functions.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use fusion_host::auth::Signer;
use fusion_host::http_transport::HttpTransport;
use fusion_host::router::Transport;
use fusion_cluster::ClusterState;
use fusion_cluster::admin::expire;
use fusion_host::{Call, CallMode, TraceContext};

use crate::mix::Mix;

/// The shapes of a workload over time (the Fusionize papers' steady, bursty and cold runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `rate` requests per second for the whole duration.
    Steady,
    /// Eight equal steps rising to `rate` (rate 40 over 16 s: 5, 10, …, 40 req/s for 2 s each).
    Bursty,
    /// One request at a time, every function's environments retired before each: all cold.
    Cold,
}

impl Profile {
    /// Every profile with its name on the command line.
    pub const NAMED: [(&'static str, Profile); 3] = [("steady", Profile::Steady), ("bursty", Profile::Bursty), ("cold", Profile::Cold)];
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(name: &str) -> Result<Profile, String> {
        fusion_host::named::parse(&Profile::NAMED, "load profile", name)
    }
}

/// A workload: how many requests, over how long, in which shape, with which payload.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Requests per second (the peak rate for the bursty profile).
    pub rate: f64,
    /// How long requests are sent.
    pub duration: Duration,
    /// The shape over time.
    pub profile: Profile,
    /// What each request carries: one payload, or a weighted mix.
    pub payload: Mix,
}

impl LoadSpec {
    /// When each request leaves, from the start of the run.
    pub fn schedule(&self) -> Vec<Duration> {
        match self.profile {
            Profile::Steady | Profile::Cold => open_loop(self.rate, Duration::ZERO, self.duration),
            Profile::Bursty => {
                let step = self.duration / 8;
                (1..=8).flat_map(|k| open_loop(self.rate * k as f64 / 8.0, step * (k - 1), step)).collect()
            }
        }
    }
}

fn open_loop(rate: f64, from: Duration, length: Duration) -> Vec<Duration> {
    let n = (rate * length.as_secs_f64()).round() as usize;
    (0..n).map(|i| from + Duration::from_secs_f64(i as f64 / rate)).collect()
}

/// What happened to one request.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The trace the request started.
    pub trace_id: String,
    /// Until its response arrived.
    pub latency: Duration,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// How far a run is, for a progress display.
pub struct Progress {
    /// Since the first request left.
    pub elapsed: Duration,
    /// Requests sent.
    pub sent: usize,
    /// Requests answered.
    pub done: usize,
    /// Requests answered with an error.
    pub failed: usize,
}

/// Runs `spec` against the cluster; `progress` is called about four times a second.
pub async fn run(cluster: &ClusterState, spec: &LoadSpec, mut progress: impl FnMut(&Progress)) -> Result<Vec<Outcome>> {
    if !cluster.endpoints.contains_key(&cluster.entry) {
        bail!("the cluster has no entry function '{}'", cluster.entry);
    }
    let signer = Signer::new(cluster.secret.clone());
    let transport = HttpTransport::new(cluster.endpoints.clone(), Some(signer.clone()), Duration::from_secs(120))?;
    let admin = reqwest::Client::new();
    let schedule = spec.schedule();
    let (sent, done, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    let report = |progress: &mut dyn FnMut(&Progress)| {
        progress(&Progress {
            elapsed: started.elapsed(),
            sent: sent.load(Ordering::Relaxed),
            done: done.load(Ordering::Relaxed),
            failed: failed.load(Ordering::Relaxed),
        })
    };
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut outcomes = Vec::new();
    for (index, at) in schedule.into_iter().enumerate() {
        let due = tokio::time::Instant::from_std(started + at);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => break,
                _ = ticker.tick() => report(&mut progress),
            }
        }
        if spec.profile == Profile::Cold {
            // Let the previous request's async work end, then retire every environment.
            while let Some(outcome) = requests.join_next().await {
                outcomes.push(outcome?);
            }
            wait_idle(cluster).await?;
            for url in cluster.endpoints.values() {
                expire(&admin, &signer, url).await?;
            }
        }
        let trace = TraceContext::new_request();
        let call = Call { task: cluster.entry.clone(), payload: spec.payload.nth(index).to_vec(), mode: CallMode::Sync, trace: trace.clone() };
        let sending = transport.send(&cluster.entry, call);
        let (done, failed) = (done.clone(), failed.clone());
        sent.fetch_add(1, Ordering::Relaxed);
        requests.spawn(async move {
            let begun = Instant::now();
            let result = sending.await;
            let latency = begun.elapsed();
            done.fetch_add(1, Ordering::Relaxed);
            if result.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            Outcome { trace_id: trace.trace_id, latency, error: result.err().map(|e| e.to_string()) }
        });
    }
    loop {
        tokio::select! {
            next = requests.join_next() => match next {
                Some(outcome) => outcomes.push(outcome?),
                None => break,
            },
            _ = ticker.tick() => report(&mut progress),
        }
    }
    report(&mut progress);
    Ok(outcomes)
}

/// Waits until no function of the cluster has an invocation in flight (async work included),
/// seen twice in a row so work handed between functions is not missed.
pub async fn wait_idle(cluster: &ClusterState) -> Result<()> {
    let client = reqwest::Client::new();
    let mut quiet_rounds = 0;
    while quiet_rounds < 2 {
        let mut busy = 0;
        for url in cluster.endpoints.values() {
            let text = client.get(format!("{url}/metrics")).send().await?.text().await?;
            busy += text
                .lines()
                .filter(|l| l.starts_with("fusion_invocations_in_flight"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .sum::<u64>();
        }
        quiet_rounds = if busy == 0 { quiet_rounds + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
