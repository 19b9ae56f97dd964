//! The SIP trunks and their registration with the carrier, as the admin API shows them: a
//! narrow trait the binary implements with the egress gate's registrations, so this crate
//! does not depend on the server.
//!
//! ```text
//! GET  /api/v1/trunks         -> TrunkStatus::trunks (super admins)
//! POST /api/v1/trunks/reload  -> TrunkStatus::reload (super admins): the trunks read
//!                                again from the config file, as on SIGHUP
//! ```

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A trunk's registration with its carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrunkRegistrationView {
    /// `starting`, `registered`, `failed` or `unregistered`.
    pub state: String,
    /// The registrar that answered last (address:port).
    pub registrar: Option<String>,
    /// The Contact registered.
    pub contact: Option<String>,
    /// Until when (unix seconds) the registration holds.
    pub expires_at: Option<u64>,
    /// The registrar's last final status.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Failed attempts in a row (retried after 30 s, doubling, at most 30 min).
    pub failures: u32,
}

/// A trunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrunkView {
    /// Its name.
    pub name: String,
    /// The carrier's host.
    pub host: String,
    /// Where its calls go now, first to try first (address:port/transport).
    pub targets: Vec<String>,
    /// Why it has no target, when it has none.
    pub error: Option<String>,
    /// Its registration, when it registers.
    pub registration: Option<TrunkRegistrationView>,
}

/// What a reload of the trunks changed, by trunk name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrunkReloadView {
    /// New trunks (used, and registering when they register).
    pub added: Vec<String>,
    /// Trunks no longer configured (no longer used; unregistered).
    pub removed: Vec<String>,
    /// Trunks whose settings changed (replaced; registered again).
    pub changed: Vec<String>,
    /// Trunks kept as they were.
    pub unchanged: Vec<String>,
}

/// The answer to a reload: what changed, or why nothing did.
pub type ReloadFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<TrunkReloadView, String>> + Send + 'static>,
>;

/// What the admin API needs from the running trunks.
pub trait TrunkStatus: Send + Sync + 'static {
    /// Every trunk, in configuration order.
    fn trunks(&self) -> Vec<TrunkView>;

    /// Reads the trunks again from the config file and applies them; an unreadable or
    /// invalid file changes nothing (the error says why).
    fn reload(&self) -> ReloadFuture {
        Box::pin(async { Err("trunks cannot be reloaded here".to_owned()) })
    }
}
