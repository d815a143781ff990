//! What the requests of a load carry: one payload, or a weighted mix of them (say Webshop's five
//! operations), replayed in a fixed interleaving so every window of the run sees the same shares.
//!
//! A mix file is a JSON array: `[{"weight": 8, "payload": {"op": "get"}}, {"weight": 1,
//! "payload": {"op": "checkout"}}]`.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use serde::Deserialize;

/// Longest accepted mix file or payload file.
pub const MAX_FILE_BYTES: u64 = 6 << 20;

/// The payloads of a load, in the order requests take them (repeated).
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    sequence: Vec<Vec<u8>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    weight: u32,
    payload: serde_json::Value,
}

impl Mix {
    /// Every request carries `payload`.
    pub fn single(payload: Vec<u8>) -> Mix {
        Mix { sequence: vec![payload] }
    }

    /// A weighted mix from `(weight, payload)`; weights are whole numbers, 1 to 1,000 each.
    pub fn weighted(entries: Vec<(u32, Vec<u8>)>) -> Result<Mix> {
        ensure!(!entries.is_empty(), "a mix needs at least one entry");
        ensure!(entries.iter().all(|(w, _)| (1..=1000).contains(w)), "every weight of a mix is a whole number from 1 to 1000");
        // Smooth weighted round robin: each payload comes up in proportion to its weight, spread out.
        let total: i64 = entries.iter().map(|(w, _)| i64::from(*w)).sum();
        let mut credit = vec![0i64; entries.len()];
        let mut sequence = Vec::with_capacity(total as usize);
        for _ in 0..total {
            for (c, (w, _)) in credit.iter_mut().zip(&entries) {
                *c += i64::from(*w);
            }
            let pick = (0..entries.len()).max_by_key(|&i| (credit[i], std::cmp::Reverse(i))).expect("entries");
            credit[pick] -= total;
            sequence.push(entries[pick].1.clone());
        }
        Ok(Mix { sequence })
    }

    /// Reads a mix file (see the module docs).
    pub fn load(path: &Path) -> Result<Mix> {
        let text = read_bounded(path)?;
        let entries: Vec<Entry> = serde_json::from_str(&text).with_context(|| format!("{} is not a mix: a JSON array of {{\"weight\": N, \"payload\": …}}", path.display()))?;
        Mix::weighted(entries.into_iter().map(|e| (e.weight, e.payload.to_string().into_bytes())).collect()).with_context(|| format!("in {}", path.display()))
    }

    /// The payload of request number `i` of the run.
    pub fn nth(&self, i: usize) -> &[u8] {
        &self.sequence[i % self.sequence.len()]
    }
}

impl From<Vec<u8>> for Mix {
    fn from(payload: Vec<u8>) -> Mix {
        Mix::single(payload)
    }
}

impl From<&str> for Mix {
    fn from(payload: &str) -> Mix {
        Mix::single(payload.as_bytes().to_vec())
    }
}

/// A file's text, refused beyond [`MAX_FILE_BYTES`].
pub fn read_bounded(path: &Path) -> Result<String> {
    let size = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    ensure!(size <= MAX_FILE_BYTES, "{} is {size} bytes; at most {MAX_FILE_BYTES} are accepted", path.display());
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_interleaves_payloads_by_weight() {
        let mix = Mix::weighted(vec![(3, b"a".to_vec()), (1, b"b".to_vec())]).unwrap();
        let firsts: Vec<&[u8]> = (0..8).map(|i| mix.nth(i)).collect();
        assert_eq!(firsts.iter().filter(|p| **p == b"a").count(), 6);
        assert_ne!(firsts[..4].iter().filter(|p| **p == b"b").count(), 0, "the rare one comes up in every cycle");
        assert!(Mix::weighted(vec![(0, b"a".to_vec())]).is_err());
        assert!(Mix::weighted(vec![]).is_err());
    }
}
