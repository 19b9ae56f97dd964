//! Digest authentication, server and client (RFC 3261 §22, RFC 7616, RFC 8760).
//!
//! Place in the data flow: after a request has been parsed and matched to a transaction,
//! the registrar or B2BUA asks [`DigestServer::verify`] about its `Authorization` /
//! `Proxy-Authorization` value and answers 401/407 with [`DigestServer::challenge`] when
//! it fails. Trunks registering to a carrier use [`DigestClient`]. Header values are the
//! wire types of `ringfence_sip_types::auth`; this module does the arithmetic and policy.
//!
//! Server properties:
//! - Challenges offer `SHA-256` then `MD5` (RFC 8760 §2.4: the preferred one first), both
//!   with `qop="auth"`; MD5 can be switched off.
//! - Secrets are per-realm HA1s ([`Ha1`]); the verifier never sees a password.
//! - Nonces are stateless HMACs over issue time, realm and source IP ([`NonceSource`]);
//!   an expired nonce with correct credentials yields [`AuthFailure::Stale`] (answer with
//!   `stale=true`), a forged or foreign one [`AuthFailure::Invalid`].
//! - Nonce counts are tracked in bounded memory; a repeated count is
//!   [`AuthFailure::Replay`], a nonce the table may have forgotten is `Stale`.
//! - Unknown user and wrong password give the same [`AuthFailure::Invalid`] after the same
//!   work: with no HA1 the response is computed against a dummy secret, and the comparison
//!   is constant-time. (The caller's HA1 lookup must be equally even-handed.)
//! - `qop=auth` only; `auth-int` is refused as unsupported. RFC 2069 responses (no qop,
//!   hence no nonce count) are refused unless [`DigestConfig::allow_rfc2069`] is set, and
//!   then each nonce is good for one request.
//! - `-sess` algorithms are verified (HA1-sess is derived from the stored HA1).
//! - `userhash` is not offered, and hashed usernames are refused.
//!
//! Everything is sans-IO: time is a parameter, nothing blocks or spawns. The server is
//! `Sync`; its only shared state is the sharded nonce-count table.

mod client;
mod hash;
mod nonce;
mod replay;
mod server;
mod uri;

use std::time::Duration;

pub use client::{DigestClient, Secret, respond};
pub use hash::{Ha1, HashAlgorithm, compute_response};
pub use nonce::{NONCE_LEN, NonceInfo, NonceSource};
pub use server::{AuthRequest, DigestServer, Verified};
pub use uri::UriCheck;

/// Why a digest exchange failed. Server-side variants are the peer's fault (answer 401/407
/// with a new challenge, or 400 for `Malformed`); `InvalidSecret` is ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The nonce expired (or may have been forgotten) but the credentials were right:
    /// challenge again with `stale=true`.
    #[error("nonce is stale: challenge again with stale=true")]
    Stale,
    /// The credentials do not verify: unknown user, wrong password, or a nonce this
    /// server did not issue for this realm and source. Deliberately one value.
    #[error("credentials do not verify")]
    Invalid,
    /// The nonce count was not higher than the last one seen for this nonce.
    #[error("nonce count already used with this nonce: replayed request")]
    Replay,
    /// The credentials break a rule of the digest scheme.
    #[error("malformed digest credentials: {0}")]
    Malformed(&'static str),
    /// Not the `Digest` scheme (or, for a client, no digest challenge offered).
    #[error("authentication scheme is not Digest")]
    UnsupportedScheme,
    /// An algorithm this side does not accept.
    #[error("digest algorithm not supported")]
    UnsupportedAlgorithm,
    /// A qop other than `auth` (for a client: no `auth` among the options).
    #[error("digest qop not supported (only auth)")]
    UnsupportedQop,
    /// The credentials name another realm than the one challenged.
    #[error("digest realm does not match")]
    RealmMismatch,
    /// The digest `uri` does not name the request's target (see [`UriCheck`]).
    #[error("digest uri does not match the request-URI")]
    UriMismatch,
    /// A stored secret has the wrong length for its algorithm (internal fault).
    #[error("stored digest secret has {got} bytes, expected {expected}")]
    InvalidSecret {
        /// Length the algorithm needs.
        expected: usize,
        /// Length found.
        got: usize,
    },
}

impl AuthFailure {
    /// Whether the answering challenge should carry `stale=true`.
    #[must_use]
    pub fn is_stale(&self) -> bool {
        matches!(self, AuthFailure::Stale)
    }
}

/// Server policy. Build with `DigestConfig::default()` and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DigestConfig {
    /// How long a nonce is good for. Default 300 s.
    pub nonce_lifetime: Duration,
    /// How far in the future a nonce's issue time may be (clock steps, cluster nodes).
    /// Default 2 s; later ones are stale.
    pub max_clock_skew: Duration,
    /// Nonces whose counts are remembered at once (about 48 bytes each). Default 65 536.
    pub replay_capacity: usize,
    /// The `uri` check. Default [`UriCheck::Strict`].
    pub uri_check: UriCheck,
    /// Accept responses without `qop` (RFC 2069), one request per nonce. Default false.
    pub allow_rfc2069: bool,
    /// Offer and accept MD5 (besides SHA-256). Default true: most phones speak only MD5.
    pub offer_md5: bool,
    /// An `opaque` value to put in challenges; when set, credentials must echo it.
    pub opaque: Option<String>,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            nonce_lifetime: Duration::from_secs(300),
            max_clock_skew: Duration::from_secs(2),
            replay_capacity: 65_536,
            uri_check: UriCheck::Strict,
            allow_rfc2069: false,
            offer_md5: true,
            opaque: None,
        }
    }
}
