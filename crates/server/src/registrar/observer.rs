//! The hook through which the perimeter guard learns which sources hold a registration
//! (its "known devices"), so that a ban an attacker earns on a shared address does not cut
//! off the phones registered from it.

use std::time::Duration;

use ringfence_sip_proto::transaction::Peer;
use ringfence_store::{ExtensionId, TenantId};

/// Told after each REGISTER that changed bindings has been stored, and once per live
/// binding at start-up. Called on the request's task; must be cheap and must not block.
pub trait RegistrationObserver: Send + Sync + 'static {
    /// `source` (address, port, and the connection for TCP/TLS) holds a registration for
    /// `expires` more; zero when it holds none any more (its last binding was removed).
    fn registered(&self, source: &Peer, expires: Duration);

    /// Extension `extension` of `tenant` registered (added or refreshed a binding) from
    /// `source` (the fraud engine learns the networks an extension uses). Default: ignored.
    fn extension_registered(&self, tenant: TenantId, extension: ExtensionId, source: &Peer) {
        let _ = (tenant, extension, source);
    }
}

/// Several observers heard in turn.
pub struct Observers(pub Vec<std::sync::Arc<dyn RegistrationObserver>>);

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers").field("len", &self.0.len()).finish()
    }
}

impl RegistrationObserver for Observers {
    fn registered(&self, source: &Peer, expires: Duration) {
        for o in &self.0 {
            o.registered(source, expires);
        }
    }

    fn extension_registered(&self, tenant: TenantId, extension: ExtensionId, source: &Peer) {
        for o in &self.0 {
            o.extension_registered(tenant, extension, source);
        }
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRegistrationObserver;

impl RegistrationObserver for NoRegistrationObserver {
    fn registered(&self, _source: &Peer, _expires: Duration) {}
}
