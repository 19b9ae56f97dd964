//! Tunables, with the arithmetic behind the defaults.
//!
//! # Flood meters
//! Kamailio's `pike` module bans a source after 16 requests within 2 s (8/s). That is right
//! for a single phone and wrong for an office: every phone behind the office NAT shares
//! one address. The guard therefore counts a **known device** (an address and port with a
//! current registration, see [`crate::Guard::registration_ok`]) against its own meter, and
//! the address's meter only sees the traffic of sources that are not (yet) registered. The
//! address budget is still sized for the worst case, an office where nothing is known
//! (after a restart of the server, or when all phones boot at once):
//!
//! - 50 phones booting within 10 s after a power cut: REGISTER, 401, REGISTER with
//!   credentials, SUBSCRIBE for voicemail and presence (each challenged once), an OPTIONS:
//!   about 8 datagrams per phone, 400 in all; UDP retransmissions (RFC 3261 timer A: 0.5,
//!   1, 2 s) may double that if the server is slow to answer: **800 in 10 s**.
//! - Steady state of the same office with no device known: re-REGISTER every 60 s with a
//!   fresh challenge (2 × 50 / 60 s = 1.7/s), keep-alives every 15 s (3.3/s), about 6 calls
//!   per phone per hour at ~10 datagrams each (INVITE, 407, INVITE, ACK, 180/200 for incoming
//!   calls, BYE: 0.8/s), presence NOTIFY answers (~2/s): **about 8/s**.
//! - The busiest second: a ring group of all 50 phones, each answering 100/180 and then
//!   200 or 487: **about 150 datagrams in one second**.
//!
//! Default: [`GuardConfig::flood_limit`] 500 per [`GuardConfig::flood_window`] 10 s, a GCRA
//! meter (a token bucket: up to 500 at once, refilled at 50/s). The cold boot (at most 400 +
//! 10 s × 50/s = 900 > 800), the ring group (150 ≤ 500) and the steady state (8/s, six
//! times below the refill) all pass with margin. A flood of 1000 requests/s is banned after
//! 500 / (1000 − 50) ≈ 0.53 s, one of 5000/s after 0.1 s: well within the window.
//!
//! An IPv6 attacker owns a whole /64 and can send from a new address every packet, so each
//! /64 has a meter too ([`GuardConfig::prefix_v6_limit`], 1000 per window: two busy sites
//! behind one /64). IPv4 /24 meters are off by default
//! ([`GuardConfig::prefix_v4_limit`]): a /24 behind carrier-grade NAT holds unrelated
//! customers.
//!
//! A known device gets [`GuardConfig::device_limit`] 200 per window (20/s sustained): a
//! receptionist's phone re-subscribing 50 presence keys with challenges sends about 100 in a
//! second. A device over its budget loses its known status and is counted on its address
//! again.
//!
//! # Bans
//! [`GuardConfig::ban_base`] 300 s (as pike), doubling with each repeat offence up to
//! [`GuardConfig::ban_max`] 24 h; offences are forgotten [`GuardConfig::offence_memory`]
//! 24 h after the last ban ended.
//!
//! # Authentication failures
//! Counted with leaky counters (a count that forgets one failure every `window / limit`):
//! - per (tenant, user, address): [`GuardConfig::auth_user_limit`] 5 within
//!   [`GuardConfig::auth_user_window`] 600 s (one failure forgiven every 2 min), so a user
//!   who mistypes a password twice is never affected, while a password guesser is blocked
//!   after its fifth guess; the block starts with `ban_base` and escalates, and the source
//!   port that made the fifth guess is banned for as long;
//! - per address: [`GuardConfig::auth_ip_limit`] 20 within [`GuardConfig::auth_ip_window`]
//!   600 s, or failures for [`GuardConfig::auth_ip_users`] 4 different users (credential
//!   stuffing, or a guesser that rotates ports and users), bans the address (except its
//!   known devices).
//!
//! For IPv6 "the address" in both counts, and in address-wide bans, is the source's /64: a
//! host picks any address of its /64 at will, so anything finer could be evaded. An office whose admin rotated every password sees each unregistered
//!   phone blocked on its own first; the address follows only if many phones keep failing.
//!
//! # Memory
//! [`GuardConfig::max_ips`] 100 000 tracked addresses (about 200 bytes each with index:
//! ~20 MB), [`GuardConfig::max_prefixes`] 50 000, [`GuardConfig::max_auth`] 100 000
//! (user, tenant, address) counters, [`GuardConfig::max_ports_per_ip`] 1024 known or banned
//! ports per address. Entries idle for [`GuardConfig::idle_after`] with nothing to
//! remember are removed by [`crate::Guard::housekeeping`].

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::GuardError;

