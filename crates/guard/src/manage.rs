//! The admin side: listing and lifting bans, housekeeping, statistics.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::auth::user_key;
use crate::ban::{BanInfo, BanKey, BanReason};
use crate::entry::AuthKey;
use crate::events::GuardEvent;
use crate::meter::Leaky;
use crate::net::{Net, bits_ip, ip_bits, meter_prefix};
use crate::rules::Class;
use crate::scanner::ScannerSignals;
use crate::stats::GuardStats;
use crate::table::Counters;
use crate::{Guard, GuardError};

impl Guard {
    /// Call about once a second: reports bans that ran out ([`GuardEvent::BanExpired`]),
    /// forgets known devices whose registration ended, and removes entries that have been
    /// idle for [`crate::GuardConfig::idle_after`] with nothing left to remember (no running
    /// ban, no offence within the memory, no known device, meters and counters at rest).
    /// Visits every entry: about a millisecond per 100 000 entries, one shard locked at a
    /// time.
    pub fn housekeeping(&self, now: Instant) {
        let now = self.clock.us(now);
        let s = self.s;
        let mut expired = Vec::new();
        let mut devices = 0u64;
        let mut bans = 0u64;
        self.ips.each(|t| {
            t.retain(|&bits, e| {
                let ip = bits_ip(bits);
                if e.ban.take_expired(now) {
                    expired.push(BanKey::Ip { ip });
                }
                bans += u64::from(e.ban.active(now));
                for p in &mut e.ports {
                    if p.ban.take_expired(now) {
                        expired.push(BanKey::Source { addr: SocketAddr::new(ip, p.port) });
                    }
                    bans += u64::from(p.ban.active(now));
                    devices += u64::from(p.known_until > now);
                }
                e.prune_ports(now, s.ladder);
                if e.score.is_empty(now, s.score_leak) {
                    e.score = Leaky::default();
                    e.signals = ScannerSignals::NONE;
                }
                let at_rest = e.ports.is_empty()
                    && !e.ban.open
                    && !e.ban.remembered(now, s.ladder)
                    && e.flood <= now
                    && e.auth.is_empty(now, s.ip_leak)
                    && e.score.is_empty(now, s.score_leak)
                    && e.sweep.is_idle(now, s.enum_window);
                !(at_rest && now.saturating_sub(e.last_seen) >= s.idle)
            });
        });
        self.prefixes.each(|t| {
            t.retain(|net, p| {
                if p.ban.take_expired(now) {
                    expired.push(BanKey::Prefix { net: net.to_ipnet() });
                }
                bans += u64::from(p.ban.active(now));
                let at_rest = !p.ban.open && !p.ban.remembered(now, s.ladder) && p.flood <= now;
                !(at_rest && now.saturating_sub(p.last_seen) >= s.idle)
            });
        });
        self.auth.each(|t| {
            t.retain(|k, a| {
                if a.block.take_expired(now) {
                    expired.push(user_key(a, k.ip));
                }
                bans += u64::from(a.block.active(now));
                let at_rest = !a.block.open
                    && !a.block.remembered(now, s.ladder)
                    && a.failures.is_empty(now, s.user_leak);
                !(at_rest && now.saturating_sub(a.last_seen) >= s.idle)
            });
        });
        self.totals.known_devices.store(devices, Ordering::Relaxed);
        self.totals.active_bans.store(bans, Ordering::Relaxed);
        for key in expired {
            self.events.push(GuardEvent::BanExpired { key });
        }
    }

