//! The work of the reference applications, sized by a [`Work`] carried in every
//! payload so tests can run the graphs small and benchmarks at the paper's size.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Work sizes. A request carries them and every task passes them on to its callees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Work {
    /// `n` of the paper's `burn(n)`: n^7 iterations (7 → 823,543).
    pub burn: f64,
    /// How many times a burning task runs its loop (the originals used 2 worker threads).
    pub burn_reps: u32,
    /// Upper bound of a sieve of Eratosthenes.
    pub sieve: u32,
    /// Emulated latency of one database operation, in ms.
    pub db_ms: u64,
    /// The Tree application's explicit sleeps, in ms.
    pub sleep_ms: u64,
}

impl Default for Work {
    /// The paper's sizes.
    fn default() -> Self {
        Work { burn: 7.0, burn_reps: 2, sieve: 500_000, db_ms: 10, sleep_ms: 500 }
    }
}

/// The payload every reference task takes: the work sizes, passed on to callees, and who called.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    #[serde(default)]
    pub work: Work,
    /// The calling task, for tasks whose work depends on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The operation, for entry tasks that serve several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
}

impl Payload {
    /// The payload for a callee of `caller`: same work sizes, no operation.
    pub fn for_callee(&self, caller: &str) -> Payload {
        Payload { work: self.work, from: Some(caller.to_string()), op: None }
    }
}

/// The paper's CPU loop: from n^7 down to 0, summing atan(i)·tan(i).
pub fn burn(n: f64) -> f64 {
    let iterations = n.powi(7) as u64;
    let mut sum = 0.0;
    for i in (0..=iterations).rev() {
        let x = i as f64;
        sum += x.atan() * x.tan();
    }
    sum
}

/// `burn(n)` as often as [`Work::burn_reps`] says; returns the last sum.
pub fn burn_reps(work: &Work, n: f64) -> f64 {
    (0..work.burn_reps.max(1)).map(|_| burn(n)).last().unwrap_or_default()
}

/// Number of primes up to `limit` by the sieve of Eratosthenes.
pub fn sieve(limit: u32) -> u32 {
    let limit = limit as usize;
    let mut composite = vec![false; limit + 1];
    let mut primes = 0;
    for i in 2..=limit {
        if !composite[i] {
            primes += 1;
            let mut j = i * i;
            while j <= limit {
                composite[j] = true;
                j += i;
            }
        }
    }
    primes
}

/// An emulated database operation: the task waits, as it would for a network round trip.
pub fn db_op(work: &Work) {
    sleep_ms(work.db_ms);
}

pub fn sleep_ms(ms: u64) {
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sieve_counts_primes() {
        assert_eq!(sieve(10), 4);
        assert_eq!(sieve(100), 25);
        assert_eq!(sieve(1), 0);
    }

    #[test]
    fn burn_runs_n_to_the_seventh_iterations() {
        // burn(1) = atan(1)·tan(1) + atan(0)·tan(0)
        assert_eq!(burn(1.0), 1f64.atan() * 1f64.tan());
    }
}
