//! Sealed artifacts. A precompiled artifact is native code that wasmtime maps and runs without
//! checking it, so a host only deserializes one that Fusion itself published: each is stored with
//! an HMAC-SHA256 over the engine fingerprint, the component digest and the artifact, keyed by a
//! secret only Fusion's hosts hold. Anyone who can write the bucket but lacks the key can make a
//! host compile, never run their code.

use anyhow::{Result, bail};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAGIC: &[u8; 8] = b"FUSIONA1";
const TAG_LEN: usize = 32;

/// The secret key that seals the artifacts a host publishes and opens those it loads.
#[derive(Clone)]
pub struct ArtifactSeal {
    key: Vec<u8>,
}

impl ArtifactSeal {
    /// A seal keyed by `key` (`FUSION_ARTIFACT_KEY` on Lambda); any length works.
    pub fn new(key: impl Into<Vec<u8>>) -> ArtifactSeal {
        ArtifactSeal { key: key.into() }
    }

    /// The object to store: magic, tag, artifact.
    pub fn seal(&self, fingerprint: &str, digest: &str, artifact: &[u8]) -> Vec<u8> {
        let tag = self.mac(fingerprint, digest, artifact).finalize().into_bytes();
        [MAGIC.as_slice(), tag.as_slice(), artifact].concat()
    }

    /// The artifact inside `sealed`, if this key sealed it for exactly this component and engine.
    pub fn open<'a>(&self, fingerprint: &str, digest: &str, sealed: &'a [u8]) -> Result<&'a [u8]> {
        let Some(rest) = sealed.strip_prefix(MAGIC.as_slice()) else { bail!("not a sealed Fusion artifact") };
        if rest.len() < TAG_LEN {
            bail!("truncated sealed artifact");
        }
        let (tag, artifact) = rest.split_at(TAG_LEN);
        match self.mac(fingerprint, digest, artifact).verify_slice(tag) {
            Ok(()) => Ok(artifact),
            Err(_) => bail!("its seal does not match: not written by this deployment's hosts, or altered"),
        }
    }

    fn mac(&self, fingerprint: &str, digest: &str, artifact: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any size");
        for part in [fingerprint.as_bytes(), digest.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(artifact);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_key_component_and_engine_open_a_seal() {
        let seal = ArtifactSeal::new("k1");
        let sealed = seal.seal("fp", "sha256:aa", b"native code");
        assert_eq!(seal.open("fp", "sha256:aa", &sealed).unwrap(), b"native code");
        assert!(ArtifactSeal::new("k2").open("fp", "sha256:aa", &sealed).is_err(), "another key");
        assert!(seal.open("fp", "sha256:bb", &sealed).is_err(), "another component");
        assert!(seal.open("fp2", "sha256:aa", &sealed).is_err(), "another engine");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(seal.open("fp", "sha256:aa", &altered).is_err(), "altered bytes");
        assert!(seal.open("fp", "sha256:aa", b"native code").is_err(), "unsealed");
        assert!(seal.open("fp", "sha256:aa", &sealed[..20]).is_err(), "truncated");
    }
}
