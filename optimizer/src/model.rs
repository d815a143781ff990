//! The model: predicts the median latency, the median completion time and the cost per request
//! of any fusion setup from one profile. A task's own time is its CPU time paced at its
//! function's memory share plus its own waits; a sync call adds the callee's time, plus a hop when
//! it crosses a function boundary; an async call adds only the enqueue when remote, and when fused
//! it runs after its caller, sharing the invocation's CPU share with the rest of the fused async
//! work. Every remote call is an invocation of its own, billed from its start until its last local
//! work ends, rounded up as the price table bills. A request completes when the last of its work
//! ends: a remote async callee starts an enqueue after its caller made the call. Cold starts are
//! added per function from the traffic's rate ([`crate::cold_starts`]), after the correction: it
//! is learned from steady-state measurements, which leave requests that met a cold environment out.

use std::collections::{BTreeMap, BTreeSet};

use fusion_host::memory::HOST_SHARE;
use fusion_host::platform::Platform;
use fusion_host::{CallMode, FusionSetup};

use crate::cold_starts::ColdStarts;
pub use crate::fit::Fit;
use crate::objective::Outcome;
use crate::pricing::Pricing;
use crate::profile::{EdgeProfile, EnvironmentProfile, Measured, Profile};
use crate::resources::{Chain, CpuBank, together};

/// What crossing a function boundary costs the caller, ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overheads {
    /// A synchronous call to another function, there and back.
    pub sync_hop_ms: f64,
    /// An asynchronous call to another function, until the callee's function has it. The caller
    /// goes on at once (the call waits in its function's outbox); its invocation lasts until then.
    pub async_enqueue_ms: f64,
    /// Starting a new environment before its components load, ms.
    pub runtime_init_ms: f64,
    /// How long an idle environment stays warm, s.
    pub idle_timeout_s: f64,
}

impl Overheads {
    /// What `platform`'s profile says a hop and an async call cost, Fusion's own hop included.
    pub fn of(platform: &Platform) -> Overheads {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        Overheads {
            sync_hop_ms: ms(platform.expected_sync_hop()),
            async_enqueue_ms: ms(platform.expected_async_call()),
            runtime_init_ms: ms(platform.runtime_init),
            idle_timeout_s: platform.idle_timeout.as_secs_f64(),
        }
    }
}

/// What the model predicts for one setup, per request.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Prediction {
    /// Median latency of a request, until the entry task returns, ms.
    pub latency_ms: f64,
    /// Median completion time of a request, until the last of its work ends, ms (loops recorded
    /// before it have none).
    #[serde(default)]
    pub completion_ms: f64,
    /// Dollars per request.
    pub cost: f64,
    /// Lambda invocations per request: the entry's, plus one per remote call.
    pub invocations: f64,
    /// New environments started per request in steady state, at the profiled traffic's rate.
    #[serde(default)]
    pub cold_starts: f64,
}

impl Prediction {
    /// What the objectives judge of it.
    pub fn outcome(&self) -> Outcome {
        Outcome { latency_ms: self.latency_ms, completion_ms: self.completion_ms, cost: self.cost }
    }
}

/// Measured over predicted on the profiled setup: applied to every prediction, so what the model
/// gets wrong about the app is corrected by what it measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correction {
    /// Of the median latency.
    pub latency: f64,
    /// Of the median completion time.
    pub completion: f64,
    /// Of the mean cost.
    pub cost: f64,
}

/// Predicts the latency, completion time and cost of any setup from one profile, calibrated on
/// the profiled setup.
pub struct Model<'a> {
    /// The profile the predictions are made from.
    pub profile: &'a Profile,
    overheads: Overheads,
    pricing: Pricing,
    fit: Fit,
    correction: Correction,
}

/// One task run inside an invocation, as predicted.
#[derive(Default)]
struct Run {
    /// Until the task returns, ms.
    duration: f64,
    /// Until its last fused work (async included) ends, from its start, ms.
    end: f64,
    /// Until the last work it causes ends, remote async work included, from its start, ms.
    done: f64,
    /// Guest CPU of the run and its fused sync callees, ms.
    cpu: f64,
    /// The fused async work it starts, directly or through its callees: one chain per call.
    tail: Vec<Chain>,
    /// Of `duration`, the time spent not running here: its own waits, hops, remote callees, ms.
    waits: f64,
    /// Dollars and count of the invocations its remote calls cause.
    cost: f64,
    invocations: f64,
}

/// One pass of the model over a setup: what it adds for cold environments, and what it learns
/// of each function on the way.
#[derive(Default)]
struct Pass {
    /// Per function, what an invocation waits on average for a new environment (none: steady).
    cold_wait_ms: BTreeMap<String, f64>,
    /// Per function, how long one of its invocations lasts, ms.
    durations: BTreeMap<String, f64>,
    /// With cold waits: each function's duration in steady state, billed as usual. What the
    /// waits add is an expected value, billed unrounded (rounding it up would bill every
    /// invocation a period more for a cold start one in a thousand pays).
    steady_ms: BTreeMap<String, f64>,
}

