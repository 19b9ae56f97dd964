//! The hook through which the perimeter guard learns which sources hold a registration
//! (its "known devices"), so that a ban an attacker earns on a shared address does not cut
//! off the phones registered from it.

use std::time::Duration;

use ringfence_sip_proto::transaction::Peer;

/// Told after each REGISTER that changed bindings has been stored, and once per live
/// binding at start-up. Called on the request's task; must be cheap and must not block.
pub trait RegistrationObserver: Send + Sync + 'static {
    /// `source` (address, port, and the connection for TCP/TLS) holds a registration for
    /// `expires` more; zero when it holds none any more (its last binding was removed).
    fn registered(&self, source: &Peer, expires: Duration);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRegistrationObserver;

impl RegistrationObserver for NoRegistrationObserver {
    fn registered(&self, _source: &Peer, _expires: Duration) {}
}
