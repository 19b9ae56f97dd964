//! Per-session counters, shared between the relay task (which adds) and the handle
//! (which reads).

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one session.
#[derive(Debug, Default)]
pub(crate) struct SessionStats {
    pub(crate) packets: [AtomicU64; 2],
    pub(crate) bytes: [AtomicU64; 2],
    pub(crate) rtcp: AtomicU64,
    pub(crate) dropped_injected: AtomicU64,
    pub(crate) srtp_auth_failures: AtomicU64,
    pub(crate) srtp_replayed: AtomicU64,
    pub(crate) dropped_other: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// A snapshot of a session's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// RTP packets relayed, by the leg they came from (`[A→B, B→A]`).
    pub packets: [u64; 2],
    /// RTP payload bytes relayed (as received, before any SRTP change), same order.
    pub bytes: [u64; 2],
    /// RTCP packets relayed (both ways).
    pub rtcp: u64,
    /// Packets dropped because they came from a source other than the latched one
    /// (injected or stray RTP).
    pub dropped_injected: u64,
    /// SRTP/SRTCP packets whose authentication tag did not verify.
    pub srtp_auth_failures: u64,
    /// SRTP/SRTCP packets replayed or too old.
    pub srtp_replayed: u64,
    /// Packets dropped for other reasons: malformed, a leg not set up yet, no
    /// destination known, send buffer full.
    pub dropped_other: u64,
}

impl SessionStats {
    pub(crate) fn snapshot(&self) -> Counters {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            packets: [l(&self.packets[0]), l(&self.packets[1])],
            bytes: [l(&self.bytes[0]), l(&self.bytes[1])],
            rtcp: l(&self.rtcp),
            dropped_injected: l(&self.dropped_injected),
            srtp_auth_failures: l(&self.srtp_auth_failures),
            srtp_replayed: l(&self.srtp_replayed),
            dropped_other: l(&self.dropped_other),
        }
    }
}
