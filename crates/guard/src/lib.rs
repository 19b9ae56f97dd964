//! Ringfence's perimeter guard: the session-border-controller layer that drops hostile
//! traffic before it costs anything and keeps legitimate users working during an attack.
//!
//! Sans-IO: no sockets, no tasks, no clock. Time comes in as [`Instant`]; everything is
//! deterministic given the calls made. [`Guard`] is `Sync` (sharded, lock-per-shard
//! state), so every receive task calls it directly.
//!
//! # Place in the data flow
//! ```text
//! socket ──> Guard::check_packet ──Drop──> (nothing: no answer, the scanner times out)
//!               │ Allow
//!               v
//!            parse (sip-types) ──> Guard::observe_request ──Drop──> (nothing)
//!               │ Allow                (scanner signals; meters requests on connections)
//!               v
//!            digest auth: Guard::check_auth ──Refuse──> same 401/407 as a bad password,
//!               │ Proceed                               without checking the password
//!               v
//!            verify ──> Guard::auth_failed / Guard::auth_succeeded
//!               │
//!            registrar ──> Guard::registration_ok  (this address and port is a known device)
//!
//! driver, every second: Guard::housekeeping; then Guard::poll_event until None
//!                        (BanStarted/BanLifted/BanExpired/BanEvicted/ScannerDetected
//!                         -> audit log + metrics)
//! admin API: Guard::list_bans, Guard::lift_ban, Guard::set_static_rules, Guard::stats
//! ```
//!
//! # What it does
//! - **Flood meters** per address, per IPv6 /64 (and optionally per IPv4 /24), and per
//!   known device: GCRA token buckets; over the limit the address (or prefix) is banned for
//!   a time that doubles with each repeat offence ([`GuardConfig`] documents the defaults
//!   and the office-NAT arithmetic behind them).
//! - **Authentication failures** per (tenant, user, address) and per address (for IPv6,
//!   per /64): a password guesser is blocked after 5 guesses (the user from that address,
//!   and the guessing port), an address that fails for many users or very often is banned.
//! - **Known devices**: an address and port (or TLS flow) with a current registration is
//!   exempt from bans its address or prefix earned through other ports, and from per-user
//!   blocks, so the phones of an office keep working while an attacker behind the same NAT
//!   is dropped. It counts against its own meter instead.
//! - **Scanner signals** ([`scanner`]): known tool fingerprints and structural signs raise
//!   a decaying score; over the threshold the address is banned.
//! - **Static rules** ([`StaticRules`]): global and per-tenant allow and deny entries.
//! - **Bounded state**: see below.
//!
//! [`network_allowed`] is the per-tenant device-network check the authenticator applies
//! after the credentials verify.
//!
//! # Wiring into the server
//! One `Arc<Guard>` shared by:
//! - the transport's guard hook (checked before each datagram is parsed and each
//!   connection accepted): `guard.check_packet(Instant::now(), source, kind) ==
//!   Verdict::Allow`, with the transport kind mapped one to one onto [`Transport`];
//! - the core, after parsing a request and before the transaction layer:
//!   [`Guard::observe_request`] with a [`RequestInfo`] filled from the message (drop the
//!   request without an answer on `Drop`; on a connection, the connection may be closed);
//! - the authenticator: [`Guard::check_auth`] with the realm and the digest username
//!   before verifying (on `Refuse`, answer the usual challenge without verifying and
//!   without reporting a failure); then the authentication observer's `auth_failed` and
//!   `auth_succeeded` call [`Guard::auth_failed`] and [`Guard::auth_succeeded`] with the
//!   realm, the username and the source;
//! - the registrar: [`Guard::registration_ok`] with the source, the flow and the granted
//!   expiry for every accepted REGISTER (zero when the contact is removed), and
//!   [`Guard::forget_device`] when a registered flow's connection closes;
//! - a once-a-second task: [`Guard::housekeeping`], then [`Guard::poll_event`] until
//!   `None`, each event to the audit log and to metrics; [`Guard::stats`] to metrics;
//! - the admin API: [`Guard::list_bans`], [`Guard::lift_ban`] (keys parse from their
//!   display form with `str::parse`), [`Guard::set_static_rules`] whenever the stored
//!   rules change.
//!
//! The tenant name the guard uses is the realm (the tenant's SIP domain): the
//! authenticator always has it, whether or not the tenant exists, so guesses against
//! unknown tenants are counted too.
//!
//! # Bounded state
//! Three tables (addresses, prefixes, per-user failure counters), each capped
//! ([`GuardConfig::max_ips`], ...) and split into up to 64 shards with a lock each. A full
//! shard evicts one entry per insert, chosen among the 16 entries under a rotating hand as
//! the one with the lowest tier, least recently seen first: plain entries (meters, counters,
//! offence history) go first, then active bans, then addresses that hold known devices. So
//! an active ban is forgotten only when none of the sampled entries is a plain one, i.e.
//! when bans fill most of the table; the ban table is in effect capped at the table size and
//! gives up its least recently seen bans (an approximate LRU, reported as
//! [`GuardEvent::BanEvicted`]). The trade-off: an evicted attacker that comes back gets one
//! fresh flood budget before it is banned again, and its offence count restarts; in exchange,
//! a flood of spoofed sources costs a fixed amount of work per packet and memory stays
//! bounded whatever it sends. Ports per address are capped too
//! ([`GuardConfig::max_ports_per_ip`]). [`Guard::housekeeping`] removes idle entries that
//! have nothing left to remember.
//!
//! # Spoofed sources
//! A UDP source address can be forged. A forger can make the guard ban someone else's
//! address (by flooding with it, or by sending one request with a scanner User-Agent); it
//! cannot forge a registration, because that needs the challenge sent to the real address.
//! So a victim's registered devices keep working; its unregistered ones wait for the ban to
//! end. That is the reason known devices are exempt.

