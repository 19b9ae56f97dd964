//! The verifying side: challenges out, credentials in.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ringfence_sip_types::auth::{Algorithm, Challenge, Credentials, DigestChallenge, Qop};
use subtle::ConstantTimeEq as _;

use super::hash::{self, Ha1, HashAlgorithm, ResponseInput};
use super::nonce::NonceSource;
use super::replay::{NcCheck, ReplayTable};
use super::uri::uri_matches;
use super::{AuthFailure, DigestConfig};

/// What the verifier needs to know about the request carrying the credentials.
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The request method (`A2 = Method ":" uri`).
    pub method: &'a str,
    /// The request-URI, for the `uri` check.
    pub request_uri: &'a str,
    /// The realm the request is for (the tenant's domain).
    pub realm: &'a str,
    /// The source IP the request came from (port deliberately not used).
    pub source: IpAddr,
    /// The current time.
    pub now: SystemTime,
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The authenticated username.
    pub username: String,
    /// The algorithm the client used.
    pub algorithm: Algorithm,
    /// The nonce count accepted (1 for an RFC 2069 response).
    pub nc: u32,
    /// When the nonce was issued.
    pub nonce_issued: SystemTime,
}

/// Digest server: issues challenges and verifies credentials. `Sync`; share it by reference.
#[derive(Debug)]
pub struct DigestServer {
    nonces: NonceSource,
    replay: ReplayTable,
    config: DigestConfig,
    /// Secrets used when the user is unknown, so the work is the same (by hash index).
    dummy: [Ha1; 3],
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl DigestServer {
    /// A server keyed with `key` (32 secret random bytes, kept across restarts and shared by
    /// cluster nodes), started at `now`: nonces issued before `now` are re-challenged.
    #[must_use]
    pub fn new(key: &[u8; 32], config: DigestConfig, now: SystemTime) -> Self {
        // Any value will do: an unknown user fails regardless; this only evens out the work.
        let dummy = |alg: HashAlgorithm| Ha1::compute(alg, "", "", "rf-unknown-user");
        DigestServer {
            nonces: NonceSource::new(key),
            replay: ReplayTable::new(config.replay_capacity, unix_ms(now)),
            dummy: [
                dummy(HashAlgorithm::Md5),
                dummy(HashAlgorithm::Sha256),
                dummy(HashAlgorithm::Sha512_256),
            ],
            config,
        }
    }

    /// The policy in force.
    #[must_use]
    pub fn config(&self) -> &DigestConfig {
        &self.config
    }

    /// The challenges for a 401/407: `SHA-256` first, then `MD5` (unless switched off),
    /// sharing one fresh nonce, `qop="auth"`, `stale=true` when asked.
    #[must_use]
    pub fn challenge(
        &self,
        realm: &str,
        source: IpAddr,
        now: SystemTime,
        stale: bool,
    ) -> Vec<Challenge> {
        let nonce = self.nonces.issue(realm, source, unix_ms(now));
        let mut algorithms = vec![Algorithm::Sha256];
        if self.config.offer_md5 {
            algorithms.push(Algorithm::Md5);
        }
        algorithms
            .into_iter()
            .map(|alg| {
                Challenge::Digest(DigestChallenge {
                    realm: realm.to_owned(),
                    nonce: nonce.clone(),
                    opaque: self.config.opaque.clone(),
                    stale,
                    algorithm: Some(alg),
                    qop_options: vec![Qop::Auth],
                    ..DigestChallenge::default()
                })
            })
            .collect()
    }

    /// Verifies `credentials` for `request`. `lookup_ha1(username, hash)` returns the
    /// user's HA1 for the request's realm, or `None` for an unknown user; it is called only
    /// once the nonce is known genuine, and the outcome for `None` is the same
    /// [`AuthFailure::Invalid`] as for a wrong password, after the same hashing work.
    ///
    /// # Errors
    /// The [`AuthFailure`] to answer with.
    pub fn verify(
        &self,
        credentials: &Credentials,
        request: &AuthRequest<'_>,
        lookup_ha1: impl FnOnce(&str, HashAlgorithm) -> Option<Ha1>,
    ) -> Result<Verified, AuthFailure> {
        let Credentials::Digest(c) = credentials else {
            return Err(AuthFailure::UnsupportedScheme);
        };
        if c.realm != request.realm {
            return Err(AuthFailure::RealmMismatch);
        }
        let algorithm = c.algorithm_or_default();
        let (hash_alg, sess) = match HashAlgorithm::of(algorithm) {
            Some((h @ HashAlgorithm::Sha256, s)) => (h, s),
            Some((h @ HashAlgorithm::Md5, s)) if self.config.offer_md5 => (h, s),
            _ => return Err(AuthFailure::UnsupportedAlgorithm),
        };
        if c.userhash {
            return Err(AuthFailure::Malformed("userhash was not offered"));
        }
        let (nc, qop) = match &c.qop {
            Some(Qop::Auth) => {
                let nc = c.nc.ok_or(AuthFailure::Malformed("qop=auth without nc"))?;
                if c.cnonce.as_deref().is_none_or(str::is_empty) {
                    return Err(AuthFailure::Malformed("qop=auth without cnonce"));
                }
                if nc == 0 {
                    return Err(AuthFailure::Malformed("nc must start at 00000001"));
                }
                (nc, Some((nc, "auth")))
            }
            Some(_) => return Err(AuthFailure::UnsupportedQop),
            None if !self.config.allow_rfc2069 => {
                return Err(AuthFailure::Malformed("qop missing (RFC 2069 responses refused)"));
            }
            None if sess => return Err(AuthFailure::Malformed("-sess algorithm without qop")),
            None => (1, None),
        };
        let mut claimed = [0u8; 32];
        let claimed = &mut claimed[..hash_alg.output_len()];
        if !hash::decode_hex(&c.response, claimed) {
            return Err(AuthFailure::Malformed("response is not a hex digest of the right length"));
        }
        if let Some(opaque) = &self.config.opaque
            && c.opaque.as_ref() != Some(opaque)
        {
            return Err(AuthFailure::Malformed("opaque does not echo the challenge"));
        }
        if !uri_matches(self.config.uri_check, &c.uri, request.request_uri, request.realm) {
            return Err(AuthFailure::UriMismatch);
        }
        let info = self
            .nonces
            .check(&c.nonce, request.realm, request.source)
            .ok_or(AuthFailure::Invalid)?;

        let found = lookup_ha1(&c.username, hash_alg).filter(|h| h.algorithm() == hash_alg);
        let known = found.is_some();
        let ha1 = found.as_ref().unwrap_or(&self.dummy[hash_alg.index()]);
        let input = ResponseInput {
            sess,
            nonce: &c.nonce,
            cnonce: c.cnonce.as_deref(),
            qop,
            method: request.method,
            uri: &c.uri,
        };
        let expected = hash::response(ha1, &input);
        let matches = expected.as_bytes().ct_eq(claimed) & subtle::Choice::from(u8::from(known));
        if !bool::from(matches) {
            return Err(AuthFailure::Invalid);
        }

        let now_ms = unix_ms(request.now);
        let lifetime = millis(self.config.nonce_lifetime);
        if info.issued_ms > now_ms.saturating_add(millis(self.config.max_clock_skew))
            || now_ms.saturating_sub(info.issued_ms) > lifetime
        {
            return Err(AuthFailure::Stale);
        }
        match self.replay.check(info.issued_ms, info.tag, nc, now_ms.saturating_sub(lifetime)) {
            NcCheck::Fresh => Ok(Verified {
                username: c.username.clone(),
                algorithm: algorithm.clone(),
                nc,
                nonce_issued: UNIX_EPOCH + Duration::from_millis(info.issued_ms),
            }),
            NcCheck::Replay => Err(AuthFailure::Replay),
            NcCheck::Forgotten => Err(AuthFailure::Stale),
        }
    }

    /// Nonces whose counts are currently remembered (for metrics).
    #[must_use]
    pub fn tracked_nonces(&self) -> usize {
        self.replay.len()
    }
}
