//! The signed calls a host has let through, so a captured call sent again runs nothing.
//!
//! A signature names its second (`t`) and a random nonce; a call is fresh for five minutes either
//! side of now (the signer's `MAX_AGE_SECS`). The guard keeps the nonces of
//! every second still fresh, so a replay inside that window is found, and forgets a second once it
//! is stale. Memory is bounded: beyond [`CAPACITY`] nonces the oldest second is forgotten early and
//! every call signed at or before it is refused as stale from then on (the window shrinks under
//! extreme load; a replay is still never let through). A refused call is retryable: signed anew,
//! it gets a new second and nonce.

use std::collections::{BTreeMap, HashSet};

/// Nonces remembered at most: about 2.5 MB, a window of 18 s at 14,000 calls/s.
pub const CAPACITY: usize = 1 << 18;

/// Why a call was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unseen {
    /// The same second and nonce were let through before.
    Replayed,
    /// Its second is forgotten: a replay could no longer be told from a new call.
    Forgotten,
}

/// The nonces of the calls let through, per second of their signature.
pub(crate) struct SeenCalls {
    by_second: BTreeMap<u64, HashSet<u64>>,
    len: usize,
    capacity: usize,
    /// Every second at or before this one is forgotten: calls signed then are refused.
    floor: Option<u64>,
}

impl Default for SeenCalls {
    fn default() -> Self {
        SeenCalls::with_capacity(CAPACITY)
    }
}

impl SeenCalls {
    pub(crate) fn with_capacity(capacity: usize) -> SeenCalls {
        SeenCalls { by_second: BTreeMap::new(), len: 0, capacity: capacity.max(1), floor: None }
    }

    /// Lets a call signed at second `t` with `nonce` through unless it was seen before or its
    /// second is forgotten; seconds before `oldest_fresh` are forgotten first.
    pub(crate) fn admit(&mut self, t: u64, nonce: u64, oldest_fresh: u64) -> Result<(), Unseen> {
        while self.by_second.first_key_value().is_some_and(|(&second, _)| second < oldest_fresh) {
            self.forget_oldest();
        }
        if self.floor.is_some_and(|floor| t <= floor) {
            return Err(Unseen::Forgotten);
        }
        if !self.by_second.entry(t).or_default().insert(nonce) {
            return Err(Unseen::Replayed);
        }
        self.len += 1;
        while self.len > self.capacity {
            self.forget_oldest();
        }
        Ok(())
    }

    fn forget_oldest(&mut self) {
        if let Some((second, nonces)) = self.by_second.pop_first() {
            self.len -= nonces.len();
            self.floor = Some(self.floor.map_or(second, |floor| floor.max(second)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_admitted_once_per_second() {
        let mut seen = SeenCalls::default();
        assert_eq!(seen.admit(100, 7, 0), Ok(()));
        assert_eq!(seen.admit(100, 7, 0), Err(Unseen::Replayed));
        assert_eq!(seen.admit(101, 7, 0), Ok(()), "another second, another call");
    }

    #[test]
    fn a_full_guard_forgets_its_oldest_second_and_refuses_calls_signed_then() {
        let mut seen = SeenCalls::with_capacity(3);
        for (t, nonce) in [(10, 1), (10, 2), (11, 3), (12, 4)] {
            assert_eq!(seen.admit(t, nonce, 0), Ok(()));
        }
        assert_eq!(seen.len, 2, "second 10 was forgotten to stay within capacity");
        assert_eq!(seen.admit(10, 1, 0), Err(Unseen::Forgotten), "a replay from a forgotten second is still refused");
        assert_eq!(seen.admit(10, 9, 0), Err(Unseen::Forgotten), "as is any call signed then");
        assert_eq!(seen.admit(12, 4, 0), Err(Unseen::Replayed));
    }

    #[test]
    fn stale_seconds_are_forgotten() {
        let mut seen = SeenCalls::default();
        seen.admit(10, 1, 0).unwrap();
        seen.admit(20, 2, 0).unwrap();
        seen.admit(30, 3, 15).unwrap();
        assert_eq!(seen.len, 2, "second 10 is stale at 15");
        assert_eq!(seen.admit(10, 1, 15), Err(Unseen::Forgotten));
    }
}
