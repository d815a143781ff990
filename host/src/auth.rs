//! Authentication between functions with a shared secret. Every call carries an HMAC-SHA256 over
//! a timestamp, a nonce, its path, every header that changes what runs or what the telemetry
//! records ([`SIGNED_HEADERS`]), and its body. A request without a valid signature, with
//! a stale one, or one seen before (a replay: `replay.rs`) runs nothing.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::replay::{SeenCalls, Unseen};
use crate::trace_context::{TRACEPARENT, TRACESTATE};
use crate::wire;

/// How far a signature's timestamp may be from now, in seconds (clock skew plus transit).
pub const MAX_AGE_SECS: u64 = 300;

/// The headers a signature covers, in the order they are hashed: the trace context, the mode and
/// the setup version. Changing any of them changes what a call runs or what it reports.
pub const SIGNED_HEADERS: [&str; 6] = [TRACEPARENT, TRACESTATE, wire::CALLER, wire::DEPTH, wire::MODE, wire::SETUP_VERSION];

/// Signs outgoing calls and verifies incoming ones with the secret the functions share,
/// remembering the calls it let through so none runs twice.
#[derive(Clone)]
pub struct Signer {
    secret: Arc<[u8]>,
    seen: Arc<Mutex<SeenCalls>>,
}

/// What is wrong with a refused call's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No signature header.
    Missing,
    /// A header that does not parse.
    Malformed,
    /// The timestamp is more than [`MAX_AGE_SECS`] off, or older than what the replay guard
    /// still remembers.
    Stale,
    /// The signature does not match the call: another secret, or a changed part.
    Mismatch,
    /// A call with this signature was let through before.
    Replayed,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Missing => "missing signature",
            Refusal::Malformed => "malformed signature",
            Refusal::Stale => "stale signature",
            Refusal::Mismatch => "signature does not match",
            Refusal::Replayed => "replayed call",
        })
    }
}

impl Signer {
    /// A signer with the shared `secret`; keys of any length are accepted.
    pub fn new(secret: impl Into<Vec<u8>>) -> Signer {
        Signer { secret: secret.into().into(), seen: Arc::default() }
    }

    /// The value of the signature header for a call to `path` with `headers` (the
    /// [`SIGNED_HEADERS`] it carries) and `body`: `t=<unix seconds>,n=<nonce>,sig=<hex>`.
    pub fn sign(&self, path: &str, headers: &HeaderMap, body: &[u8]) -> String {
        let (t, nonce) = (now(), fastrand::u64(..));
        format!("t={t},n={nonce:016x},sig={}", hex::encode(self.mac(t, nonce, path, headers, body).finalize().into_bytes()))
    }

    /// Checks an incoming call: its signature header must parse, be fresh, match the call, and
    /// not have been let through before.
    pub fn verify(&self, path: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
        let header = headers.get(wire::SIGNATURE).ok_or(Refusal::Missing)?.to_str().map_err(|_| Refusal::Malformed)?;
        let (t, nonce, sig) = parse(header).ok_or(Refusal::Malformed)?;
        let now = now();
        if now.abs_diff(t) > MAX_AGE_SECS {
            return Err(Refusal::Stale);
        }
        let sig = hex::decode(sig).map_err(|_| Refusal::Malformed)?;
        self.mac(t, nonce, path, headers, body).verify_slice(&sig).map_err(|_| Refusal::Mismatch)?;
        self.seen.lock().expect("the seen calls").admit(t, nonce, now.saturating_sub(MAX_AGE_SECS)).map_err(|unseen| match unseen {
            Unseen::Replayed => Refusal::Replayed,
            Unseen::Forgotten => Refusal::Stale,
        })
    }

    fn mac(&self, t: u64, nonce: u64, path: &str, headers: &HeaderMap, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any size");
        let mut part = |bytes: &[u8]| {
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        };
        part(&t.to_be_bytes());
        part(&nonce.to_be_bytes());
        part(path.as_bytes());
        for name in SIGNED_HEADERS {
            // An absent header and an empty one differ: present headers are prefixed.
            match headers.get(name) {
                None => part(b""),
                Some(value) => part(&[b"=", value.as_bytes()].concat()),
            }
        }
        mac.update(body);
        mac
    }
}

