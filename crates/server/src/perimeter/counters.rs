//! What the server counts around the guard: authentication outcomes, refusals, security
//! events by kind, and the audit log's share of them. Relaxed atomics, read as a snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use ringfence_guard::{BanKey, BanReason, GuardEvent};

use crate::auth::FailureReason;

/// Reasons a ban starts, as metric labels.
pub(crate) const BAN_REASONS: [&str; 4] = ["flood", "auth_failures", "scanner", "other"];
/// What a ban applies to, as metric labels.
pub(crate) const BAN_SCOPES: [&str; 4] = ["ip", "prefix", "source", "user"];
/// Authentication failure reasons, as metric labels.
pub(crate) const FAILURES: [&str; 5] =
    ["bad_credentials", "replay", "malformed", "plain_transport", "source_network"];

#[derive(Debug, Default)]
pub(crate) struct Counters {
    auth_failures: [AtomicU64; 5],
    auth_successes: AtomicU64,
    auth_refused: AtomicU64,
    requests_refused: AtomicU64,
    bans_started: [[AtomicU64; 4]; 4],
    bans_lifted: AtomicU64,
    bans_expired: AtomicU64,
    bans_evicted: AtomicU64,
    scanners_detected: AtomicU64,
    audit_written: AtomicU64,
    audit_summarised: AtomicU64,
    audit_failed: AtomicU64,
}

/// A copy of the counters (see [`super::Perimeter::counters`]). All count since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PerimeterCounters {
    /// Failed authentications by reason, in the order of the `reason` labels:
    /// bad credentials, replay, malformed, plain transport, source network.
    pub auth_failures: [u64; 5],
    /// Successful authentications.
    pub auth_successes: u64,
    /// Attempts the guard refused before checking the credentials.
    pub auth_refused: u64,
    /// Parsed requests dropped by the guard (banned source, flood on a connection, scanner).
    pub requests_refused: u64,
    /// Bans started, by reason (flood, authentication failures, scanner, other) and scope
    /// (address, prefix, source port, user).
    pub bans_started: [[u64; 4]; 4],
    /// Bans an administrator lifted.
    pub bans_lifted: u64,
    /// Bans that ran out.
    pub bans_expired: u64,
    /// Bans forgotten early because the guard's tables were full.
    pub bans_evicted: u64,
    /// Sources that showed scanner signals.
    pub scanners_detected: u64,
    /// Security events written to the audit log one by one.
    pub audit_written: u64,
    /// Security events folded into a per-second summary event (over the audit rate cap).
    pub audit_summarised: u64,
    /// Audit log writes that failed.
    pub audit_failed: u64,
}

impl PerimeterCounters {
    /// Every failed authentication, whatever the reason.
    pub fn auth_failures_total(&self) -> u64 {
        self.auth_failures.iter().sum()
    }

    /// Every ban started.
    pub fn bans_started_total(&self) -> u64 {
        self.bans_started.iter().flatten().sum()
    }
}

fn failure_index(reason: FailureReason) -> usize {
    match reason {
        FailureReason::BadCredentials => 0,
        FailureReason::Replay => 1,
        FailureReason::Malformed => 2,
        FailureReason::PlainTransport => 3,
        FailureReason::SourceNetwork => 4,
    }
}

fn reason_index(reason: &BanReason) -> usize {
    match reason {
        BanReason::Flood { .. } => 0,
        BanReason::AuthFailures { .. } => 1,
        BanReason::Scanner { .. } => 2,
        _ => 3,
    }
}

fn scope_index(key: &BanKey) -> usize {
    match key {
        BanKey::Ip { .. } => 0,
        BanKey::Prefix { .. } => 1,
        BanKey::Source { .. } => 2,
        BanKey::User { .. } => 3,
    }
}

fn load<const N: usize>(a: &[AtomicU64; N]) -> [u64; N] {
    std::array::from_fn(|i| a[i].load(Relaxed))
}

impl Counters {
    pub(crate) fn auth_failed(&self, reason: FailureReason) {
        self.auth_failures[failure_index(reason)].fetch_add(1, Relaxed);
    }

    pub(crate) fn auth_succeeded(&self) {
        self.auth_successes.fetch_add(1, Relaxed);
    }

    pub(crate) fn auth_refused(&self) {
        self.auth_refused.fetch_add(1, Relaxed);
    }

    pub(crate) fn request_refused(&self) {
        self.requests_refused.fetch_add(1, Relaxed);
    }

    /// Counts one event polled from the guard.
    pub(crate) fn event(&self, e: &GuardEvent) {
        let c = match e {
            GuardEvent::BanStarted { key, reason, .. } => {
                &self.bans_started[reason_index(reason)][scope_index(key)]
            }
            GuardEvent::BanLifted { .. } => &self.bans_lifted,
            GuardEvent::BanExpired { .. } => &self.bans_expired,
            GuardEvent::BanEvicted { .. } => &self.bans_evicted,
            GuardEvent::ScannerDetected { .. } => &self.scanners_detected,
            _ => return,
        };
        c.fetch_add(1, Relaxed);
    }

    pub(crate) fn audit(&self, written: u64, summarised: u64, failed: u64) {
        self.audit_written.fetch_add(written, Relaxed);
        self.audit_summarised.fetch_add(summarised, Relaxed);
        self.audit_failed.fetch_add(failed, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> PerimeterCounters {
        PerimeterCounters {
            auth_failures: load(&self.auth_failures),
            auth_successes: self.auth_successes.load(Relaxed),
            auth_refused: self.auth_refused.load(Relaxed),
            requests_refused: self.requests_refused.load(Relaxed),
            bans_started: std::array::from_fn(|i| load(&self.bans_started[i])),
            bans_lifted: self.bans_lifted.load(Relaxed),
            bans_expired: self.bans_expired.load(Relaxed),
            bans_evicted: self.bans_evicted.load(Relaxed),
            scanners_detected: self.scanners_detected.load(Relaxed),
            audit_written: self.audit_written.load(Relaxed),
            audit_summarised: self.audit_summarised.load(Relaxed),
            audit_failed: self.audit_failed.load(Relaxed),
        }
    }
}
