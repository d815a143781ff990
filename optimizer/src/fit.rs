//! What the model learns beyond a profile from the setups measured under its workload: scales of
//! the platform's hop costs, of the tasks' CPU times and of their waits, a maximum a posteriori
//! estimate.

/// What the model fitted to the setups measured under its workload, beyond the profile: how far
/// the platform's hop costs and the profiled CPU times and waits are off, as scales (1: as given).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Of the sync hop and the async enqueue.
    pub hops: f64,
    /// Of every task's CPU time.
    pub cpu: f64,
    /// Of every task's own waits (I/O, a database): a profile taken while a dependency was slow
    /// or under another setup's contention.
    pub waits: f64,
}

impl Fit {
    /// The hop costs as the platform's profile says, the CPU times and waits as profiled.
    pub const NONE: Fit = Fit { hops: 1.0, cpu: 1.0, waits: 1.0 };

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
            let far = |scale: f64, spread: f64| (scale.ln() / spread.ln()).powi(2);
            misfit + far(fit.hops, PRIOR_SPREAD.hops) + far(fit.cpu, PRIOR_SPREAD.cpu) + far(fit.waits, PRIOR_SPREAD.waits)
        };
        let best = |candidates: &mut dyn Iterator<Item = Fit>| candidates.map(|fit| (implausibility(fit), fit)).min_by(|a, b| a.0.total_cmp(&b.0)).map_or(Fit::NONE, |(_, fit)| fit);
        if setups < 4 {
            return best(&mut Fit::candidates(setups));
        }
        // From four setups the waits' too. Their scale trades off against the other two along a
        // diagonal, which fitting one scale at a time does not follow: a grid of all three in
        // double steps, then the single steps around its best.
        let coarse = best(&mut grid(scales().step_by(2), scales().step_by(2), scales().step_by(2)));
        let near = |scale: f64| [-1, 0, 1].into_iter().map(move |step| scale * STEP.powi(step));
        best(&mut grid(near(coarse.hops), near(coarse.cpu), near(coarse.waits)))
    }

    /// The hop and CPU scales tried with the waits' as profiled: the CPU's only from three
    /// `setups` measured on: with two, one scale already explains whatever differs between them
    /// (the hop costs, the cheaper guess to be wrong about); a second needs a third setup.
    fn candidates(setups: usize) -> impl Iterator<Item = Fit> {
        grid(scales(), scales().filter(move |&cpu| setups > 2 || cpu == 1.0), std::iter::once(1.0))
    }
}

/// One step between the scales tried: 2^(1/8), 9 %.
const STEP: f64 = 1.090_507_732_665_257_7;

/// Every scale tried: 1/4 to 4 in steps of [`STEP`].
fn scales() -> impl Iterator<Item = f64> + Clone {
    (-16..=16).map(|i| STEP.powi(i))
}

/// Every combination of the scales given for each of the three.
fn grid(hops: impl Iterator<Item = f64>, cpu: impl Iterator<Item = f64> + Clone, waits: impl Iterator<Item = f64> + Clone) -> impl Iterator<Item = Fit> {
    hops.flat_map(move |hops| {
        let waits = waits.clone();
        cpu.clone().flat_map(move |cpu| waits.clone().map(move |waits| Fit { hops, cpu, waits }))
    })
}

/// The spread of a window's median or mean, relative: what a setup measured may be off by without
/// the model being wrong (a 2-core machine shared with its load generator: 10 %).
const MEASUREMENT_NOISE: f64 = 0.10;
/// How far each scale may plausibly be from 1 before any measurement says so, as a factor. A
/// platform's hop costs can be 4× off its table, and a task's waits 4× off its profile (a
/// dependency that was slow then); CPU times the hosts measure themselves, per task, so they are
/// off only as far as contention on a shared machine moves them. (With CPU as free as the rest,
/// three noisy setups on IoT once fitted ×0.42 and sent the loop to a 128 MB setup measured at 4×
/// its prediction.)
const PRIOR_SPREAD: Fit = Fit { hops: 4.0, cpu: 1.5, waits: 4.0 };
