//! Shared state of the admin API: the store, sessions, the IP throttle and the settings.

use std::sync::{Arc, OnceLock};

use ringfence_store::{AnyStore, CountryCode};

use crate::auth::session::{SessionLimits, SessionStore};
use crate::auth::throttle::{IpThrottle, LockoutPolicy};
use crate::guard::{GuardControl, NoGuard};

/// Settings of the admin API (the binary fills them from its configuration).
#[derive(Clone, Debug)]
pub struct AdminConfig {
    /// Session timeouts and bounds.
    pub sessions: SessionLimits,
    /// Lockout of accounts after failed logins.
    pub account_lockout: LockoutPolicy,
    /// Lockout of source IPs after failed logins.
    pub ip_lockout: LockoutPolicy,
    /// Home country of tenants created without one.
    pub default_home_country: CountryCode,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Most call records in one CSV export.
    pub max_csv_rows: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            sessions: SessionLimits::default(),
            account_lockout: LockoutPolicy::account_default(),
            ip_lockout: LockoutPolicy::ip_default(),
            default_home_country: CountryCode::parse("US").expect("US is an ISO 3166-1 code"),
            max_body_bytes: 64 * 1024,
            max_csv_rows: 100_000,
        }
    }
}

/// Told about changes that other parts of a running server cache: the SIP authenticator
/// keeps credentials and tenant policy for a few seconds, and a disabled extension or a
/// reset password must stop working at once, not when the cache entry ages out.
pub trait ChangeListener: Send + Sync + 'static {
    /// An extension's credentials, enabled flag, calling restrictions, forwarding or
    /// existence changed.
    fn extension_changed(&self, domain: &str, number: &str);
    /// A tenant's settings (encryption, networks, policy) or existence changed.
    fn tenant_changed(&self, domain: &str);
}

/// The listener of a state without one.
struct NoListener;

impl ChangeListener for NoListener {
    fn extension_changed(&self, _: &str, _: &str) {}
    fn tenant_changed(&self, _: &str) {}
}

struct Inner {
    store: AnyStore,
    listener: Arc<dyn ChangeListener>,
    guard: OnceLock<Arc<dyn GuardControl>>,
    trunks: OnceLock<Arc<dyn crate::trunks::TrunkStatus>>,
    sessions: SessionStore,
    ip_throttle: IpThrottle,
    config: AdminConfig,
}

/// Cheap to clone; shared by every request.
#[derive(Clone)]
pub struct AdminState(Arc<Inner>);

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("store", &self.0.store)
            .field("sessions", &self.0.sessions.len())
            .finish_non_exhaustive()
    }
}

impl AdminState {
    /// State over `store` with `config`. Computes the dummy password hash now, so the first
    /// login for an unknown account is not faster than the others.
    pub fn new(store: AnyStore, config: AdminConfig) -> Self {
        Self::with_listener(store, config, Arc::new(NoListener))
    }

    /// Like [`AdminState::new`], telling `listener` about changes to cached data.
    pub fn with_listener(
        store: AnyStore,
        config: AdminConfig,
        listener: Arc<dyn ChangeListener>,
    ) -> Self {
        crate::auth::password::warm_up();
        Self(Arc::new(Inner {
            store,
            listener,
            guard: OnceLock::new(),
            trunks: OnceLock::new(),
            sessions: SessionStore::new(config.sessions.clone()),
            ip_throttle: IpThrottle::new(config.ip_lockout.clone()),
            config,
        }))
    }

    /// The store.
    pub fn store(&self) -> &AnyStore {
        &self.0.store
    }

    /// The session table.
    pub fn sessions(&self) -> &SessionStore {
        &self.0.sessions
    }

    /// The per-IP login throttle.
    pub fn ip_throttle(&self) -> &IpThrottle {
        &self.0.ip_throttle
    }

    /// Who hears about changes to cached data.
    pub fn listener(&self) -> &dyn ChangeListener {
        &*self.0.listener
    }

    /// Attaches the running perimeter guard (once; a later call changes nothing and returns
    /// false). Without one the guard endpoints list no bans and only store allow/deny
    /// entries.
    pub fn set_guard(&self, guard: Arc<dyn GuardControl>) -> bool {
        self.0.guard.set(guard).is_ok()
    }

    /// Attaches the running trunks (once; a later call changes nothing and returns false).
    /// Without them the trunk list is empty.
    pub fn set_trunks(&self, trunks: Arc<dyn crate::trunks::TrunkStatus>) -> bool {
        self.0.trunks.set(trunks).is_ok()
    }

    /// The running trunks, if attached.
    pub fn trunks(&self) -> Option<&dyn crate::trunks::TrunkStatus> {
        self.0.trunks.get().map(|t| &**t)
    }

    /// The running perimeter guard.
    pub fn guard(&self) -> &dyn GuardControl {
        match self.0.guard.get() {
            Some(g) => &**g,
            None => &NoGuard,
        }
    }

    /// The settings.
    pub fn config(&self) -> &AdminConfig {
        &self.0.config
    }
}
