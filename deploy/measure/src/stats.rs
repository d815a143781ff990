//! Latency summaries, and the bounded sample of a run's latencies a report keeps.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Percentiles of a set of latencies (nearest-rank).
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// The largest sample.
    pub max: Duration,
}

impl Summary {
    /// The summary of `samples`; None when there are none.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort();
        let rank = |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        Some(Summary { count: sorted.len(), p50: rank(0.50), p95: rank(0.95), p99: rank(0.99), max: sorted[sorted.len() - 1] })
    }
}

/// The most latencies a [`LatencySample`] keeps: enough to draw a run's distribution, few enough
/// that a recorded loop of many long runs stays a small file.
pub const SAMPLE_LIMIT: usize = 2000;

/// A run's request latencies as a report keeps them: the percentiles of every request, and the
/// latencies themselves, sorted, thinned evenly by rank to at most [`SAMPLE_LIMIT`] (the fastest
/// and the slowest always kept), so their distribution can be drawn from any run length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySample {
    /// How many requests were measured (more than `sorted_ms` holds beyond the limit).
    pub count: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// The kept latencies, fastest first, ms.
    pub sorted_ms: Vec<f64>,
}

impl LatencySample {
    /// The sample of `latencies`; None when there are none.
    pub fn of(latencies: &[Duration]) -> Option<LatencySample> {
        let summary = Summary::of(latencies)?;
        let mut sorted = latencies.to_vec();
        sorted.sort();
        let n = sorted.len();
        let kept = n.min(SAMPLE_LIMIT);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        Some(LatencySample {
            count: n,
            p50_ms: ms(summary.p50),
            p95_ms: ms(summary.p95),
            p99_ms: ms(summary.p99),
            sorted_ms: (0..kept).map(|i| ms(sorted[rank(i, n, kept)])).collect(),
        })
    }

    /// The empirical distribution the kept latencies draw: each, fastest first, with the share of
    /// all the requests measured that were at most that slow.
    pub fn ecdf(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let (n, kept) = (self.count, self.sorted_ms.len());
        self.sorted_ms.iter().enumerate().map(move |(i, ms)| (*ms, (rank(i, n, kept) + 1) as f64 / n as f64))
    }
}

/// The rank among `n` sorted latencies of the `i`th of the `kept` evenly spaced ones.
fn rank(i: usize, n: usize, kept: usize) -> usize {
    if kept <= 1 { 0 } else { ((i * (n - 1)) as f64 / (kept - 1) as f64).round() as usize }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!((s.p50, s.p95, s.p99, s.max), (Duration::from_millis(50), Duration::from_millis(95), Duration::from_millis(99), Duration::from_millis(100)));
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn a_sample_keeps_every_latency_up_to_the_limit_then_thins_by_rank() {
        let few: Vec<Duration> = [3, 1, 2].map(Duration::from_millis).into();
        let sample = LatencySample::of(&few).unwrap();
        assert_eq!((sample.count, sample.sorted_ms.as_slice()), (3, [1.0, 2.0, 3.0].as_slice()));
        let many: Vec<Duration> = (1..=10 * SAMPLE_LIMIT as u64).rev().map(Duration::from_micros).collect();
        let sample = LatencySample::of(&many).unwrap();
        assert_eq!((sample.count, sample.sorted_ms.len()), (many.len(), SAMPLE_LIMIT));
        assert_eq!((sample.sorted_ms[0], sample.sorted_ms[SAMPLE_LIMIT - 1]), (0.001, many.len() as f64 / 1e3), "the fastest and the slowest are kept");
        assert!(sample.sorted_ms.windows(2).all(|w| w[0] < w[1]));
        let kept_median = sample.sorted_ms[SAMPLE_LIMIT / 2];
        assert!((kept_median - sample.p50_ms).abs() / sample.p50_ms < 0.01, "thinned by rank, the distribution keeps its shape: {kept_median} vs {}", sample.p50_ms);
        let ecdf: Vec<(f64, f64)> = sample.ecdf().collect();
        assert_eq!((ecdf[0].1, ecdf[SAMPLE_LIMIT - 1].1), (1.0 / many.len() as f64, 1.0), "shares of all the requests, not of those kept");
        assert!(LatencySample::of(&[]).is_none());
    }
}