    /// Every running ban, and every static deny entry (as [`BanReason::Static`], without
    /// expiry), sorted by key.
    pub fn list_bans(&self, now: Instant) -> Vec<BanInfo> {
        let now = self.clock.us(now);
        let mut out = Vec::new();
        self.ips.each(|t| {
            for (bits, e) in t.iter() {
                let ip = bits_ip(*bits);
                if e.ban.active(now) {
                    out.push(e.ban.info(BanKey::Ip { ip }, now));
                }
                for p in e.ports.iter().filter(|p| p.ban.active(now)) {
                    let addr = SocketAddr::new(ip, p.port);
                    out.push(p.ban.info(BanKey::Source { addr }, now));
                }
            }
        });
        self.prefixes.each(|t| {
            for (net, p) in t.iter().filter(|(_, p)| p.ban.active(now)) {
                out.push(p.ban.info(BanKey::Prefix { net: net.to_ipnet() }, now));
            }
        });
        self.auth.each(|t| {
            for (k, a) in t.iter().filter(|(_, a)| a.block.active(now)) {
                out.push(a.block.info(user_key(a, k.ip), now));
            }
        });
        for net in self.compiled().global_deny() {
            out.push(BanInfo {
                key: static_key(Net::from_ipnet(net)),
                reason: BanReason::Static,
                offences: 0,
                started_secs_ago: 0,
                expires_in_secs: None,
            });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Lifts the running ban under `key` and forgets its offences, meters and counters (an
    /// administrator judged it a false positive). Emits [`GuardEvent::BanLifted`].
    pub fn lift_ban(&self, now: Instant, key: &BanKey) -> Result<(), GuardError> {
        let now = self.clock.us(now);
        let lifted = match key {
            BanKey::Ip { ip } => {
                let bits = ip_bits(ip.to_canonical());
                let mut t = self.ips.lock(&bits);
                match t.get_mut(&bits) {
                    Some(e) if e.ban.active(now) => {
                        e.ban.lift();
                        e.flood = 0;
                        e.auth.clear();
                        e.auth_users = 0;
                        e.score.clear();
                        e.signals = ScannerSignals::NONE;
                        true
                    }
                    _ => false,
                }
            }
            BanKey::Source { addr } => {
                let bits = ip_bits(addr.ip().to_canonical());
                let mut t = self.ips.lock(&bits);
                let slot = t.get_mut(&bits).and_then(|e| e.slot(addr.port()));
                match slot {
                    Some(p) if p.ban.active(now) => {
                        p.ban.lift();
                        true
                    }
                    _ => false,
                }
            }
            BanKey::Prefix { net } => {
                let n = Net::from_ipnet(net);
                let mut t = self.prefixes.lock(&n);
                let metered = meter_prefix(n.bits) == n;
                match t.get_mut(&n) {
                    Some(p) if metered && p.ban.active(now) => {
                        p.ban.lift();
                        p.flood = 0;
                        true
                    }
                    _ => false,
                }
            }
            BanKey::User { tenant, user, ip } => {
                let key =
                    AuthKey { id: self.user_id(tenant, user), ip: ip_bits(ip.to_canonical()) };
                let mut t = self.auth.lock(&key);
                match t.get_mut(&key) {
                    Some(a) if a.block.active(now) => {
                        a.block.lift();
                        a.failures.clear();
                        true
                    }
                    _ => false,
                }
            }
        };
        if lifted {
            self.events.push(GuardEvent::BanLifted { key: key.clone() });
            return Ok(());
        }
        if self.is_static_deny(key) {
            return Err(GuardError::StaticRule(key.clone()));
        }
        Err(GuardError::NotBanned(key.clone()))
    }

    /// True if `key` names an address or network that a global deny entry covers.
    fn is_static_deny(&self, key: &BanKey) -> bool {
        let rules = self.compiled();
        match key {
            BanKey::Ip { ip } => rules.classify(ip_bits(ip.to_canonical())) == Class::GlobalDeny,
            BanKey::Source { addr } => {
                rules.classify(ip_bits(addr.ip().to_canonical())) == Class::GlobalDeny
            }
            BanKey::Prefix { net } => {
                let n = Net::from_ipnet(net);
                rules.global_deny().iter().any(|d| Net::from_ipnet(d) == n)
            }
            BanKey::User { .. } => false,
        }
    }

    /// Counters and gauges. Locks each shard briefly.
    pub fn stats(&self) -> GuardStats {
        let mut c = Counters::default();
        let mut ips = 0;
        self.ips.each(|t| {
            c.add(&t.counters);
            ips += t.len() as u64;
        });
        let mut prefixes = 0;
        self.prefixes.each(|t| {
            c.add(&t.counters);
            prefixes += t.len() as u64;
        });
        let mut auth = 0;
        self.auth.each(|t| {
            c.add(&t.counters);
            auth += t.len() as u64;
        });
        GuardStats {
            tracked_ips: ips,
            tracked_prefixes: prefixes,
            tracked_auth: auth,
            known_devices: self.totals.known_devices.load(Ordering::Relaxed),
            active_bans: self.totals.active_bans.load(Ordering::Relaxed),
            packets_allowed: c.allowed,
            dropped_banned: c.dropped_banned,
            dropped_static: c.dropped_static,
            entries_evicted: c.evicted,
            devices_demoted: c.demoted,
            bans_started: self.totals.bans_started.load(Ordering::Relaxed),
            bans_evicted: self.totals.bans_evicted.load(Ordering::Relaxed),
            events_dropped: self.events.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The key a static deny network is listed under: a host route as its address.
fn static_key(n: Net) -> BanKey {
    if n.len == 128 {
        return BanKey::Ip { ip: bits_ip(n.bits) };
    }
    BanKey::Prefix { net: n.to_ipnet() }
}