fn parse(header: &str) -> Option<(u64, u64, &str)> {
    let mut fields = header.split(',');
    let t = fields.next()?.strip_prefix("t=")?.parse().ok()?;
    let nonce = u64::from_str_radix(fields.next()?.strip_prefix("n=")?, 16).ok()?;
    let sig = fields.next()?.strip_prefix("sig=")?;
    fields.next().is_none().then_some((t, nonce, sig))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn signed(signer: &Signer, pairs: &[(&'static str, &str)], body: &[u8]) -> HeaderMap {
        let mut map = headers(pairs);
        let signature = signer.sign("/v1/invoke/A", &map, body);
        map.insert(wire::SIGNATURE, signature.parse().unwrap());
        map
    }

    const CALL: [(&str, &str); 3] = [(TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), (wire::MODE, "sync"), (wire::SETUP_VERSION, "3")];

    #[test]
    fn a_signature_verifies_only_with_the_same_secret_and_content() {
        let signer = Signer::new("s3cret");
        assert_eq!(signer.verify("/v1/invoke/A", &signed(&signer, &CALL, b"{}"), b"{ }"), Err(Refusal::Mismatch), "tampered body");
        assert_eq!(signer.verify("/v1/invoke/B", &signed(&signer, &CALL, b"{}"), b"{}"), Err(Refusal::Mismatch), "another task");
        assert_eq!(Signer::new("other").verify("/v1/invoke/A", &signed(&signer, &CALL, b"{}"), b"{}"), Err(Refusal::Mismatch), "wrong secret");
        assert_eq!(signer.verify("/v1/invoke/A", &headers(&CALL), b"{}"), Err(Refusal::Missing));
        let stale = headers(&[(wire::SIGNATURE, "t=1,n=00,sig=00")]);
        assert_eq!(signer.verify("/v1/invoke/A", &stale, b"{}"), Err(Refusal::Stale));
        assert_eq!(signer.verify("/v1/invoke/A", &headers(&[(wire::SIGNATURE, "t=1,sig=00")]), b"{}"), Err(Refusal::Malformed));
        assert_eq!(signer.verify("/v1/invoke/A", &signed(&signer, &CALL, b"{}"), b"{}"), Ok(()));
    }

    #[test]
    fn every_signed_header_is_covered_and_absent_differs_from_empty() {
        let signer = Signer::new("s3cret");
        for name in SIGNED_HEADERS {
            let mut call = signed(&signer, &CALL, b"{}");
            let original = call.get(name).map(|v| v.to_str().unwrap().to_string());
            call.insert(name, format!("{}x", original.as_deref().unwrap_or("")).parse().unwrap());
            assert_eq!(signer.verify("/v1/invoke/A", &call, b"{}"), Err(Refusal::Mismatch), "{name} changed");
        }
        let mut call = signed(&signer, &CALL, b"{}");
        call.insert(wire::CALLER, "".parse().unwrap());
        assert_eq!(signer.verify("/v1/invoke/A", &call, b"{}"), Err(Refusal::Mismatch), "an empty caller added");
    }

    #[test]
    fn a_call_let_through_once_is_refused_the_second_time() {
        let signer = Signer::new("s3cret");
        let call = signed(&signer, &CALL, b"{}");
        assert_eq!(signer.verify("/v1/invoke/A", &call, b"{}"), Ok(()));
        assert_eq!(signer.clone().verify("/v1/invoke/A", &call, b"{}"), Err(Refusal::Replayed), "clones share what they saw");
        let another = signed(&signer, &CALL, b"{}");
        assert_eq!(signer.verify("/v1/invoke/A", &another, b"{}"), Ok(()), "the same content signed again is a new call");
    }
}
