//! Request signing: the `Rota-Signature` header that lets a receiver reject calls that did not
//! come from Rota.
//!
//! The header has the form Stripe uses:
//!
//! ```text
//! Rota-Signature: t=1767225600,v1=6d204545ff126a339c00513d93603299c984074ce1331c3537c3f6c976b49019
//! ```
//!
//! (the body `{"a":1}` signed with the secret `whsec_test` at 2026-01-01T00:00:00Z).
//!
//! `t` is the time of signing in Unix seconds and `v1` the lower-case hex HMAC-SHA256 of the
//! bytes `"<t>.<body>"` (the decimal timestamp, a full stop, then the raw request body) keyed
//! with the tenant's secret. A receiver recomputes the HMAC over the body exactly as received,
//! compares it in constant time, and rejects a `t` too far from its own clock (a replayed
//! request). [`verify`] does all three; the README shows the same check in Python and in shell
//! with `openssl`.
//!
//! HTTP handlers sign every request of a tenant that has a webhook secret (requests without a
//! body sign the empty body); the notification worker signs its webhooks with the same
//! function. Several `v1=` entries may appear while a secret is being rotated: a receiver
//! accepts the request if any of them matches.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header's name.
pub const SIGNATURE_HEADER: &str = "Rota-Signature";

/// How far the signing time may be from the receiver's clock by default (five minutes, as
/// Stripe's libraries do).
pub const DEFAULT_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

/// A tenant's signing secret. Never shown: `Debug` prints `SigningSecret(<redacted>)` and there
/// is no `Display` or `Serialize`; [`SigningSecret::expose`] is the one way to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl SigningSecret {
    /// A secret from its text; `None` for an empty one (an empty key signs nothing).
    pub fn new(secret: impl Into<String>) -> Option<Self> {
        let secret = secret.into();
        (!secret.is_empty()).then_some(SigningSecret(secret))
    }

    /// The secret's text, for the one place that must have it (the HMAC key, the database).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

/// The `Rota-Signature` value for `body` signed at `timestamp` (Unix seconds) with `secret`:
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub fn sign(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex(&mac(secret, timestamp, body)))
}

fn mac(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// Why [`verify`] rejected a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("Rota-Signature: malformed header; expected t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error(
        "Rota-Signature: signed at {timestamp}, more than {tolerance_secs} s from now ({now})"
    )]
    OutsideTolerance { timestamp: i64, now: i64, tolerance_secs: u64 },
    #[error("Rota-Signature: no v1 signature matches the body")]
    Mismatch,
}

/// Checks a `Rota-Signature` header value against the body as received: the timestamp must be
/// within `tolerance` of `now` (Unix seconds, from the receiver's clock), and one `v1` entry must
/// equal the HMAC (compared in constant time). Unknown keys (`v0=`, a future `v2=`) are ignored.
pub fn verify(
    secret: &SigningSecret,
    header: &str,
    body: &[u8],
    tolerance: std::time::Duration,
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                let parsed = value.parse::<i64>().map_err(|_| SignatureError::Malformed)?;
                if timestamp.replace(parsed).is_some() {
                    return Err(SignatureError::Malformed);
                }
            }
            "v1" => candidates.push(value),
            _ => {}
        }
    }
    let (Some(timestamp), false) = (timestamp, candidates.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    let tolerance_secs = tolerance.as_secs();
    if now.abs_diff(timestamp) > tolerance_secs {
        return Err(SignatureError::OutsideTolerance { timestamp, now, tolerance_secs });
    }
    let expected = mac(secret, timestamp, body);
    for candidate in candidates {
        let Some(bytes) = unhex(candidate) else { continue };
        let mut check = HmacSha256::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        check.update(timestamp.to_string().as_bytes());
        check.update(b".");
        check.update(body);
        // `verify_slice` compares in constant time.
        if check.verify_slice(&bytes).is_ok() {
            debug_assert_eq!(bytes, expected);
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn secret() -> SigningSecret {
        SigningSecret::new("whsec_test").unwrap()
    }

    /// A vector computed independently: `printf '%s' '1767225600.{"a":1}' |
    /// openssl dgst -sha256 -hmac whsec_test` (and Python's `hmac` module agrees).
    #[test]
    fn matches_an_independent_computation() {
        assert_eq!(
            sign(&secret(), 1_767_225_600, br#"{"a":1}"#),
            "t=1767225600,v1=6d204545ff126a339c00513d93603299c984074ce1331c3537c3f6c976b49019"
        );
    }

    #[test]
    fn round_trips_and_rejects_tampering() {
        let header = sign(&secret(), 1000, b"body");
        verify(&secret(), &header, b"body", DEFAULT_TOLERANCE, 1000).unwrap();
        verify(&secret(), &header, b"body", DEFAULT_TOLERANCE, 1300).unwrap();
        assert_eq!(
            verify(&secret(), &header, b"body!", DEFAULT_TOLERANCE, 1000),
            Err(SignatureError::Mismatch)
        );
        let other = SigningSecret::new("other").unwrap();
        assert_eq!(
            verify(&other, &header, b"body", DEFAULT_TOLERANCE, 1000),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(&secret(), &header, b"body", Duration::from_secs(60), 1061),
            Err(SignatureError::OutsideTolerance { .. })
        ));
        // A different timestamp with the same v1 does not verify.
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(&secret(), &moved, b"body", DEFAULT_TOLERANCE, 1000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn accepts_any_matching_v1_and_ignores_unknown_keys() {
        let good = sign(&secret(), 5, b"x");
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t=5, v0=abc, v1={}, v1={v1}", "00".repeat(32));
        verify(&secret(), &header, b"x", DEFAULT_TOLERANCE, 5).unwrap();
    }

    #[test]
    fn malformed_headers_are_rejected() {
        for header in ["", "t=5", "v1=00", "t=x,v1=00", "t=5,t=6,v1=00", "garbage"] {
            assert_eq!(
                verify(&secret(), header, b"x", DEFAULT_TOLERANCE, 5),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(
            verify(&secret(), "t=5,v1=zz", b"x", DEFAULT_TOLERANCE, 5),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        assert_eq!(format!("{:?}", secret()), "SigningSecret(<redacted>)");
        assert!(SigningSecret::new("").is_none());
    }
}