mod auth;
mod ban;
mod config;
mod entry;
mod error;
mod events;
mod hash;
mod manage;
mod meter;
mod net;
mod packet;
mod rules;
pub mod scanner;
mod stats;
mod table;
#[cfg(test)]
mod testutil;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

pub use ban::{BanInfo, BanKey, BanReason};
pub use config::GuardConfig;
pub use error::GuardError;
pub use events::GuardEvent;
pub use net::network_allowed;
pub use rules::{StaticRules, TenantRules};
pub use scanner::{RequestInfo, ScannerSignals};
pub use stats::GuardStats;

use ban::Ladder;
use entry::{AuthEntry, AuthKey, IpEntry, PrefixEntry};
use events::Events;
use hash::Seeds;
use meter::{Clock, Rate, micros};
use net::Net;
use rules::{Class, Compiled};
use table::Sharded;

/// The transport a packet or request arrived on (the guard's copy of the server's
/// transport kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: every datagram passes [`Guard::check_packet`].
    Udp,
    /// TCP: the connection passes [`Guard::check_packet`] when accepted; each request on
    /// it is metered by [`Guard::observe_request`].
    Tcp,
    /// TLS over TCP (as TCP).
    Tls,
    /// WebSocket (as TCP).
    Ws,
    /// Secure WebSocket (as TCP).
    Wss,
}

impl Transport {
    /// True for connection-oriented transports (everything but UDP).
    pub fn is_reliable(self) -> bool {
        self != Transport::Udp
    }
}

/// The packet-level decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Verdict {
    /// Go on.
    Allow,
    /// Drop silently: no answer, no parsing.
    Drop,
}

/// The decision before a request's credentials are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum AuthCheck {
    /// Verify the credentials as usual.
    Proceed,
    /// Do not verify: answer exactly as for a wrong password.
    Refuse,
}

/// Values derived from the configuration once.
#[derive(Debug, Clone, Copy)]
struct Settings {
    ip_rate: Rate,
    v6_rate: Rate,
    v4_rate: Option<Rate>,
    device_rate: Rate,
    factor: u32,
    window_secs: u32,
    flood_limit: u32,
    v6_limit: u32,
    v4_limit: u32,
    ladder: Ladder,
    user_leak: u64,
    user_limit: u32,
    ip_leak: u64,
    ip_limit: u32,
    ip_users: u32,
    score_leak: u64,
    threshold: u32,
    enum_free: u32,
    enum_window: u64,
    grace: u64,
    max_ports: usize,
    idle: u64,
}

impl Settings {
    fn new(c: &GuardConfig) -> Settings {
        let window = micros(c.flood_window);
        Settings {
            ip_rate: Rate::new(c.flood_limit, window),
            v6_rate: Rate::new(c.prefix_v6_limit, window),
            v4_rate: c.prefix_v4_limit.map(|l| Rate::new(l, window)),
            device_rate: Rate::new(c.device_limit, window),
            factor: c.tenant_allow_factor,
            window_secs: u32::try_from(c.flood_window.as_secs()).unwrap_or(u32::MAX),
            flood_limit: c.flood_limit,
            v6_limit: c.prefix_v6_limit,
            v4_limit: c.prefix_v4_limit.unwrap_or(0),
            ladder: Ladder::new(c.ban_base, c.ban_max, c.offence_memory),
            user_leak: (micros(c.auth_user_window) / u64::from(c.auth_user_limit)).max(1),
            user_limit: c.auth_user_limit,
            ip_leak: (micros(c.auth_ip_window) / u64::from(c.auth_ip_limit)).max(1),
            ip_limit: c.auth_ip_limit,
            ip_users: c.auth_ip_users,
            score_leak: (1_000_000 / u64::from(c.scanner_decay_per_sec)).max(1),
            threshold: c.scanner_threshold,
            enum_free: c.enumeration_free_users,
            enum_window: micros(c.enumeration_window),
            grace: micros(c.device_grace),
            max_ports: c.max_ports_per_ip,
            idle: micros(c.idle_after),
        }
    }
}

