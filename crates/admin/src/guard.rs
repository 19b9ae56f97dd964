//! The running perimeter guard, as the admin API sees it: a narrow trait the binary
//! implements with the SIP service's guard, so this crate does not depend on the server.
//!
//! ```text
//! GET    /api/v1/guard/bans            -> GuardControl::list_bans
//! DELETE /api/v1/guard/bans/{key}      -> GuardControl::lift_ban, then a `guard.ban_lift`
//!                                          audit event with the administrator as actor
//! GET / DELETE /api/v1/tenants/{id}/guard/bans[/{key}]
//!                                       -> the same, only the tenant's per-user blocks
//! POST / DELETE .../guard/rules        -> the store (entry + audit event in one write),
//!                                          then GuardControl::rules_changed
//! GET    /api/v1/metrics               -> GuardControl::render_metrics
//! ```
//!
//! A state without a guard (the admin API alone, as in its own tests) lists no bans, lifts
//! none, stores allow/deny entries for the next start and has no metrics but its own.

use std::future::Future;
use std::pin::Pin;

pub use ringfence_guard::{BanInfo, BanKey, BanReason, GuardError};

/// A boxed future, for the one asynchronous method of [`GuardControl`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the admin API needs from the running guard.
pub trait GuardControl: Send + Sync + 'static {
    /// Every running ban and every global deny entry, sorted by key.
    fn list_bans(&self) -> Vec<BanInfo>;

    /// Lifts a running ban (the caller writes the audit event).
    ///
    /// # Errors
    /// [`GuardError::NotBanned`] when nothing runs under `key`; [`GuardError::StaticRule`]
    /// for an address a permanent deny entry covers (delete the entry instead).
    fn lift_ban(&self, key: &BanKey) -> Result<(), GuardError>;

    /// The stored allow/deny entries changed: load all of them into the running guard.
    /// Implementations serialise concurrent reloads, so the last one sees every change.
    ///
    /// # Errors
    /// The entries could not be read or the guard refused them (a message for the log and
    /// the answer; the stored entries stay as they are).
    fn rules_changed(&self) -> BoxFuture<'_, Result<(), String>>;

    /// The guard's, the SIP transports' and the process's metrics in the Prometheus text
    /// exposition format (version 0.0.4).
    fn render_metrics(&self) -> String;
}

/// The guard of a state without a SIP service.
pub(crate) struct NoGuard;

impl GuardControl for NoGuard {
    fn list_bans(&self) -> Vec<BanInfo> {
        Vec::new()
    }

    fn lift_ban(&self, key: &BanKey) -> Result<(), GuardError> {
        Err(GuardError::NotBanned(key.clone()))
    }

    fn rules_changed(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn render_metrics(&self) -> String {
        String::new()
    }
}