/// The guard's tunables. Deserialises from the `[guard]` table of the configuration
/// (durations in whole seconds); every field has the default documented in the module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// Requests (datagrams, connections, requests on connections) per window from one
    /// address, not counting its known devices. Default 500.
    pub flood_limit: u32,
    /// The window of every flood meter. Default 10 s.
    #[serde(with = "secs")]
    pub flood_window: Duration,
    /// Requests per window from one IPv6 /64. Default 1000.
    pub prefix_v6_limit: u32,
    /// Requests per window from one IPv4 /24; `None` (the default) counts no /24.
    pub prefix_v4_limit: Option<u32>,
    /// Requests per window from one known device. Default 200.
    pub device_limit: u32,
    /// Flood budget multiplier for networks in a tenant's allow entries. Default 8.
    pub tenant_allow_factor: u32,
    /// The first ban's length. Default 300 s.
    #[serde(with = "secs")]
    pub ban_base: Duration,
    /// The longest ban. Default 24 h.
    #[serde(with = "secs")]
    pub ban_max: Duration,
    /// How long after a ban ends it still makes the next one longer. Default 24 h.
    #[serde(with = "secs")]
    pub offence_memory: Duration,
    /// Failures per (tenant, user, address) that block that user from that address.
    /// Default 5.
    pub auth_user_limit: u32,
    /// The window of that count. Default 600 s.
    #[serde(with = "secs")]
    pub auth_user_window: Duration,
    /// Failures per address that ban the address. Default 20.
    pub auth_ip_limit: u32,
    /// The window of that count. Default 600 s.
    #[serde(with = "secs")]
    pub auth_ip_window: Duration,
    /// Distinct failing users per address (within `auth_ip_window`) that ban the address.
    /// Default 4.
    pub auth_ip_users: u32,
    /// Scanner score that bans an address. Default 100.
    pub scanner_threshold: u32,
    /// Scanner score points forgotten per second. Default 1.
    pub scanner_decay_per_sec: u32,
    /// Distinct users one source port may ask about without credentials within
    /// `enumeration_window` before each further one scores. Default 16.
    pub enumeration_free_users: u32,
    /// Window of the enumeration count. Default 60 s.
    #[serde(with = "secs")]
    pub enumeration_window: Duration,
    /// How long a device stays known after its registration expires. Default 30 s.
    #[serde(with = "secs")]
    pub device_grace: Duration,
    /// Known or banned ports remembered per address. Default 1024.
    pub max_ports_per_ip: usize,
    /// Tracked addresses. Default 100 000.
    pub max_ips: usize,
    /// Tracked prefixes (/64, /24). Default 50 000.
    pub max_prefixes: usize,
    /// Tracked (tenant, user, address) failure counters. Default 100 000.
    pub max_auth: usize,
    /// Idle time after which an entry with nothing to remember is removed. Default 300 s.
    #[serde(with = "secs")]
    pub idle_after: Duration,
    /// Events kept until the driver polls them; more are counted and dropped. Default 4096.
    pub max_events: usize,
    /// Permanent entries accepted by `set_static_rules`. Default 10 000.
    pub max_static_rules: usize,
}

impl Default for GuardConfig {
    fn default() -> GuardConfig {
        GuardConfig {
            flood_limit: 500,
            flood_window: Duration::from_secs(10),
            prefix_v6_limit: 1000,
            prefix_v4_limit: None,
            device_limit: 200,
            tenant_allow_factor: 8,
            ban_base: Duration::from_secs(300),
            ban_max: Duration::from_secs(24 * 3600),
            offence_memory: Duration::from_secs(24 * 3600),
            auth_user_limit: 5,
            auth_user_window: Duration::from_secs(600),
            auth_ip_limit: 20,
            auth_ip_window: Duration::from_secs(600),
            auth_ip_users: 4,
            scanner_threshold: 100,
            scanner_decay_per_sec: 1,
            enumeration_free_users: 16,
            enumeration_window: Duration::from_secs(60),
            device_grace: Duration::from_secs(30),
            max_ports_per_ip: 1024,
            max_ips: 100_000,
            max_prefixes: 50_000,
            max_auth: 100_000,
            idle_after: Duration::from_secs(300),
            max_events: 4096,
            max_static_rules: 10_000,
        }
    }
}

