//! Secrets and keys from the OS's random source.

use std::io::Read;

use anyhow::Result;

/// `n` random bytes, hex-encoded.
pub fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}
