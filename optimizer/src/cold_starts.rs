//! Cold starts in steady state, predicted from how often each function of a setup is invoked,
//! how long its invocations last and how long the platform keeps an idle environment warm, not
//! inherited from the profiled window (where first starts also compiled and met empty pools).
//!
//! The environments of a function are reused most recently used first (as the host's and
//! Lambda's are), so the k-th environment is warm only if k invocations ran at once within the
//! idle timeout. Invocations in flight at a random moment are Poisson with mean `rate ×
//! duration` (an M/G/∞ queue); an arrival that finds k busy needs the (k+1)-th environment, and
//! that one was last used when k were busy and another arrived, which happens at `rate × P(k)`
//! per second. So the share of invocations that start cold is `Σ_k P(k) · exp(−rate · P(k) ·
//! idle)`: `exp(−rate · idle)` at low traffic, where every environment idles out between
//! invocations, and only the rare peaks of concurrency at high traffic.

use std::collections::BTreeMap;

use fusion_host::FusionSetup;

use crate::profile::Profile;

/// What cold environments add to one setup in steady state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColdStarts {
    /// New environments started per request, all functions together.
    pub per_request: f64,
    /// Per function, what one invocation waits on average for a new environment's init, ms.
    pub wait_ms: BTreeMap<String, f64>,
}

const MAX_DEPTH: usize = 64;

impl ColdStarts {
    /// The cold starts of `setup` under the profile's arrival rate, each of its functions'
    /// invocations lasting `durations` (ms, by function), on a platform whose new environment
    /// takes `runtime_init_ms` before its components load and idles out after `idle_timeout_s`.
    /// None without a known rate.
    pub fn of(profile: &Profile, setup: &FusionSetup, runtime_init_ms: f64, idle_timeout_s: f64, durations: &BTreeMap<String, f64>) -> ColdStarts {
        let Some(rate) = profile.arrival_per_s else { return ColdStarts::default() };
        let mut invocations = BTreeMap::from([(profile.entry.clone(), 1.0)]);
        count_invocations(profile, setup, &profile.entry, &profile.entry, 1.0, 0, &mut invocations);
        let loads = load_ms(profile, runtime_init_ms);
        let mut cold = ColdStarts::default();
        for (function, per_request) in invocations {
            let duration_s = durations.get(&function).copied().unwrap_or_default() / 1e3;
            let share = cold_share(rate * per_request, duration_s, idle_timeout_s);
            let group = std::iter::once(function.clone()).chain(setup.function(&function).inline);
            let init_ms = runtime_init_ms + group.filter_map(|task| loads.get(&task)).sum::<f64>();
            cold.per_request += share * per_request;
            cold.wait_ms.insert(function, share * init_ms);
        }
        cold
    }
}

/// The share of a function's invocations that start a new environment, invoked `rate` times a
/// second for `duration_s` each, its idle environments kept warm `idle_s` (see the module docs).
pub fn cold_share(rate: f64, duration_s: f64, idle_s: f64) -> f64 {
    if rate <= 0.0 {
        return 1.0;
    }
    let busy = rate * duration_s;
    let last = (busy + 10.0 * busy.sqrt() + 10.0).ceil() as u32;
    let (mut p, mut share) = ((-busy).exp(), 0.0);
    for k in 0..=last {
        if k > 0 {
            p *= busy / f64::from(k);
        }
        share += p * (-rate * p * idle_s).exp();
    }
    share.clamp(0.0, 1.0)
}

/// Adds to `invocations` (by function, per request) those a run of `task` inside `function`
/// causes, `weight` runs of it per request: a remote call invokes its callee's function whether
/// sync or async.
fn count_invocations(profile: &Profile, setup: &FusionSetup, task: &str, function: &str, weight: f64, depth: usize, invocations: &mut BTreeMap<String, f64>) {
    if depth >= MAX_DEPTH {
        return;
    }
    for call in profile.calls_of(task) {
        let n = weight * call.calls_per_run;
        if setup.is_local(function, &call.callee) {
            count_invocations(profile, setup, &call.callee, function, n, depth + 1, invocations);
        } else {
            *invocations.entry(call.callee.clone()).or_default() += n;
            count_invocations(profile, setup, &call.callee, &call.callee, n, depth + 1, invocations);
        }
    }
}

/// What loading each task's component adds to a new environment's init, ms: each profiled
/// function's measured init less the platform's runtime init, split evenly over its group.
fn load_ms(profile: &Profile, runtime_init_ms: f64) -> BTreeMap<String, f64> {
    let mut loads = BTreeMap::new();
    for env in profile.environments.values() {
        let Some(init_ms) = env.init_ms else { continue };
        let tasks: Vec<&String> = env.group.iter().filter(|t| profile.tasks.contains_key(*t)).collect();
        let each = (init_ms - runtime_init_ms).max(0.0) / tasks.len().max(1) as f64;
        for task in tasks {
            loads.insert(task.clone(), each);
        }
    }
    loads
}
