//! The Mann–Whitney U test (Wilcoxon rank-sum), one-sided: is one sample stochastically larger
//! than another? The autopilot asks it of two windows' per-request values to decide whether a
//! new setup is measurably worse: it needs no normal distribution (latencies are skewed), uses
//! every request rather than one median, and is robust to a few outliers.
//!
//! The p-value is the normal approximation with the tie correction and a continuity correction,
//! good from about ten requests per sample; the autopilot's windows hold far more.

/// The outcome of [`larger`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    /// U of the sample tested for being larger: how many (a, b) pairs have a > b, ties counting ½.
    pub u: f64,
    /// The one-sided p-value: how likely a U at least this large is when neither sample is larger.
    pub p_value: f64,
}

/// Tests whether `a` is stochastically larger than `b` (the alternative hypothesis); None when
/// either sample is empty.
pub fn larger(a: &[f64], b: &[f64]) -> Option<RankTest> {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    // Pool, sort, and give tied values the mean of their ranks (1-based).
    let mut pooled: Vec<(f64, bool)> = a.iter().map(|&v| (v, true)).chain(b.iter().map(|&v| (v, false))).collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let (mut rank_sum_a, mut tie_term) = (0.0, 0.0);
    let mut start = 0;
    while start < n {
        let end = (start..n).find(|&j| pooled[j].0 != pooled[start].0).unwrap_or(n);
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum_a += mean_rank * pooled[start..end].iter().filter(|(_, in_a)| *in_a).count() as f64;
        let t = (end - start) as f64;
        tie_term += t * t * t - t;
        start = end;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let total = n1 + n2;
    let variance = n1 * n2 / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)).max(1.0));
    let p_value = if variance <= 0.0 {
        // Every value is the same: nothing is larger.
        1.0
    } else {
        let z = (u - mean - 0.5) / variance.sqrt();
        upper_tail(z)
    };
    Some(RankTest { u, p_value })
}

/// P(Z > z) for a standard normal Z.
fn upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, by the Chebyshev fit of Numerical Recipes (relative error
/// below 1.2e-7 everywhere: far finer than any α a user sets).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18 + t * (-0.186_288_06 + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_tail_matches_its_table() {
        for (z, tail) in [(0.0, 0.5), (1.0, 0.158_655_25), (1.644_853_6, 0.05), (2.326_347_9, 0.01), (-1.959_964, 0.975)] {
            assert!((upper_tail(z) - tail).abs() < 1e-6, "P(Z > {z}) = {} not {tail}", upper_tail(z));
        }
    }

    #[test]
    fn separated_samples_give_the_textbook_u_and_p() {
        // U = 25 of 25 pairs; z = (25 - 12.5 - 0.5) / sqrt(5·5·11/12) = 2.5067, p = 0.00609.
        let (low, high) = ([1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0]);
        let test = larger(&high, &low).unwrap();
        assert_eq!(test.u, 25.0);
        assert!((test.p_value - 0.006_09).abs() < 5e-5, "{test:?}");
        let other_way = larger(&low, &high).unwrap();
        assert_eq!(other_way.u, 0.0);
        assert!(other_way.p_value > 0.99, "{other_way:?}");
    }

    #[test]
    fn ties_share_their_ranks_and_shrink_the_variance() {
        // Ranks: 1,1 → 1.5 each; 2,2,2 → 4 each; 3 → 6. a = [2, 2, 3] has rank sum 14, U = 8.
        let test = larger(&[2.0, 2.0, 3.0], &[1.0, 1.0, 2.0]).unwrap();
        assert_eq!(test.u, 8.0);
        // Tie term: (8 - 2) + (27 - 3) = 30; variance = 9/12 · (7 - 30/30) = 4.5.
        let z = (8.0 - 4.5 - 0.5) / 4.5f64.sqrt();
        assert!((test.p_value - upper_tail(z)).abs() < 1e-12, "{test:?}");
        assert_eq!(larger(&[4.0; 6], &[4.0; 9]).unwrap().p_value, 1.0, "identical values: nothing is larger");
        assert_eq!(larger(&[], &[1.0]), None);
    }

    #[test]
    fn the_same_distribution_is_rarely_called_larger_and_a_shift_is_found() {
        // A fixed pseudo-random sequence (xorshift), skewed like latencies.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut draw = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            -20.0 * (1.0 - u).ln()
        };
        let mut false_alarms = 0;
        for _ in 0..200 {
            let a: Vec<f64> = (0..60).map(|_| 40.0 + draw()).collect();
            let b: Vec<f64> = (0..60).map(|_| 40.0 + draw()).collect();
            false_alarms += usize::from(larger(&a, &b).unwrap().p_value < 0.01);
        }
        assert!(false_alarms <= 8, "{false_alarms} of 200 same-distribution pairs called larger at α = 0.01");
        let slower: Vec<f64> = (0..60).map(|_| 55.0 + draw()).collect();
        let before: Vec<f64> = (0..60).map(|_| 40.0 + draw()).collect();
        assert!(larger(&slower, &before).unwrap().p_value < 0.01, "a 15 ms shift on a 60-request window");
    }
}
