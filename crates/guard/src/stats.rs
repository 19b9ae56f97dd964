//! Counters and gauges for metrics.

use serde::Serialize;

/// A snapshot of the guard's counters (since creation) and gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GuardStats {
    /// Addresses tracked now.
    pub tracked_ips: u64,
    /// Prefixes tracked now.
    pub tracked_prefixes: u64,
    /// (tenant, user, address) failure counters tracked now.
    pub tracked_auth: u64,
    /// Known devices at the last housekeeping.
    pub known_devices: u64,
    /// Running bans (addresses, prefixes, ports, users) at the last housekeeping.
    pub active_bans: u64,
    /// Packets (and connections) allowed by `check_packet`.
    pub packets_allowed: u64,
    /// Packets and requests dropped because their source was banned (or just got banned).
    pub dropped_banned: u64,
    /// Packets and requests dropped by a static deny entry.
    pub dropped_static: u64,
    /// Entries evicted from full tables.
    pub entries_evicted: u64,
    /// Known devices that exceeded their own budget and lost their known status.
    pub devices_demoted: u64,
    /// Bans started.
    pub bans_started: u64,
    /// Bans forgotten before their end to make room.
    pub bans_evicted: u64,
    /// Events dropped because the driver did not poll them in time.
    pub events_dropped: u64,
}
