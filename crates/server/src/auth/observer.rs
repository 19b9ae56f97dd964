//! The hook through which the perimeter guard (and metrics) learn about authentication
//! outcomes, with the (realm, username, source) triple it counts failures by, and through
//! which it may refuse an attempt before the credentials are even checked.

use ringfence_sip_proto::transaction::Peer;
use ringfence_sip_types::Method;
use ringfence_store::TenantId;

/// One authentication attempt that carried credentials.
#[derive(Debug, Clone, Copy)]
pub struct AuthEvent<'a> {
    /// The realm (the SIP domain the request named).
    pub realm: &'a str,
    /// The tenant of that domain, if there is one.
    pub tenant: Option<TenantId>,
    /// The digest username as sent (attacker-controlled text: escape before logging).
    pub username: &'a str,
    /// Where the request came from.
    pub source: Peer,
    /// The request method.
    pub method: &'a Method,
}

/// Why an attempt failed. Internal only: on the wire every reason looks the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// Unknown domain, unknown or disabled extension, no credentials set, wrong password,
    /// or a nonce this server did not issue. Deliberately one value.
    BadCredentials,
    /// The nonce count was used before: a replayed request.
    Replay,
    /// The credentials break the digest rules (wrong realm, algorithm, uri, qop, ...).
    Malformed,
    /// Right credentials, but the tenant requires TLS and the request came over a plain
    /// transport.
    PlainTransport,
    /// Right credentials, but the source address is outside the tenant's allowed device
    /// networks.
    SourceNetwork,
}

/// Told about every attempt that carried credentials. Called on the request's task; must
/// be cheap and must not block.
pub trait AuthObserver: Send + Sync + 'static {
    /// Asked before the credentials of an attempt for `username` in `realm` from `source`
    /// are verified. False: the attempt is not verified and is answered exactly as a wrong
    /// password is (the same fresh challenge), and neither [`AuthObserver::auth_failed`] nor
    /// [`AuthObserver::auth_succeeded`] is called for it.
    fn admit(&self, realm: &str, username: &str, source: &Peer) -> bool {
        let _ = (realm, username, source);
        true
    }
    /// An attempt failed.
    fn auth_failed(&self, event: &AuthEvent<'_>, reason: FailureReason) {
        let _ = (event, reason);
    }
    /// An attempt succeeded (after the tenant's policy checks).
    fn auth_succeeded(&self, event: &AuthEvent<'_>) {
        let _ = event;
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl AuthObserver for NoObserver {}
