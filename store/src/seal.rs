//! Sealed artifacts. A precompiled artifact is native code that wasmtime maps and runs without
//! checking it, so a host only deserializes one that Fusion itself published: each is stored with
//! an HMAC-SHA256 over the engine fingerprint, the component digest and the artifact, keyed by a
//! secret only Fusion's hosts hold. Anyone who can write the bucket but lacks the key can make a
//! host compile, never run their code.
//!
//! The artifact is stored LZ4-compressed in 1 MiB chunks (a Python task's 35 MB artifact takes
//! 17.5 MB): a cold start downloads half the bytes, then checks the tag and decompresses the
//! chunks on several threads at once. The tag covers the compressed bytes; what decompression
//! wrote is used only once the tag matched.
//!
//! Layout after the magic and the tag: the artifact's length (u64), the chunk count (u32), each
//! chunk's compressed length (u32), then the compressed chunks; integers little-endian.

use anyhow::{Context, Result, bail, ensure};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Version 2: chunked and compressed. Version 1 (`FUSIONA1`, uncompressed) is refused like any
/// unsealed object: the host compiles and publishes the artifact anew.
const MAGIC: &[u8; 8] = b"FUSIONA2";
const TAG_LEN: usize = 32;
/// Uncompressed bytes per chunk. LZ4 looks back 64 KiB at most, so chunks this size compress as
/// well as the whole.
const CHUNK: usize = 1 << 20;
/// Threads that decompress one artifact (one more checks the tag meanwhile).
const UNPACKERS: usize = 2;

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

    /// The object to store: magic, tag, compressed artifact.
    pub fn seal(&self, fingerprint: &str, digest: &str, artifact: &[u8]) -> Vec<u8> {
        let chunks: Vec<Vec<u8>> = artifact.chunks(CHUNK).map(lz4_flex::block::compress).collect();
        let header = MAGIC.len() + TAG_LEN;
        let mut sealed = Vec::with_capacity(header + 12 + 4 * chunks.len() + chunks.iter().map(Vec::len).sum::<usize>());
        // The tag's place is filled once the body after it is written.
        sealed.extend_from_slice(MAGIC);
        sealed.resize(header, 0);
        sealed.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
        sealed.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
        for chunk in &chunks {
            sealed.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        }
        for chunk in &chunks {
            sealed.extend_from_slice(chunk);
        }
        let tag = self.mac(fingerprint, digest).chain_update(&sealed[header..]).finalize().into_bytes();
        sealed[MAGIC.len()..header].copy_from_slice(&tag);
        sealed
    }

    /// The artifact in `sealed` for exactly this component and engine, to be unpacked (which
    /// checks the tag). Refuses at once what is not laid out as a sealed artifact.
    pub fn open<'a>(&self, fingerprint: &str, digest: &str, sealed: &'a [u8]) -> Result<Sealed<'a>> {
        let Some(rest) = sealed.strip_prefix(MAGIC.as_slice()) else { bail!("not a sealed artifact of this Fusion version") };
        ensure!(rest.len() >= TAG_LEN + 12, "truncated sealed artifact");
        let (tag, body) = rest.split_at(TAG_LEN);
        let (len, rest) = body.split_at(8);
        let (count, rest) = rest.split_at(4);
        let len = usize::try_from(u64::from_le_bytes(len.try_into().expect("8 bytes"))).context("an artifact too large")?;
        let count = u32::from_le_bytes(count.try_into().expect("4 bytes")) as usize;
        ensure!(count == len.div_ceil(CHUNK), "its chunk count does not match its length");
        ensure!(rest.len() >= 4 * count, "truncated sealed artifact");
        let (sizes, mut data) = rest.split_at(4 * count);
        let mut chunks = Vec::with_capacity(count);
        for size in sizes.chunks_exact(4) {
            let size = u32::from_le_bytes(size.try_into().expect("4 bytes")) as usize;
            ensure!(size <= data.len(), "truncated sealed artifact");
            let (chunk, next) = data.split_at(size);
            chunks.push(chunk);
            data = next;
        }
        ensure!(data.is_empty(), "bytes after the last chunk");
        Ok(Sealed { mac: self.mac(fingerprint, digest), tag, body, len, chunks })
    }

    /// The MAC, keyed and bound to the engine and the component; the body follows.
    fn mac(&self, fingerprint: &str, digest: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any size");
        for part in [fingerprint.as_bytes(), digest.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

/// A sealed artifact whose tag is not checked yet.
pub struct Sealed<'a> {
    mac: Hmac<Sha256>,
    tag: &'a [u8],
    body: &'a [u8],
    len: usize,
    chunks: Vec<&'a [u8]>,
}

impl Sealed<'_> {
    /// The artifact's size.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty artifact.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks the tag and decompresses the artifact into `out` (exactly [`Sealed::len`] bytes),
    /// both at once on threads of their own. `out` holds the artifact only when this returns Ok:
    /// on an error it holds whatever decompression of unauthenticated bytes wrote (bounds-checked
    /// by the decoder), and must be discarded.
    pub fn unpack_into(self, out: &mut [u8]) -> Result<()> {
        ensure!(out.len() == self.len, "{} bytes to unpack into, not {}", out.len(), self.len);
        let Sealed { mac, tag, body, chunks, .. } = self;
        let pieces: Vec<(&[u8], &mut [u8])> = chunks.into_iter().zip(out.chunks_mut(CHUNK)).collect();
        let per_thread = pieces.len().div_ceil(UNPACKERS).max(1);
        std::thread::scope(|scope| {
            let checked = scope.spawn(move || mac.chain_update(body).verify_slice(tag).is_ok());
            let mut pieces = pieces.into_iter();
            let unpackers: Vec<_> = (0..UNPACKERS)
                .map(|_| {
                    let share: Vec<_> = pieces.by_ref().take(per_thread).collect();
                    scope.spawn(move || share.into_iter().try_for_each(|(packed, out)| unpack_chunk(packed, out)))
                })
                .collect();
            let unpacked: Result<()> = unpackers.into_iter().try_for_each(|unpacker| unpacker.join().expect("decompression does not panic"));
            ensure!(checked.join().expect("checking a tag does not panic"), "its seal does not match: not written by this deployment's hosts, or altered");
            unpacked
        })
    }
}

