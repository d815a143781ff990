//! Authentication between functions with a shared secret: every call carries an HMAC-SHA256 over
//! its path, trace context, mode, a timestamp and its body. A request without a valid signature,
//! or with a stale one, runs nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signature's timestamp may be from now, in seconds (clock skew plus transit).
const MAX_AGE_SECS: u64 = 300;

/// Signs outgoing calls and verifies incoming ones with the secret the functions share.
#[derive(Clone)]
pub struct Signer {
    secret: Vec<u8>,
}

/// The parts of a call that a signature covers.
pub struct Signed<'a> {
    /// The request path (`/v1/invoke/<task>` or an admin path).
    pub path: &'a str,
    /// The trace id header; empty for admin requests.
    pub trace_id: &'a str,
    /// The mode header (`sync` or `async`); empty for admin requests.
    pub mode: &'a str,
    /// The whole request body.
    pub body: &'a [u8],
}

impl Signer {
    /// A signer with the shared `secret`; keys of any length are accepted.
    pub fn new(secret: impl Into<Vec<u8>>) -> Signer {
        Signer { secret: secret.into() }
    }

    /// The value of the signature header: `t=<unix seconds>,sig=<hex>`.
    pub fn sign(&self, call: &Signed<'_>) -> String {
        let t = now();
        format!("t={t},sig={}", hex::encode(self.mac(t, call).finalize().into_bytes()))
    }

    /// Checks an incoming call's signature header; refuses a missing, malformed, stale (more than
    /// five minutes off) or mismatched one, saying which.
    pub fn verify(&self, header: Option<&str>, call: &Signed<'_>) -> Result<(), String> {
        let header = header.ok_or("missing signature")?;
        let (t, sig) = parse(header).ok_or("malformed signature")?;
        if now().abs_diff(t) > MAX_AGE_SECS {
            return Err("stale signature".into());
        }
        let sig = hex::decode(sig).map_err(|_| "malformed signature")?;
        self.mac(t, call).verify_slice(&sig).map_err(|_| "signature does not match".into())
    }

    fn mac(&self, t: u64, call: &Signed<'_>) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any size");
        for part in [t.to_string().as_bytes(), call.path.as_bytes(), call.trace_id.as_bytes(), call.mode.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(call.body);
        mac
    }
}

fn parse(header: &str) -> Option<(u64, &str)> {
    let (t, sig) = header.split_once(',')?;
    Some((t.strip_prefix("t=")?.parse().ok()?, sig.strip_prefix("sig=")?))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(body: &[u8]) -> Signed<'_> {
        Signed { path: "/v1/invoke/A", trace_id: "t1", mode: "sync", body }
    }

    #[test]
    fn a_signature_verifies_only_with_the_same_secret_and_content() {
        let signer = Signer::new("s3cret");
        let header = signer.sign(&call(b"{}"));
        assert!(signer.verify(Some(&header), &call(b"{}")).is_ok());
        assert!(signer.verify(Some(&header), &call(b"{ }")).is_err(), "tampered body");
        assert!(Signer::new("other").verify(Some(&header), &call(b"{}")).is_err(), "wrong secret");
        assert!(signer.verify(None, &call(b"{}")).is_err(), "unsigned");
        assert!(signer.verify(Some("t=1,sig=00"), &call(b"{}")).is_err(), "stale");
    }
}
