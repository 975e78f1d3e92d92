//! Request signing: the `Rota-Signature` header that lets a receiver reject calls that did not
//! come from Rota, or that were replayed to another path or with another body.
//!
//! The header has the form Stripe uses, with two signatures:
//!
//! ```text
//! Rota-Signature: t=1767225600,v1=6d20…9019,v2=1aac…ba72
//! ```
//!
//! `t` is the time of signing in Unix seconds. Both signatures are lower-case hex HMAC-SHA256
//! keyed with the tenant's secret:
//!
//! - `v2` (use this one) covers the whole request: the bytes
//!   `"v2\n<t>\n<METHOD>\n<target>\n<idempotency-key>\n<body>"`, that is the literal `v2`, the
//!   decimal timestamp, the method in upper case, the request target exactly as sent in the
//!   request line (the path, and `?` and the query when there is one), the `Idempotency-Key`
//!   header's value (empty when the request has none), each followed by a line feed, then the
//!   raw body (empty for `GET` and `HEAD`). Only the body, which comes last, can contain a line
//!   feed (a request target and a header value cannot), so the string is unambiguous.
//! - `v1` (kept for receivers written before `v2`) covers `"<t>.<body>"` only: for a request
//!   without a body it covers nothing but the time, so one captured header would be valid for
//!   any body-less request to any path of that tenant. [`verify`] accepts `v1` only for a
//!   request with a body, and ignores it when `v2` is present.
//!
//! A receiver recomputes the HMAC over the request exactly as received, compares it in constant
//! time, and rejects a `t` too far from its own clock (a replayed request). [`verify`] does all
//! of it; the README shows the same check in Python and in shell with `openssl`, with the test
//! vector of [`tests::the_readme_vector_matches_an_independent_computation`].
//!
//! HTTP handlers sign every request of a tenant that has a webhook secret; the notification
//! worker signs its webhooks with the same function. Several `v1=` or `v2=` entries may appear
//! while a secret is being rotated: a receiver accepts the request if any of them matches.

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

/// What a signature covers: the request as it goes on the wire (and as the receiver sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedRequest<'a> {
    /// `POST`, `GET`, ...: compared in upper case.
    pub method: &'a str,
    /// The request target as sent in the request line: the path, and `?query` when there is one
    /// (`/hooks/run?tenant=acme`); `/` for an empty path.
    pub target: &'a str,
    /// The `Idempotency-Key` header's value; empty when the request has none.
    pub idempotency_key: &'a str,
    /// The raw body; empty for `GET` and `HEAD`.
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    /// The target of `url` as a client sends it: the path and `?query`, never the fragment or
    /// the user info.
    pub fn target_of(url: &reqwest::Url) -> String {
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }
}

/// The `Rota-Signature` value for `request` signed at `timestamp` (Unix seconds) with
/// `secret`: `t=<timestamp>,v1=<hex>,v2=<hex>` (see the module's documentation).
pub fn sign(secret: &SigningSecret, timestamp: i64, request: &SignedRequest<'_>) -> String {
    let v1 = v1_mac(secret, timestamp, request.body).finalize().into_bytes();
    let v2 = v2_mac(secret, timestamp, request).finalize().into_bytes();
    format!("t={timestamp},v1={},v2={}", hex(&v1), hex(&v2))
}

fn keyed(secret: &SigningSecret) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.expose().as_bytes()).expect("HMAC accepts keys of any length")
}

/// The HMAC of `"<t>.<body>"`, not yet finalized.
fn v1_mac(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = keyed(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The HMAC of `"v2\n<t>\n<METHOD>\n<target>\n<key>\n<body>"`, not yet finalized.
fn v2_mac(secret: &SigningSecret, timestamp: i64, request: &SignedRequest<'_>) -> HmacSha256 {
    let mut mac = keyed(secret);
    let head = format!(
        "v2\n{timestamp}\n{}\n{}\n{}\n",
        request.method.to_ascii_uppercase(),
        request.target,
        request.idempotency_key
    );
    mac.update(head.as_bytes());
    mac.update(request.body);
    mac
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
    #[error("Rota-Signature: malformed header; expected t=<unix seconds>,v1=<hex>,v2=<hex>")]
    Malformed,
    #[error(
        "Rota-Signature: signed at {timestamp}, more than {tolerance_secs} s from now ({now})"
    )]
    OutsideTolerance { timestamp: i64, now: i64, tolerance_secs: u64 },
    #[error("Rota-Signature: no signature matches the request")]
    Mismatch,
    #[error(
        "Rota-Signature: a request without a body needs a v2 signature (v1 covers only the body)"
    )]
    V2Required,
}

