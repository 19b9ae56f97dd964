//! The admin side: listing and lifting bans, housekeeping, statistics.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::auth::user_key;
use crate::ban::{BanInfo, BanKey, BanReason};
use crate::entry::AuthKey;
use crate::events::GuardEvent;
use crate::net::{Net, auth_bits, bits_ip, ip_bits, meter_prefix};
use crate::rules::Class;
use crate::stats::GuardStats;
use crate::table::Counters;
use crate::{Guard, GuardError};

impl Guard {
    /// Call about once a second: reports bans that ran out ([`GuardEvent::BanExpired`]),
    /// forgets known devices whose registration ended, and removes entries that have been
    /// idle for [`crate::GuardConfig::idle_after`] with nothing left to remember (no running
    /// ban, no offence within the memory, no known device, meters and counters at rest).
    /// Visits every entry: about 2 ms per 100 000 entries, one shard (at most ~1600 entries)
    /// locked at a time.
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
                e.summarise_ports(now);
                if e.extra.as_ref().is_some_and(|x| {
                    x.auth.is_empty(now, s.ip_leak)
                        && x.score.is_empty(now, s.score_leak)
                        && x.sweep.is_idle(now, s.enum_window)
                }) {
                    e.extra = None;
                }
                let at_rest = e.ports.is_empty()
                    && e.extra.is_none()
                    && !e.ban.open
                    && !e.ban.remembered(now, s.ladder)
                    && e.flood <= now;
                !(at_rest && now.saturating_sub(e.last_seen) >= s.idle)
            });
        });
        self.prefixes.each(|t| {
            t.retain(|net, p| {
                if p.ban.take_expired(now) {
                    expired.push(BanKey::Prefix { net: net.to_ipnet() });
                }
                bans += u64::from(p.ban.active(now));
                let at_rest = !p.ban.open
                    && !p.ban.remembered(now, s.ladder)
                    && p.flood <= now
                    && p.auth.is_empty(now, s.ip_leak);
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
                        e.extra = None;
                        true
                    }
                    _ => false,
                }
            }
            BanKey::Source { addr } => {
                let bits = ip_bits(addr.ip().to_canonical());
                let mut t = self.ips.lock(&bits);
                match t.get_mut(&bits) {
                    Some(e) => {
                        let lifted = match e.slot(addr.port()) {
                            Some(p) if p.ban.active(now) => {
                                p.ban.lift();
                                true
                            }
                            _ => false,
                        };
                        e.summarise_ports(now);
                        lifted
                    }
                    None => false,
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
                        p.auth.clear();
                        p.auth_users = 0;
                        true
                    }
                    _ => false,
                }
            }
            BanKey::User { tenant, user, ip } => {
                let key = AuthKey {
                    id: self.user_id(tenant, user),
                    ip: auth_bits(ip_bits(ip.to_canonical())),
                };
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testutil::{Sim, addr};
    use crate::{GuardConfig, StaticRules, Transport, Verdict};

    fn flood(sim: &Sim, src: SocketAddr) {
        while sim.guard.check_packet(sim.now, src, Transport::Udp) == Verdict::Allow {}
    }

    #[test]
    fn list_shows_every_kind_of_ban_sorted() {
        let mut sim = Sim::default();
        sim.guard
            .set_static_rules(StaticRules {
                global_deny: vec![
                    "192.0.2.0/24".parse().unwrap(),
                    "192.0.2.99/32".parse().unwrap(),
                ],
                ..Default::default()
            })
            .unwrap();
        flood(&sim, addr("198.51.100.1:5060"));
        flood(&sim, addr("[2001:db8:5::1]:5060"));
        for i in 2..1100u32 {
            let a = SocketAddr::new(
                std::net::IpAddr::V6((0x2001_0db8_0006_0000u128 << 64 | u128::from(i)).into()),
                5060,
            );
            let _ = sim.guard.check_packet(sim.now, a, Transport::Udp);
        }
        for _ in 0..5 {
            sim.guard.auth_failed(sim.now, "a.example", "100", addr("203.0.113.1:5070"));
        }
        sim.secs(10);
        let list = sim.guard.list_bans(sim.now);
        let keys: Vec<String> = list.iter().map(|b| b.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "192.0.2.99",
                "198.51.100.1",
                "2001:db8:5::1",
                "192.0.2.0/24",
                "2001:db8:6::/64",
                "203.0.113.1:5070",
                "100@a.example@203.0.113.1",
            ]
        );
        let flood_ban = &list[1];
        assert_eq!(flood_ban.reason, BanReason::Flood { limit: 500, window_secs: 10 });
        assert_eq!((flood_ban.offences, flood_ban.started_secs_ago), (1, 10));
        assert_eq!(flood_ban.expires_in_secs, Some(290));
        assert_eq!(list[0].reason, BanReason::Static);
        assert_eq!(list[0].expires_in_secs, None);
        assert_eq!(list[6].reason, BanReason::AuthFailures { count: 5, users: 1 });
    }

    #[test]
    fn lifting_a_ban_forgets_its_history() {
        let sim = Sim::default();
        let src = addr("198.51.100.2:5060");
        flood(&sim, src);
        let key = BanKey::Ip { ip: src.ip() };
        while sim.guard.poll_event().is_some() {}
        sim.guard.lift_ban(sim.now, &key).unwrap();
        assert_eq!(sim.poll_all(), [GuardEvent::BanLifted { key: key.clone() }]);
        assert_eq!(sim.guard.check_packet(sim.now, src, Transport::Udp), Verdict::Allow);
        assert_eq!(sim.guard.lift_ban(sim.now, &key), Err(GuardError::NotBanned(key.clone())));
        // The next ban is a first offence again, with a full budget before it.
        flood(&sim, src);
        assert!(matches!(
            sim.poll_all().as_slice(),
            [GuardEvent::BanStarted { offences: 1, duration_secs: 300, .. }]
        ));

        // Ports, prefixes and users.
        let port = addr("203.0.113.2:5070");
        for _ in 0..5 {
            sim.guard.auth_failed(sim.now, "a.example", "100", port);
        }
        let user = BanKey::User { tenant: "a.example".into(), user: "100".into(), ip: port.ip() };
        sim.guard.lift_ban(sim.now, &BanKey::Source { addr: port }).unwrap();
        assert_eq!(sim.guard.check_packet(sim.now, port, Transport::Udp), Verdict::Allow);
        sim.guard.lift_ban(sim.now, &user).unwrap();
        assert_eq!(
            sim.guard.check_auth(sim.now, "a.example", "100", port),
            crate::AuthCheck::Proceed
        );
        flood(&sim, addr("[2001:db8:7::1]:5060"));
        for i in 2..1100u32 {
            let a = SocketAddr::new(
                std::net::IpAddr::V6((0x2001_0db8_0007_0000u128 << 64 | u128::from(i)).into()),
                1,
            );
            let _ = sim.guard.check_packet(sim.now, a, Transport::Udp);
        }
        let net: ipnet::IpNet = "2001:db8:7::/64".parse().unwrap();
        assert!(
            sim.guard
                .lift_ban(sim.now, &BanKey::Prefix { net: "2001:db8:7::/63".parse().unwrap() })
                .is_err()
        );
        sim.guard.lift_ban(sim.now, &BanKey::Prefix { net }).unwrap();
        assert!(sim.guard.list_bans(sim.now).iter().all(|b| b.key != BanKey::Prefix { net }));
    }

    #[test]
    fn static_entries_cannot_be_lifted() {
        let sim = Sim::default();
        sim.guard
            .set_static_rules(StaticRules {
                global_deny: vec!["192.0.2.0/24".parse().unwrap()],
                ..Default::default()
            })
            .unwrap();
        let ip = BanKey::Ip { ip: "192.0.2.7".parse().unwrap() };
        assert_eq!(sim.guard.lift_ban(sim.now, &ip), Err(GuardError::StaticRule(ip.clone())));
        let net = BanKey::Prefix { net: "192.0.2.0/24".parse().unwrap() };
        assert_eq!(sim.guard.lift_ban(sim.now, &net), Err(GuardError::StaticRule(net.clone())));
        assert_eq!(sim.guard.static_rules().global_deny.len(), 1);
    }

    #[test]
    fn housekeeping_reports_expiry_once_and_ages_out_idle_entries() {
        let mut sim = Sim::default();
        let src = addr("198.51.100.3:5060");
        let phone = addr("203.0.113.3:5062");
        flood(&sim, src);
        sim.guard.registration_ok(sim.now, phone, None, Duration::from_secs(60));
        for i in 0..100u8 {
            let _ = sim.guard.check_packet(
                sim.now,
                SocketAddr::from(([10, 0, 0, i], 5060)),
                Transport::Udp,
            );
        }
        sim.guard.housekeeping(sim.now);
        let s = sim.guard.stats();
        assert_eq!((s.tracked_ips, s.known_devices, s.active_bans), (102, 1, 1));
        let _ = sim.poll_all();
        sim.secs(300);
        sim.guard.housekeeping(sim.now);
        assert_eq!(sim.poll_all(), [GuardEvent::BanExpired { key: BanKey::Ip { ip: src.ip() } }]);
        sim.secs(1);
        sim.guard.housekeeping(sim.now);
        assert!(sim.poll_all().is_empty(), "reported once");
        // The idle plain entries and the ended device are gone; the banned address is kept
        // for its offence memory.
        let s = sim.guard.stats();
        assert_eq!((s.tracked_ips, s.known_devices, s.active_bans), (1, 0, 0));
        sim.secs(86_400);
        sim.guard.housekeeping(sim.now);
        assert_eq!(sim.guard.stats().tracked_ips, 0);
    }

    #[test]
    fn events_beyond_the_queue_are_counted() {
        let sim = Sim::new(GuardConfig { max_events: 2, ..GuardConfig::default() });
        for i in 0..5u8 {
            flood(&sim, SocketAddr::from(([198, 51, 100, i], 5060)));
        }
        assert_eq!(sim.poll_all().len(), 2);
        let s = sim.guard.stats();
        assert_eq!((s.events_dropped, s.bans_started), (3, 5));
    }
}
