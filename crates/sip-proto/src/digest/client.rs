//! The answering side, for trunks that register to a carrier (RFC 7616 §3.4, RFC 8760 §2.4:
//! a client answers the strongest challenge it supports).

use std::fmt;

use ringfence_sip_types::auth::{Challenge, Credentials, DigestChallenge, DigestCredentials, Qop};
use zeroize::Zeroizing;

use super::AuthFailure;
use super::hash::{self, Ha1, HashAlgorithm, ResponseInput};

/// What a client proves knowledge of.
#[derive(Clone)]
pub enum Secret {
    /// The password: any algorithm can be answered.
    Password(Zeroizing<String>),
    /// Precomputed HA1s for the realm that will challenge (only their algorithms can be
    /// answered; the realm is not checked, it is the caller's to get right).
    Ha1(Vec<Ha1>),
}

impl Secret {
    /// A password secret.
    #[must_use]
    pub fn password(password: impl Into<String>) -> Self {
        Secret::Password(Zeroizing::new(password.into()))
    }

    fn ha1(&self, alg: HashAlgorithm, username: &str, realm: &str) -> Option<Ha1> {
        match self {
            Secret::Password(p) => Some(Ha1::compute(alg, username, realm, p)),
            Secret::Ha1(list) => list.iter().find(|h| h.algorithm() == alg).cloned(),
        }
    }

    fn supports(&self, alg: HashAlgorithm) -> bool {
        match self {
            Secret::Password(_) => true,
            Secret::Ha1(list) => list.iter().any(|h| h.algorithm() == alg),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Secret::Password(<redacted>)"),
            Secret::Ha1(list) => f.debug_tuple("Secret::Ha1").field(list).finish(),
        }
    }
}

/// How a challenge would be answered: hash, `-sess`, and whether with `qop=auth`.
fn plan(challenge: &DigestChallenge) -> Result<(HashAlgorithm, bool, bool), AuthFailure> {
    let (alg, sess) = HashAlgorithm::of(challenge.algorithm_or_default())
        .ok_or(AuthFailure::UnsupportedAlgorithm)?;
    let with_qop = if challenge.qop_options.is_empty() {
        if sess {
            return Err(AuthFailure::Malformed("-sess challenge without qop"));
        }
        false
    } else if challenge.qop_options.iter().any(hash::is_auth) {
        true
    } else {
        return Err(AuthFailure::UnsupportedQop);
    };
    Ok((alg, sess, with_qop))
}

/// Answers one digest challenge (the stateless core of [`DigestClient`]).
///
/// `cnonce` should be fresh random text per nonce (a SIP token is safest); `nc` counts the
/// requests made with this nonce, starting at 1. Without `qop` in the challenge, the
/// RFC 2069 form is produced and `cnonce`/`nc` are not used.
///
/// # Errors
/// [`AuthFailure::UnsupportedAlgorithm`] for an unknown algorithm or one `secret` has no
/// HA1 for; [`AuthFailure::UnsupportedQop`] when `auth` is not among the qop options.
pub fn respond(
    challenge: &DigestChallenge,
    method: &str,
    uri: &str,
    username: &str,
    secret: &Secret,
    cnonce: &str,
    nc: u32,
) -> Result<Credentials, AuthFailure> {
    let (alg, sess, with_qop) = plan(challenge)?;
    let ha1 =
        secret.ha1(alg, username, &challenge.realm).ok_or(AuthFailure::UnsupportedAlgorithm)?;
    let input = ResponseInput {
        sess,
        nonce: &challenge.nonce,
        cnonce: with_qop.then_some(cnonce),
        qop: with_qop.then_some((nc, "auth")),
        method,
        uri,
    };
    let response = hash::response(&ha1, &input).to_hex_string();
    Ok(Credentials::Digest(DigestCredentials {
        username: username.to_owned(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response,
        algorithm: challenge.algorithm.clone(),
        cnonce: with_qop.then(|| cnonce.to_owned()),
        opaque: challenge.opaque.clone(),
        qop: with_qop.then_some(Qop::Auth),
        nc: with_qop.then_some(nc),
        userhash: false,
        params: Vec::new(),
    }))
}

/// A client that keeps the last challenge answered, so later requests can reuse its nonce
/// with an increasing nonce count. Hashed usernames (`userhash`) are not used.
///
/// Loop protection (a second non-stale challenge after an answer means the credentials are
/// wrong) is the caller's: count attempts per request.
#[derive(Debug)]
pub struct DigestClient {
    username: String,
    secret: Secret,
    current: Option<(DigestChallenge, u32)>,
}

impl DigestClient {
    /// A client authenticating as `username` with `secret`.
    #[must_use]
    pub fn new(username: impl Into<String>, secret: Secret) -> Self {
        DigestClient { username: username.into(), secret, current: None }
    }

    /// The strongest digest challenge this client can answer: SHA-512-256 over SHA-256 over
    /// MD5, plain over `-sess`, the server's order among equals.
    ///
    /// # Errors
    /// [`AuthFailure::UnsupportedScheme`] with no digest challenge at all, else why the last
    /// digest challenge could not be answered.
    pub fn choose<'c>(
        &self,
        challenges: &'c [Challenge],
    ) -> Result<&'c DigestChallenge, AuthFailure> {
        let mut best: Option<(&DigestChallenge, (u8, bool))> = None;
        let mut why = AuthFailure::UnsupportedScheme;
        for c in challenges.iter().filter_map(Challenge::as_digest) {
            match plan(c) {
                Ok((alg, _, _)) if !self.secret.supports(alg) => {
                    why = AuthFailure::UnsupportedAlgorithm;
                }
                Ok((alg, sess, _)) => {
                    let rank = (alg.strength(), !sess);
                    if best.is_none_or(|(_, r)| rank > r) {
                        best = Some((c, rank));
                    }
                }
                Err(e) => why = e,
            }
        }
        best.map(|(c, _)| c).ok_or(why)
    }

    /// Answers the challenges of a 401/407 for a request `method uri`. The nonce count
    /// restarts at 1 for a new nonce and continues for a nonce already in use.
    ///
    /// # Errors
    /// As [`DigestClient::choose`].
    pub fn respond(
        &mut self,
        challenges: &[Challenge],
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> Result<Credentials, AuthFailure> {
        let chosen = self.choose(challenges)?;
        let nc = match &self.current {
            Some((prev, nc)) if prev.nonce == chosen.nonce && prev.realm == chosen.realm => {
                nc.checked_add(1).ok_or(AuthFailure::Stale)?
            }
            _ => 1,
        };
        let creds = respond(chosen, method, uri, &self.username, &self.secret, cnonce, nc)?;
        self.current = Some((chosen.clone(), nc));
        Ok(creds)
    }

    /// Credentials for the next request with the nonce in use (nonce count + 1), or `None`
    /// before any challenge, or when the count is exhausted.
    pub fn authorize(&mut self, method: &str, uri: &str, cnonce: &str) -> Option<Credentials> {
        let (challenge, nc) = self.current.as_mut()?;
        let next = nc.checked_add(1)?;
        let creds =
            respond(challenge, method, uri, &self.username, &self.secret, cnonce, next).ok()?;
        *nc = next;
        Some(creds)
    }

    /// Forgets the nonce in use (e.g. after the registration ended).
    pub fn reset(&mut self) {
        self.current = None;
    }
}