/// Checks a `Rota-Signature` header value against the request as received: the timestamp must
/// be within `tolerance` of `now` (Unix seconds, from the receiver's clock), and a signature
/// must match (compared in constant time). With `v2` entries, one of them must match and `v1`
/// is ignored; without, a `v1` entry is accepted for a request with a body only. Unknown keys
/// (`v0=`, a future `v3=`) are ignored.
pub fn verify(
    secret: &SigningSecret,
    header: &str,
    request: &SignedRequest<'_>,
    tolerance: std::time::Duration,
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                let parsed = value.parse::<i64>().map_err(|_| SignatureError::Malformed)?;
                if timestamp.replace(parsed).is_some() {
                    return Err(SignatureError::Malformed);
                }
            }
            "v1" => v1.push(value),
            "v2" => v2.push(value),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return Err(SignatureError::Malformed) };
    if v1.is_empty() && v2.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let tolerance_secs = tolerance.as_secs();
    if now.abs_diff(timestamp) > tolerance_secs {
        return Err(SignatureError::OutsideTolerance { timestamp, now, tolerance_secs });
    }
    let (candidates, mac) = if !v2.is_empty() {
        (v2, v2_mac(secret, timestamp, request))
    } else if request.body.is_empty() {
        return Err(SignatureError::V2Required);
    } else {
        (v1, v1_mac(secret, timestamp, request.body))
    };
    for candidate in candidates {
        let Some(bytes) = unhex(candidate) else { continue };
        // `verify_slice` compares in constant time.
        if mac.clone().verify_slice(&bytes).is_ok() {
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

    const KEY: &str = "0190f3c2-7a4e-7d41-9b1c-2f5d0c8e1a77:2026-01-01T00:00:00Z";

    fn post(body: &[u8]) -> SignedRequest<'_> {
        SignedRequest {
            method: "POST",
            target: "/hooks/run?tenant=acme",
            idempotency_key: KEY,
            body,
        }
    }

    fn get() -> SignedRequest<'static> {
        SignedRequest { method: "GET", body: b"", ..post(b"") }
    }

    /// The README's vectors, computed independently:
    /// `printf 'v2\n1767225600\nPOST\n/hooks/run?tenant=acme\n<key>\n{"a":1}' |
    /// openssl dgst -sha256 -hmac whsec_test`, and `printf '%s' '1767225600.{"a":1}' | ...` for
    /// `v1` (Python's `hmac` module agrees on both).
    #[test]
    fn the_readme_vector_matches_an_independent_computation() {
        assert_eq!(
            sign(&secret(), 1_767_225_600, &post(br#"{"a":1}"#)),
            "t=1767225600,\
             v1=6d204545ff126a339c00513d93603299c984074ce1331c3537c3f6c976b49019,\
             v2=1aace2e4c86238bc6574a75021a9182cdc67b67f768ead534b9341c64e69ba72"
        );
        assert_eq!(
            sign(&secret(), 1_767_225_600, &get()),
            "t=1767225600,\
             v1=bc5f22c68024f86d3be1b4ddd6417a119940e00ea9c5f409f8e48b2b4c7c771f,\
             v2=ade524b62dfb859fe757513ac4e6459e5cdefdf9a2de45117557de498daf69f2"
        );
    }

    #[test]
    fn round_trips_and_rejects_tampering() {
        let header = sign(&secret(), 1000, &post(b"body"));
        verify(&secret(), &header, &post(b"body"), DEFAULT_TOLERANCE, 1000).unwrap();
        verify(&secret(), &header, &post(b"body"), DEFAULT_TOLERANCE, 1300).unwrap();
        assert_eq!(
            verify(&secret(), &header, &post(b"body!"), DEFAULT_TOLERANCE, 1000),
            Err(SignatureError::Mismatch)
        );
        let other = SigningSecret::new("other").unwrap();
        assert_eq!(
            verify(&other, &header, &post(b"body"), DEFAULT_TOLERANCE, 1000),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(&secret(), &header, &post(b"body"), Duration::from_secs(60), 1061),
            Err(SignatureError::OutsideTolerance { .. })
        ));
        // A different timestamp with the same signatures does not verify.
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(&secret(), &moved, &post(b"body"), DEFAULT_TOLERANCE, 1000),
            Err(SignatureError::Mismatch)
        );
    }

    /// The weakness v2 closes: a v1 header of a body-less request covered only `"<t>."`, so it
    /// verified for any body-less request to any path of the tenant. A v2 header binds the
    /// method, the path and query, and the idempotency key.
    #[test]
    fn v2_binds_method_target_and_key() {
        let header = sign(&secret(), 1000, &get());
        verify(&secret(), &header, &get(), DEFAULT_TOLERANCE, 1000).unwrap();
        let replays = [
            SignedRequest { target: "/admin/delete?all=1", ..get() },
            SignedRequest { target: "/hooks/run?tenant=globex", ..get() },
            SignedRequest { method: "DELETE", ..get() },
            SignedRequest { idempotency_key: "other:2026-01-01T00:00:00Z", ..get() },
            SignedRequest { idempotency_key: "", ..get() },
        ];
        for replay in replays {
            assert_eq!(
                verify(&secret(), &header, &replay, DEFAULT_TOLERANCE, 1000),
                Err(SignatureError::Mismatch),
                "{replay:?}"
            );
        }
        // The method's case does not matter (HTTP methods are upper case on the wire).
        verify(
            &secret(),
            &header,
            &SignedRequest { method: "get", ..get() },
            DEFAULT_TOLERANCE,
            1000,
        )
        .unwrap();
        // With v2 stripped, the v1 that is left covers nothing of a body-less request: refused.
        let v1_only = header.split(",v2=").next().unwrap();
        assert_eq!(
            verify(&secret(), v1_only, &get(), DEFAULT_TOLERANCE, 1000),
            Err(SignatureError::V2Required)
        );
        // A v2 that does not match is not rescued by a v1 that does.
        let body_header = sign(&secret(), 1000, &post(b"x"));
        let moved = SignedRequest { target: "/elsewhere", ..post(b"x") };
        assert_eq!(
            verify(&secret(), &body_header, &moved, DEFAULT_TOLERANCE, 1000),
            Err(SignatureError::Mismatch)
        );
    }

    /// Receivers written for v1 keep working for requests with a body.
    #[test]
    fn v1_alone_still_verifies_a_request_with_a_body() {
        let header = sign(&secret(), 5, &post(b"x"));
        let v1 = header.split(",v1=").nth(1).unwrap().split(",v2=").next().unwrap();
        let v1_only = format!("t=5, v0=abc, v1={}, v1={v1}", "00".repeat(32));
        verify(&secret(), &v1_only, &post(b"x"), DEFAULT_TOLERANCE, 5).unwrap();
        assert_eq!(
            verify(&secret(), &v1_only, &post(b"y"), DEFAULT_TOLERANCE, 5),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn accepts_any_matching_v2_and_ignores_unknown_keys() {
        let good = sign(&secret(), 5, &post(b"x"));
        let v2 = good.split_once(",v2=").unwrap().1;
        let header = format!("t=5, v3=abc, v2={}, v2={v2}", "00".repeat(32));
        verify(&secret(), &header, &post(b"x"), DEFAULT_TOLERANCE, 5).unwrap();
    }

    #[test]
    fn malformed_headers_are_rejected() {
        for header in ["", "t=5", "v1=00", "v2=00", "t=x,v2=00", "t=5,t=6,v2=00", "garbage"] {
            assert_eq!(
                verify(&secret(), header, &post(b"x"), DEFAULT_TOLERANCE, 5),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(
            verify(&secret(), "t=5,v2=zz", &post(b"x"), DEFAULT_TOLERANCE, 5),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn targets_are_the_path_and_query_as_sent() {
        let url = reqwest::Url::parse("https://u:p@example.com:8443/a/b?x=1&y=%20#frag").unwrap();
        assert_eq!(SignedRequest::target_of(&url), "/a/b?x=1&y=%20");
        let url = reqwest::Url::parse("https://example.com").unwrap();
        assert_eq!(SignedRequest::target_of(&url), "/");
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        assert_eq!(format!("{:?}", secret()), "SigningSecret(<redacted>)");
        assert!(SigningSecret::new("").is_none());
    }
}