impl GuardConfig {
    /// Checks that every value is usable.
    pub fn validate(&self) -> Result<(), GuardError> {
        let bad = |m: &str| Err(GuardError::InvalidConfig(m.to_owned()));
        let positive = [
            ("flood_limit", self.flood_limit),
            ("prefix_v6_limit", self.prefix_v6_limit),
            ("device_limit", self.device_limit),
            ("tenant_allow_factor", self.tenant_allow_factor),
            ("auth_user_limit", self.auth_user_limit),
            ("auth_ip_limit", self.auth_ip_limit),
            ("auth_ip_users", self.auth_ip_users),
            ("scanner_threshold", self.scanner_threshold),
            ("scanner_decay_per_sec", self.scanner_decay_per_sec),
            ("prefix_v4_limit", self.prefix_v4_limit.unwrap_or(1)),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return bad(&format!("{name} must be at least 1"));
        }
        if self.auth_ip_users > 64 {
            return bad("auth_ip_users must be at most 64");
        }
        if self.enumeration_free_users >= 128 {
            return bad("enumeration_free_users must be below 128");
        }
        let windows = [
            ("flood_window", self.flood_window),
            ("auth_user_window", self.auth_user_window),
            ("auth_ip_window", self.auth_ip_window),
            ("enumeration_window", self.enumeration_window),
            ("ban_base", self.ban_base),
            ("idle_after", self.idle_after),
        ];
        if let Some((name, _)) = windows.iter().find(|(_, d)| d.is_zero()) {
            return bad(&format!("{name} must be at least one second"));
        }
        if self.ban_max < self.ban_base {
            return bad("ban_max must not be shorter than ban_base");
        }
        for (name, cap) in [
            ("max_ips", self.max_ips),
            ("max_prefixes", self.max_prefixes),
            ("max_auth", self.max_auth),
        ] {
            if cap < 16 {
                return bad(&format!("{name} must be at least 16"));
            }
        }
        if self.max_ports_per_ip == 0 || self.max_ports_per_ip > usize::from(u16::MAX) + 1 {
            return bad("max_ports_per_ip must be between 1 and 65536");
        }
        if self.max_events == 0 {
            return bad("max_events must be at least 1");
        }
        Ok(())
    }
}

/// Durations as whole seconds.
mod secs {
    use super::*;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let c = GuardConfig::default();
        c.validate().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""flood_window":10"#));
        assert_eq!(serde_json::from_str::<GuardConfig>(&json).unwrap(), c);
        let partial: GuardConfig = serde_json::from_str(r#"{"flood_limit":40}"#).unwrap();
        assert_eq!(partial.flood_limit, 40);
        assert_eq!(partial.ban_base, Duration::from_secs(300));
        assert!(serde_json::from_str::<GuardConfig>(r#"{"flod_limit":40}"#).is_err());
    }

    #[test]
    fn bad_values_are_named() {
        type Change = fn(&mut GuardConfig);
        let cases: [(Change, &str); 7] = [
            (|c| c.flood_limit = 0, "flood_limit"),
            (|c| c.prefix_v4_limit = Some(0), "prefix_v4_limit"),
            (|c| c.flood_window = Duration::ZERO, "flood_window"),
            (|c| c.ban_max = Duration::from_secs(1), "ban_max"),
            (|c| c.max_ips = 3, "max_ips"),
            (|c| c.auth_ip_users = 65, "auth_ip_users"),
            (|c| c.max_ports_per_ip = 0, "max_ports_per_ip"),
        ];
        for (change, name) in cases {
            let mut c = GuardConfig::default();
            change(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    /// The office arithmetic of the module documentation, on the real meter.
    #[test]
    fn default_flood_budget_fits_the_office_cold_boot() {
        use crate::meter::{Rate, gcra, micros};
        let c = GuardConfig::default();
        let rate = Rate::new(c.flood_limit, micros(c.flood_window));
        let mut tat = 0;
        // 800 datagrams evenly over 10 s, all on the address meter.
        for i in 0..800u64 {
            assert!(gcra(&mut tat, i * 12_500, rate), "datagram {i}");
        }
        // 1000/s from one address is over within the first second.
        let mut tat = 0;
        let first_over = (0..1000u64).position(|i| !gcra(&mut tat, i * 1000, rate)).unwrap();
        assert!(first_over < 1000, "{first_over}");
    }
}
