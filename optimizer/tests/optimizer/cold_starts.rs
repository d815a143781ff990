//! Cold starts in steady state: from the traffic's rate, the invocations' durations and the idle
//! timeout, and what fusing saves of them.

use super::*;
use fusion_optimizer::cold_starts::cold_share;
use fusion_optimizer::profile::EnvironmentProfile;

#[test]
fn the_share_of_cold_invocations_follows_the_rate_against_the_idle_timeout() {
    // Once an hour against a 10-minute idle timeout: cold unless the last one came within it.
    let hourly = cold_share(1.0 / 3600.0, 0.05, 600.0);
    assert!((hourly - (-600.0f64 / 3600.0).exp()).abs() < 1e-4, "{hourly}");
    assert_eq!(cold_share(0.0, 0.05, 600.0), 1.0, "never invoked before: always cold");
    let rates = [1e-5, 1e-4, 1e-3, 1e-2];
    let shares: Vec<f64> = rates.iter().map(|&rate| cold_share(rate, 0.05, 600.0)).collect();
    assert!(shares.windows(2).all(|w| w[0] > w[1]), "more traffic keeps the environment warm: {shares:?}");
    // One every 10 s, of 50 ms: the environment stays warm, but an arrival that finds it busy
    // (0.5 %) needs a second one, warm only if two overlapped within the last ten minutes, which
    // happens every 2000 s or so: that share is cold.
    let (rate, busy) = (0.1, 0.1 * 0.05);
    let overlapping = cold_share(rate, 0.05, 600.0);
    assert!((overlapping - busy * (-rate * busy * 600.0f64).exp()).abs() < 1e-4, "{overlapping}");
    // 100 a second of 10 ms each: one in flight on average, and only the rare peaks beyond what
    // the last ten minutes saw start an environment.
    let busy = cold_share(100.0, 0.01, 600.0);
    assert!(busy > 0.0 && busy < 1e-4, "{busy}");
    // At the same rate, longer invocations overlap more and their peaks need more environments.
    assert!(cold_share(10.0, 1.0, 600.0) > cold_share(10.0, 0.01, 600.0));
}

#[test]
fn cold_starts_are_predicted_from_the_rate_and_fusing_saves_their_inits() {
    // A calls B calls C, sync, each waiting 10 ms; each function's environment took 118 ms to
    // start: Lambda's 18 ms runtime init and 100 ms loading its one component.
    let mut p = profile("chain", &[("A", 0.0, 10.0), ("B", 0.0, 10.0), ("C", 0.0, 10.0)], &[("A", "B", Sync), ("B", "C", Sync)]);
    for task in ["A", "B", "C"] {
        let group = BTreeSet::from([task.to_string()]);
        p.environments.insert(task.into(), EnvironmentProfile { group, peak_mb: 0, out_of_memory: false, init_ms: Some(118.0) });
    }
    let all_local = FusionSetup::preset(Preset::AllLocal, "chain", &p.tasks.keys().cloned().collect(), "A");
    let steady = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    let (steady_remote, steady_fused) = (steady.predict(&p.setup), steady.predict(&all_local));
    assert_eq!((steady_remote.cold_starts, steady_fused.cold_starts), (0.0, 0.0), "no rate known: steady state only");

    // Once an hour: each function's environment has idled out with this probability.
    p.arrival_per_s = Some(1.0 / 3600.0);
    let cold = cold_share(1.0 / 3600.0, 0.0, 600.0);
    let hourly = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86);
    let (remote, fused) = (hourly.predict(&p.setup), hourly.predict(&all_local));
    assert!((remote.cold_starts - 3.0 * cold).abs() < 1e-3 && (fused.cold_starts - cold).abs() < 1e-3, "{remote:?} {fused:?}");
    // Every init is on the request's path: all-remote waits for three, each 118 ms; the fused
    // function for one that loads the three components (18 + 3 × 100 ms).
    let added = |with: &fusion_optimizer::model::Prediction, without: &fusion_optimizer::model::Prediction| with.latency_ms - without.latency_ms;
    assert!((added(&remote, &steady_remote) - 3.0 * 118.0 * cold).abs() < 0.5, "{remote:?}");
    assert!((added(&fused, &steady_fused) - 318.0 * cold).abs() < 0.5, "{fused:?}");
    // And billed: all-remote bills C's init to C, to B waiting on it and to A waiting on both.
    let (remote_cost, fused_cost) = (remote.cost - steady_remote.cost, fused.cost - steady_fused.cost);
    assert!(remote_cost > 2.0 * fused_cost && fused_cost > 0.0, "{remote_cost} vs {fused_cost}");

    // A hundred a second keeps every environment warm: the steady state.
    p.arrival_per_s = Some(100.0);
    let busy = Model::new(&p, LAMBDA, Pricing::LAMBDA_X86).predict(&p.setup);
    assert!(busy.cold_starts < 1e-4, "only the rare peaks of concurrency: {busy:?}");
    assert!((busy.latency_ms / steady_remote.latency_ms - 1.0).abs() < 1e-3 && (busy.cost / steady_remote.cost - 1.0).abs() < 1e-3, "{busy:?}");
}