/// Rare events, counted with shared atomics.
#[derive(Debug, Default)]
struct Totals {
    bans_started: AtomicU64,
    bans_evicted: AtomicU64,
    /// Gauges refreshed by housekeeping.
    known_devices: AtomicU64,
    active_bans: AtomicU64,
}

/// The perimeter guard. See the crate documentation.
#[derive(Debug)]
pub struct Guard {
    config: GuardConfig,
    s: Settings,
    clock: Clock,
    seeds: Seeds,
    ips: Sharded<u128, IpEntry>,
    prefixes: Sharded<Net, PrefixEntry>,
    auth: Sharded<AuthKey, AuthEntry>,
    rules: RwLock<Arc<Compiled>>,
    rules_gen: AtomicU32,
    rules_empty: AtomicBool,
    events: Events,
    totals: Totals,
}

impl Guard {
    /// A guard with `config`, whose clock starts at `now`. Table hashes are seeded from the
    /// process's random source.
    pub fn new(config: GuardConfig, now: Instant) -> Result<Guard, GuardError> {
        Guard::build(config, now, Seeds::random())
    }

    /// As [`Guard::new`] with fixed hash seeds, for reproducible tests and simulations.
    pub fn with_seed(config: GuardConfig, now: Instant, seed: u64) -> Result<Guard, GuardError> {
        Guard::build(config, now, Seeds::fixed(seed))
    }

    fn build(config: GuardConfig, now: Instant, seeds: Seeds) -> Result<Guard, GuardError> {
        config.validate()?;
        Ok(Guard {
            s: Settings::new(&config),
            clock: Clock::new(now),
            ips: Sharded::new(config.max_ips, seeds),
            prefixes: Sharded::new(config.max_prefixes, seeds),
            auth: Sharded::new(config.max_auth, seeds),
            rules: RwLock::new(Arc::new(Compiled::empty(seeds))),
            rules_gen: AtomicU32::new(0),
            rules_empty: AtomicBool::new(true),
            events: Events::new(config.max_events),
            totals: Totals::default(),
            seeds,
            config,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// Replaces every permanent allow and deny entry. Takes effect for each address at its
    /// next packet. On error nothing changes.
    pub fn set_static_rules(&self, rules: StaticRules) -> Result<(), GuardError> {
        let compiled = Compiled::build(rules, self.config.max_static_rules, self.seeds)?;
        let empty = compiled.is_empty();
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(compiled);
        self.rules_empty.store(empty, Ordering::Release);
        // Readers load the generation first (Acquire), so whoever sees the new generation
        // also sees the new rules.
        self.rules_gen.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// The permanent entries in force.
    pub fn static_rules(&self) -> StaticRules {
        self.compiled().source.clone()
    }

    fn compiled(&self) -> Arc<Compiled> {
        self.rules.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The class of `bits` under the current rules. Call after loading the generation.
    fn class_of(&self, bits: u128) -> Class {
        if self.rules_empty.load(Ordering::Acquire) {
            return Class::None;
        }
        self.rules.read().unwrap_or_else(PoisonError::into_inner).classify(bits)
    }

    /// `e`'s class, recomputed if the rules changed since it was cached.
    #[inline]
    fn class_cached(&self, e: &mut IpEntry, bits: u128, rules_gen: u32) -> Class {
        if e.rules_gen != rules_gen {
            e.class = self.class_of(bits);
            e.rules_gen = rules_gen;
        }
        e.class
    }

    /// The next security event, oldest first.
    pub fn poll_event(&self) -> Option<GuardEvent> {
        self.events.pop()
    }

    fn ban_started(&self, key: BanKey, reason: BanReason, len: u64, offences: u32) {
        self.totals.bans_started.fetch_add(1, Ordering::Relaxed);
        self.events.push(GuardEvent::BanStarted {
            key,
            reason,
            duration_secs: meter::secs_ceil(len),
            offences,
        });
    }

    /// The (tenant, user) part of an authentication key.
    fn user_id(&self, tenant: &str, user: &str) -> u64 {
        use std::hash::BuildHasher;
        self.seeds.hash_one((tenant, user))
    }
}

/// The guard is shared by every receive task.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Guard>();
};

/// The socket address with a canonical (IPv4 for mapped) IP.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}