fn unpack_chunk(packed: &[u8], out: &mut [u8]) -> Result<()> {
    let written = lz4_flex::block::decompress_into(packed, out).context("its sealed bytes do not decompress")?;
    ensure!(written == out.len(), "a chunk decompresses to {written} bytes, not {}", out.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpacked(sealed: Sealed<'_>) -> Result<Vec<u8>> {
        let mut out = vec![0; sealed.len()];
        sealed.unpack_into(&mut out)?;
        Ok(out)
    }

    fn opens(seal: &ArtifactSeal, fingerprint: &str, digest: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        unpacked(seal.open(fingerprint, digest, sealed)?)
    }

    #[test]
    fn only_the_same_key_component_and_engine_open_a_seal() {
        let seal = ArtifactSeal::new("k1");
        let sealed = seal.seal("fp", "sha256:aa", b"native code");
        assert_eq!(opens(&seal, "fp", "sha256:aa", &sealed).unwrap(), b"native code");
        assert!(opens(&ArtifactSeal::new("k2"), "fp", "sha256:aa", &sealed).is_err(), "another key");
        assert!(opens(&seal, "fp", "sha256:bb", &sealed).is_err(), "another component");
        assert!(opens(&seal, "fp2", "sha256:aa", &sealed).is_err(), "another engine");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(opens(&seal, "fp", "sha256:aa", &altered).is_err(), "altered bytes");
        assert!(opens(&seal, "fp", "sha256:aa", b"native code").is_err(), "unsealed");
        assert!(opens(&seal, "fp", "sha256:aa", &sealed[..20]).is_err(), "truncated");
        assert!(opens(&seal, "fp", "sha256:aa", &sealed[..sealed.len() - 1]).is_err(), "truncated chunk");
        let first_version = [b"FUSIONA1".as_slice(), &sealed[8..]].concat();
        assert!(opens(&seal, "fp", "sha256:aa", &first_version).is_err(), "sealed by an earlier Fusion");
    }

    #[test]
    fn an_artifact_of_many_chunks_is_stored_compressed_and_unpacks_whole() {
        let seal = ArtifactSeal::new("k1");
        let code: Vec<u8> = (0..5 * CHUNK + 123).map(|i| (i % 251) as u8 ^ (i / 4096) as u8).collect();
        let sealed = seal.seal("fp", "sha256:aa", &code);
        assert!(sealed.len() < code.len() / 4, "stored compressed: {} of {} bytes", sealed.len(), code.len());
        assert_eq!(opens(&seal, "fp", "sha256:aa", &sealed).unwrap(), code);
        let mut altered = sealed.clone();
        let middle = altered.len() / 2;
        altered[middle] ^= 1;
        assert!(opens(&seal, "fp", "sha256:aa", &altered).is_err(), "a chunk altered in the middle");
        assert_eq!(opens(&seal, "fp", "sha256:aa", &seal.seal("fp", "sha256:aa", b"")).unwrap(), b"", "an empty artifact");
    }
}
