//! Stateless nonces: the server keeps nothing per challenge; a nonce carries its own issue
//! time and proves with an HMAC that this server made it for this realm and source.
//!
//! ```text
//! nonce = base64url-nopad( ts || random || tag )                      48 characters
//!   ts     = issue time, unix milliseconds, 8 bytes big-endian
//!   random = 12 random bytes (two challenges in the same millisecond differ)
//!   tag    = HMAC-SHA256(key, "rf-nonce-v1" || ts || random || len(realm) || realm
//!                             || family || source-ip)[..16]
//! ```
//!
//! The source is bound by **IP address only**, not port: NAT bindings of phones are often
//! rebound to a new port between the challenge and the retried request, and a port-bound
//! nonce would fail them needlessly. An IPv4-mapped IPv6 address counts as the IPv4 one.
//! Within one IP, replay is stopped by the nonce-count table, not by the binding.
//!
//! The nonce alphabet (`A-Z a-z 0-9 - _`) is a SIP token, so the value is safe both quoted
//! and bare.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use ring::hmac;
use subtle::ConstantTimeEq as _;

const TS_LEN: usize = 8;
const RANDOM_LEN: usize = 12;
const TAG_LEN: usize = 16;
const RAW_LEN: usize = TS_LEN + RANDOM_LEN + TAG_LEN;
/// Length of every nonce this module issues, in characters.
pub const NONCE_LEN: usize = RAW_LEN / 3 * 4;
const LABEL: &[u8] = b"rf-nonce-v1";

/// What a genuine nonce says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceInfo {
    /// Issue time, unix milliseconds.
    pub issued_ms: u64,
    /// The nonce's tag: unique per nonce, keys the nonce-count table.
    pub(crate) tag: [u8; TAG_LEN],
}

/// Issues and checks nonces under one server key.
pub struct NonceSource {
    key: hmac::Key,
}

impl fmt::Debug for NonceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceSource { key: <redacted> }")
    }
}

impl NonceSource {
    /// A source keyed with `key` (32 random bytes kept by the server; every node of a
    /// cluster that should accept each other's nonces shares it).
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        NonceSource { key: hmac::Key::new(hmac::HMAC_SHA256, key) }
    }

    /// A fresh nonce for `realm` and `source`, issued at `now_ms`.
    #[must_use]
    pub fn issue(&self, realm: &str, source: IpAddr, now_ms: u64) -> String {
        let mut random = [0; RANDOM_LEN];
        rand::rng().fill_bytes(&mut random);
        self.issue_with_random(realm, source, now_ms, random)
    }

    /// As [`NonceSource::issue`] with the random part given (deterministic tests).
    #[must_use]
    pub fn issue_with_random(
        &self,
        realm: &str,
        source: IpAddr,
        now_ms: u64,
        random: [u8; RANDOM_LEN],
    ) -> String {
        let ts = now_ms.to_be_bytes();
        let mut raw = [0; RAW_LEN];
        raw[..TS_LEN].copy_from_slice(&ts);
        raw[TS_LEN..TS_LEN + RANDOM_LEN].copy_from_slice(&random);
        raw[TS_LEN + RANDOM_LEN..].copy_from_slice(&self.tag(&ts, &random, realm, source));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks that `nonce` was issued by this key for `realm` and `source`; `None` for a
    /// forged, altered, foreign or garbage nonce. Age is the caller's decision.
    #[must_use]
    pub fn check(&self, nonce: &str, realm: &str, source: IpAddr) -> Option<NonceInfo> {
        if nonce.len() != NONCE_LEN {
            return None;
        }
        let mut raw = [0; RAW_LEN];
        match URL_SAFE_NO_PAD.decode_slice(nonce, &mut raw) {
            Ok(RAW_LEN) => {}
            _ => return None,
        }
        let mut ts = [0; TS_LEN];
        ts.copy_from_slice(&raw[..TS_LEN]);
        let mut random = [0; RANDOM_LEN];
        random.copy_from_slice(&raw[TS_LEN..TS_LEN + RANDOM_LEN]);
        let mut tag = [0; TAG_LEN];
        tag.copy_from_slice(&raw[TS_LEN + RANDOM_LEN..]);
        let expected = self.tag(&ts, &random, realm, source);
        if bool::from(expected.ct_eq(&tag)) {
            Some(NonceInfo { issued_ms: u64::from_be_bytes(ts), tag })
        } else {
            None
        }
    }

    fn tag(
        &self,
        ts: &[u8; TS_LEN],
        random: &[u8; RANDOM_LEN],
        realm: &str,
        source: IpAddr,
    ) -> [u8; TAG_LEN] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(LABEL);
        ctx.update(ts);
        ctx.update(random);
        // Length-prefixed so realm and address cannot trade bytes.
        ctx.update(&u32::try_from(realm.len()).unwrap_or(u32::MAX).to_be_bytes());
        ctx.update(realm.as_bytes());
        match source.to_canonical() {
            IpAddr::V4(v4) => {
                ctx.update(&[4]);
                ctx.update(&v4.octets());
            }
            IpAddr::V6(v6) => {
                ctx.update(&[6]);
                ctx.update(&v6.octets());
            }
        }
        let full = ctx.sign();
        let mut tag = [0; TAG_LEN];
        tag.copy_from_slice(&full.as_ref()[..TAG_LEN]);
        tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const KEY: [u8; 32] = [7; 32];
    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));

    #[test]
    fn issued_nonce_checks_and_carries_its_time() {
        let src = NonceSource::new(&KEY);
        let n = src.issue("example.com", IP, 1_700_000_000_123);
        assert_eq!(n.len(), NONCE_LEN);
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let info = src.check(&n, "example.com", IP).unwrap();
        assert_eq!(info.issued_ms, 1_700_000_000_123);
    }

    #[test]
    fn nonces_are_unique_within_one_millisecond() {
        let src = NonceSource::new(&KEY);
        let a = src.issue("r", IP, 5);
        let b = src.issue("r", IP, 5);
        assert_ne!(a, b);
    }

    #[test]
    fn binding_to_realm_source_and_key() {
        let src = NonceSource::new(&KEY);
        let n = src.issue_with_random("example.com", IP, 42, [1; 12]);
        assert!(src.check(&n, "example.org", IP).is_none());
        assert!(src.check(&n, "example.com", "192.0.2.11".parse().unwrap()).is_none());
        assert!(NonceSource::new(&[8; 32]).check(&n, "example.com", IP).is_none());
        // Same IP, any port: the port is not bound (NAT rebinding), and a mapped address
        // is the IPv4 one.
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 10).to_ipv6_mapped());
        assert!(src.check(&n, "example.com", mapped).is_some());
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let n6 = src.issue("r", v6, 1);
        assert!(src.check(&n6, "r", v6).is_some());
        assert!(src.check(&n6, "r", IpAddr::V4(Ipv4Addr::LOCALHOST)).is_none());
    }

    #[test]
    fn tampering_and_garbage_are_refused() {
        let src = NonceSource::new(&KEY);
        let n = src.issue_with_random("r", IP, 42, [1; 12]);
        for i in 0..n.len() {
            let mut b = n.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(b).unwrap();
            assert!(src.check(&tampered, "r", IP).is_none(), "byte {i}");
        }
        for garbage in ["", "abc", &n[1..], &format!("{n}A"), &"=".repeat(NONCE_LEN)] {
            assert!(src.check(garbage, "r", IP).is_none(), "{garbage}");
        }
    }
}
