//! What the model learns beyond a profile from the setups measured under its workload: scales of
//! the platform's hop costs and of the tasks' CPU times, a maximum a posteriori estimate.

/// What the model fitted to the setups measured under its workload, beyond the profile: how far
/// the platform's hop costs and the profiled CPU times are off, as scales (1: as given).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Of the sync hop and the async enqueue.
    pub hops: f64,
    /// Of every task's CPU time.
    pub cpu: f64,
}

impl Fit {
    /// The hop costs as the platform's profile says and the CPU times as profiled.
    pub const NONE: Fit = Fit { hops: 1.0, cpu: 1.0 };

    /// The most plausible scales given, for each candidate, the logarithm of measured over
    /// predicted per setup (latency, completion, cost): measured over predicted most alike across
    /// the `setups` (their mean is the correction's to take), weighed against how unlikely
    /// scales far from 1 are.
    pub(crate) fn most_plausible(setups: usize, log_errors: impl Fn(Fit) -> Vec<[f64; 3]>) -> Fit {
        let implausibility = |fit: Fit| {
            let errors = log_errors(fit);
            let spread = |pick: fn(&[f64; 3]) -> f64| {
                let mean = errors.iter().map(pick).sum::<f64>() / errors.len() as f64;
                errors.iter().map(|e| (pick(e) - mean).powi(2)).sum::<f64>()
            };
            let misfit = (spread(|e| e[0]) + spread(|e| e[2])) / MEASUREMENT_NOISE.powi(2);
            misfit + (fit.hops.ln().powi(2) + fit.cpu.ln().powi(2)) / PRIOR_SPREAD.powi(2)
        };
        let scored = Fit::candidates(setups).map(|fit| (implausibility(fit), fit));
        scored.min_by(|a, b| a.0.total_cmp(&b.0)).map_or(Fit::NONE, |(_, fit)| fit)
    }

    /// The scales tried: 1/4 to 4 in steps of 2^(1/8) (9 %), the CPU's only from `setups`
    /// measured on: with two setups, one scale already explains whatever differs between them
    /// (the hop costs, the cheaper guess to be wrong about); a second needs a third setup.
    fn candidates(setups: usize) -> impl Iterator<Item = Fit> {
        let scales = || (-16..=16).map(|i| 2f64.powf(f64::from(i) / 8.0));
        let cpu_scales = move || scales().filter(move |&cpu| setups > 2 || cpu == 1.0);
        scales().flat_map(move |hops| cpu_scales().map(move |cpu| Fit { hops, cpu }))
    }
}

/// The spread of a window's median or mean, relative: what a setup measured may be off by without
/// the model being wrong (a 2-core machine shared with its load generator: 10 %).
const MEASUREMENT_NOISE: f64 = 0.10;
/// How far a fitted scale may plausibly be from 1 before any measurement says so: a factor of 4
/// (a platform's hops, or CPU on a busy machine, can be that far from their tables).
const PRIOR_SPREAD: f64 = 2.0 * std::f64::consts::LN_2;