/// A task as the model runs it: the entry, or the callee of a call edge, whose own waits can
/// differ by caller (IoT's AS writes six records only when CA calls it).
#[derive(Clone, Copy)]
enum Runs<'p> {
    Entry(&'p str),
    Callee(&'p EdgeProfile),
}

impl Runs<'_> {
    fn task(&self) -> &str {
        match self {
            Runs::Entry(task) => task,
            Runs::Callee(call) => &call.callee,
        }
    }
}

const MAX_DEPTH: usize = 64;

impl<'a> Model<'a> {
    /// A model of `profile`, corrected so that it predicts the profiled setup as measured (within 4×).
    pub fn new(profile: &'a Profile, overheads: Overheads, pricing: Pricing) -> Model<'a> {
        Model::learned(profile, overheads, pricing, &[])
    }

    /// A model of `profile` that learns from everything measured under its workload: the
    /// profiled setup and each of `also` (other setups, with what they measured). With two
    /// setups or more it fits the hop costs (from three the CPU times, from four the waits: [`Fit`]) to what differs between
    /// them: the scales that make measured over predicted most alike across the setups, weighed
    /// against how unlikely scales far from 1 are (a measurement is only so exact). Then each
    /// correction is the geometric mean of measured over predicted across them (each within
    /// 4×), so what the model still gets wrong about the app is learned from every setup tried,
    /// not from the last alone.
    pub fn learned(profile: &'a Profile, overheads: Overheads, pricing: Pricing, also: &[(FusionSetup, Measured)]) -> Model<'a> {
        let mut model = Model { profile, overheads, pricing, fit: Fit::NONE, correction: Correction { latency: 1.0, completion: 1.0, cost: 1.0 } };
        let measured: Vec<(&FusionSetup, &Measured)> = std::iter::once((&profile.setup, &profile.measured)).chain(also.iter().map(|(setup, m)| (setup, m))).collect();
        if measured.len() > 1 {
            model.fit = Fit::most_plausible(measured.len(), |fit| Model { fit, ..model }.log_errors(&measured));
        }
        let errors = model.log_errors(&measured);
        let mean = |i: usize| (errors.iter().map(|e| e[i]).sum::<f64>() / errors.len() as f64).exp();
        model.correction = Correction { latency: mean(0), completion: mean(1), cost: mean(2) };
        model
    }

    /// Per setup, the logarithm of measured over predicted (each within 4×), uncorrected:
    /// latency, completion, cost.
    fn log_errors(&self, measured: &[(&FusionSetup, &Measured)]) -> Vec<[f64; 3]> {
        let ratio = |measured: f64, predicted: f64| if predicted > 0.0 && measured > 0.0 { (measured / predicted).clamp(0.25, 4.0).ln() } else { 0.0 };
        let error = |(setup, m): &(&FusionSetup, &Measured)| {
            let raw = self.uncorrected(setup, &mut Pass::default());
            [ratio(m.p50_latency_ms, raw.latency_ms), ratio(m.p50_completion_ms, raw.completion_ms), ratio(m.mean_cost, raw.cost)]
        };
        measured.iter().map(error).collect()
    }

    /// Measured over predicted on the profiled setup.
    pub fn correction(&self) -> Correction {
        self.correction
    }

    /// The hop and CPU scales fitted to the setups measured (none with one setup).
    pub fn fit(&self) -> Fit {
        self.fit
    }

    /// The memory size function `function` of `setup` needs, MB: the host's share plus the
    /// most its group holds at once (`live_mb`), or more if the profiled setup measured
    /// more for an environment of the same function that ran no task this group does not (an
    /// invocation that ran out of memory says what it wanted).
    pub fn memory_needed_mb(&self, setup: &FusionSetup, function: &str) -> u32 {
        let predicted = (HOST_SHARE >> 20) as f64 + self.live_mb(setup, function, function, 0);
        let config = setup.function(function);
        let group: BTreeSet<&str> = std::iter::once(function).chain(config.inline.iter().map(String::as_str)).collect();
        let ran_here = |e: &&EnvironmentProfile| e.group.iter().filter(|t| self.profile.tasks.contains_key(*t)).all(|t| group.contains(t.as_str()));
        let measured = self.profile.environments.get(function).filter(ran_here).map_or(0, |e| e.peak_mb);
        (predicted.ceil() as u32).max(measured)
    }

    /// The most memory a run of `task` inside `function` holds at once, MB: its own store, plus
    /// what its fused callees hold while it waits on them — one sequential sync call at a time,
    /// concurrent (`invoke-all`) calls all together, fused async work as if it all overlapped.
    fn live_mb(&self, setup: &FusionSetup, task: &str, function: &str, depth: usize) -> f64 {
        let Some(profile) = self.profile.tasks.get(task).filter(|_| depth < MAX_DEPTH) else { return 0.0 };
        let (mut sequential, mut together) = (0.0f64, 0.0);
        for call in self.profile.calls_of(task).filter(|c| setup.is_local(function, &c.callee)) {
            let callee = self.live_mb(setup, &call.callee, function, depth + 1);
            if call.mode == CallMode::Async || call.concurrent {
                together += callee * f64::from(call.most_per_run.max(1));
            } else {
                sequential = sequential.max(callee);
            }
        }
        profile.memory_mb + sequential + together
    }

    /// What `setup` would do per request: median latency and completion time, cost and
    /// invocations.
    pub fn predict(&self, setup: &FusionSetup) -> Prediction {
        let mut pass = Pass::default();
        let steady = self.uncorrected(setup, &mut pass);
        let c = self.correction;
        let mut prediction = Prediction { latency_ms: steady.latency_ms * c.latency, completion_ms: steady.completion_ms * c.completion, cost: steady.cost * c.cost, ..steady };
        let o = &self.overheads;
        let cold = ColdStarts::of(self.profile, setup, o.runtime_init_ms, o.idle_timeout_s, &pass.durations);
        if cold.per_request > 0.0 {
            let with_cold = self.uncorrected(setup, &mut Pass { cold_wait_ms: cold.wait_ms, steady_ms: pass.durations, ..Pass::default() });
            prediction.latency_ms += with_cold.latency_ms - steady.latency_ms;
            prediction.completion_ms += with_cold.completion_ms - steady.completion_ms;
            prediction.cost += with_cold.cost - steady.cost;
            prediction.cold_starts = cold.per_request;
        }
        // Corrected apart, completion could fall before the response it follows.
        prediction.completion_ms = prediction.completion_ms.max(prediction.latency_ms);
        prediction
    }

    /// The model's own prediction for `setup`, before the correction.
    fn uncorrected(&self, setup: &FusionSetup, pass: &mut Pass) -> Prediction {
        let (cost, invocations, run) = self.invocation(setup, Runs::Entry(&self.profile.entry), 0, pass);
        Prediction { latency_ms: run.duration, completion_ms: run.done, cost, invocations, cold_starts: 0.0 }
    }

    /// An invocation of `F(task)`: its cost with everything it causes, the invocations, its run.
    /// A cold start's expected wait comes first: the task starts once its environment is up.
    fn invocation(&self, setup: &FusionSetup, runs: Runs<'_>, depth: usize, pass: &mut Pass) -> (f64, f64, Run) {
        let task = runs.task();
        let memory_mb = setup.function(task).memory_mb;
        let mut run = self.run(setup, runs, task, depth, &mut CpuBank::full(memory_mb), pass);
        let init = pass.cold_wait_ms.get(task).copied().unwrap_or_default();
        (run.duration, run.end, run.done) = (run.duration + init, run.end + init, run.done + init);
        let lasts = run.end.max(run.duration);
        pass.durations.insert(task.to_string(), lasts);
        let cost = match pass.steady_ms.get(task) {
            Some(&steady) => self.pricing.cost(steady, memory_mb) + self.pricing.duration_cost((lasts - steady).max(0.0), memory_mb),
            None => self.pricing.cost(lasts, memory_mb),
        };
        (cost + run.cost, 1.0 + run.invocations, run)
    }

    /// `task` run inside `function`, drawing on the invocation's CPU `bank` with everything
    /// fused beside it.
    fn run(&self, setup: &FusionSetup, runs: Runs<'_>, function: &str, depth: usize, bank: &mut CpuBank, pass: &mut Pass) -> Run {
        let task = runs.task();
        let Some(profile) = self.profile.tasks.get(task).filter(|_| depth < MAX_DEPTH) else { return Run::default() };
        let waits = match runs {
            Runs::Callee(call) => call.callee_wait_ms.unwrap_or(profile.wait_ms),
            Runs::Entry(_) => profile.wait_ms,
        };
        let (cpu_ms, wait_ms) = (profile.cpu_ms * self.fit.cpu, waits * self.fit.waits);
        let mut run = Run { cpu: cpu_ms, ..Run::default() };
        // The task's own CPU, then its own waits (the bank refills while it waits).
        let own = bank.run(cpu_ms);
        bank.wait(wait_ms);
        let (mut sequential, mut concurrent, mut concurrent_cpu, mut sync_tail) = (0.0f64, 0.0f64, 0.0, 0.0f64);
        let (mut sequential_waits, mut concurrent_waits) = (0.0, 0.0f64);
        // What sync callees leave running after they return, remote work included.
        let mut done_tail = 0.0f64;
        // What each sync call takes the caller (a remote async call nothing: it goes to the
        // outbox): async calls are made once the sync calls before them have returned.
        let mut took: BTreeMap<&str, f64> = BTreeMap::new();
        let (mut fused_async, mut remote_async) = (Vec::new(), Vec::new());
        for call in self.profile.calls_of(task) {
            let n = call.calls_per_run;
            if setup.is_local(function, &call.callee) {
                if call.mode == CallMode::Async {
                    fused_async.push(call);
                    continue;
                }
                // Concurrent callees draw on the bank together, paced below as one.
                let child = if call.concurrent {
                    self.run(setup, Runs::Callee(call), function, depth + 1, &mut bank.clone(), pass)
                } else {
                    self.run(setup, Runs::Callee(call), function, depth + 1, bank, pass)
                };
                run.cost += n * child.cost;
                run.invocations += n * child.invocations;
                if call.concurrent {
                    concurrent = concurrent.max(child.duration);
                    concurrent_cpu += n * child.cpu;
                    concurrent_waits = concurrent_waits.max(child.waits);
                } else {
                    sequential += n * child.duration;
                    sequential_waits += n * child.waits;
                }
                took.insert(&call.callee, n * child.duration);
                run.cpu += n * child.cpu;
                run.tail.extend(child.tail.iter().map(|c| Chain { cpu: n * c.cpu, ..*c }));
                sync_tail = sync_tail.max(child.end - child.duration);
                done_tail = done_tail.max(child.done - child.duration);
            } else {
                let (cost, invocations, child) = self.invocation(setup, Runs::Callee(call), depth + 1, pass);
                run.cost += n * cost;
                run.invocations += n * invocations;
                if call.mode == CallMode::Async {
                    remote_async.push((call, child.done));
                    took.insert(&call.callee, 0.0);
                    continue;
                }
                done_tail = done_tail.max(child.done - child.duration);
                let away = self.overheads.sync_hop_ms * self.fit.hops + child.duration;
                if call.concurrent {
                    concurrent = concurrent.max(away);
                    concurrent_waits = concurrent_waits.max(away);
                } else {
                    sequential += n * away;
                    sequential_waits += n * away;
                    bank.wait(n * away);
                }
                took.insert(&call.callee, n * away);
            }
        }
        // Fused work running side by side shares the invocation's CPU share.
        if concurrent_cpu > 0.0 {
            concurrent = concurrent.max(bank.run(concurrent_cpu));
        }
        run.duration = own + wait_ms + sequential + concurrent;
        run.waits = wait_ms + sequential_waits + concurrent_waits;
        run.end = run.duration + sync_tail;
        // Async work is fired after the task's own CPU, as its sync calls are made (the profile
        // cannot say where in a run a call is made; from one CPU bank, work fired earlier could
        // not have run sooner anyway), and after the sync calls it follows. Fused, it runs on
        // beside the rest, sharing the invocation's CPU share with it ([`together`]).
        let duration = run.duration;
        let fired = |call: &EdgeProfile| (own + call.after.iter().filter_map(|t| took.get(t.as_str())).sum::<f64>()).min(duration);
        let mut first_start = f64::INFINITY;
        for call in fused_async {
            let n = call.calls_per_run;
            // Its CPU is paced below with the rest of the fused async work.
            let child = self.run(setup, Runs::Callee(call), function, depth + 1, &mut bank.clone(), pass);
            run.cost += n * child.cost;
            run.invocations += n * child.invocations;
            let start = fired(call);
            first_start = first_start.min(start);
            run.end = run.end.max(start + child.end.max(child.duration));
            run.done = run.done.max(start + child.done);
            let (tail_cpu, tail_waits) = child.tail.iter().fold((0.0, 0.0f64), |(cpu, waits), c| (cpu + c.cpu, waits.max(c.waits)));
            run.tail.push(Chain { cpu: n * (child.cpu + tail_cpu), waits: child.waits + tail_waits });
        }
        if !run.tail.is_empty() {
            let from = if first_start.is_finite() { first_start } else { run.duration };
            run.end = run.end.max(from + together(&run.tail, bank));
        }
        // Remote async calls are handed over side by side, an enqueue after they are made: the
        // invocation lasts until then, and the work runs on in invocations of its own.
        for (call, done) in remote_async {
            let handed_over = fired(call) + self.overheads.async_enqueue_ms * self.fit.hops;
            run.end = run.end.max(handed_over);
            run.done = run.done.max(handed_over + done);
        }
        run.done = run.done.max(run.end).max(run.duration + done_tail);
        run
    }
}
