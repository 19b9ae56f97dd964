//! The packet and request paths, and known devices.

use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::ban::{BanKey, BanReason};
use crate::entry::{IpEntry, PortState, PrefixEntry};
use crate::events::GuardEvent;
use crate::meter::{gcra, micros};
use crate::net::{Net, bits_ip, ip_bits, is_v4, meter_prefix};
use crate::rules::Class;
use crate::scanner::{ENUMERATION_POINTS, RequestInfo, ScannerSignals, request_signals};
use crate::{Guard, Transport, Verdict, canonical};

impl Guard {
    /// Decides whether a datagram (or a new TCP/TLS/WebSocket connection) from `source` is
    /// looked at. Call before parsing anything. One shard lock of the address table, plus
    /// one of the prefix table for sources whose prefix is metered (IPv6). The drop path of
    /// a banned source and the path of a known source allocate nothing; a new source may
    /// grow a table (up to its cap), and a ban that starts queues an event.
    ///
    /// Order: static deny → drop; static allow → allow; a banned port → drop; a known
    /// device → its own meter, allow; a banned address or prefix → drop; then the prefix and
    /// address meters, whose overflow starts a ban and drops.
    pub fn check_packet(&self, now: Instant, source: SocketAddr, transport: Transport) -> Verdict {
        // Every datagram and every accepted connection counts one; the transport only
        // matters for requests on connections (see `observe_request`).
        let _ = transport;
        let now = self.clock.us(now);
        let bits = ip_bits(source.ip().to_canonical());
        let rules_gen = self.rules_gen.load(Ordering::Acquire);
        let mut ips = self.ips.lock(&bits);
        let found = ips.find(&bits);
        let class = match found {
            Some(i) => {
                let e = ips.at(i);
                e.last_seen = now;
                self.class_cached(e, bits, rules_gen)
            }
            None => self.class_of(bits),
        };
        match class {
            Class::GlobalDeny => {
                ips.counters.dropped_static += 1;
                return Verdict::Drop;
            }
            Class::GlobalAllow => {
                ips.counters.allowed += 1;
                return Verdict::Allow;
            }
            Class::None | Class::TenantAllow => {}
        }
        if let Some(i) = found {
            let e = ips.at(i);
            match e.port_state(now, source.port(), None, Some(self.s.device_rate)) {
                PortState::Banned => {
                    ips.counters.dropped_banned += 1;
                    return Verdict::Drop;
                }
                PortState::Known => {
                    ips.counters.allowed += 1;
                    return Verdict::Allow;
                }
                PortState::Demoted => ips.counters.demoted += 1,
                PortState::Unknown => {}
            }
            if ips.at(i).ban.active(now) {
                ips.counters.dropped_banned += 1;
                return Verdict::Drop;
            }
        }
        let factor = if class == Class::TenantAllow { self.s.factor } else { 1 };
        if self.prefix_verdict(now, bits, factor) == Verdict::Drop {
            ips.counters.dropped_banned += 1;
            return Verdict::Drop;
        }
        let i = match found {
            Some(i) => i,
            None => {
                let (i, evicted) = ips.insert(bits, IpEntry::new(now, rules_gen, class), now);
                if let Some((k, e)) = evicted {
                    self.ip_evicted(k, &e, now);
                }
                i
            }
        };
        let e = ips.at(i);
        if !gcra(&mut e.flood, now, self.s.ip_rate.scaled(factor)) {
            let reason = BanReason::Flood {
                limit: self.s.flood_limit.saturating_mul(factor),
                window_secs: self.s.window_secs,
            };
            let len = e.ban.start(now, reason, self.s.ladder);
            let offences = e.ban.offences;
            ips.counters.dropped_banned += 1;
            drop(ips);
            self.ban_started(BanKey::Ip { ip: bits_ip(bits) }, reason, len, offences);
            return Verdict::Drop;
        }
        ips.counters.allowed += 1;
        Verdict::Allow
    }

    /// The prefix meter of `bits`, if its family has one: drops if the prefix is banned or
    /// just went over its limit.
    fn prefix_verdict(&self, now: u64, bits: u128, factor: u32) -> Verdict {
        let (rate, limit) = if is_v4(bits) {
            match self.s.v4_rate {
                Some(r) => (r, self.s.v4_limit),
                None => return Verdict::Allow,
            }
        } else {
            (self.s.v6_rate, self.s.v6_limit)
        };
        let net = meter_prefix(bits);
        let reason = BanReason::Flood {
            limit: limit.saturating_mul(factor),
            window_secs: self.s.window_secs,
        };
        let outcome = self.with_prefix(now, net, |p| {
            if p.ban.active(now) {
                return Err(None);
            }
            if gcra(&mut p.flood, now, rate.scaled(factor)) {
                return Ok(());
            }
            Err(Some((p.ban.start(now, reason, self.s.ladder), p.ban.offences)))
        });
        match outcome {
            Ok(()) => Verdict::Allow,
            Err(None) => Verdict::Drop,
            Err(Some((len, offences))) => {
                self.ban_started(BanKey::Prefix { net: net.to_ipnet() }, reason, len, offences);
                Verdict::Drop
            }
        }
    }

    /// Runs `f` on the entry of prefix `net`, created if absent.
    pub(crate) fn with_prefix<R>(
        &self,
        now: u64,
        net: Net,
        f: impl FnOnce(&mut PrefixEntry) -> R,
    ) -> R {
        let mut t = self.prefixes.lock(&net);
        let (i, evicted) = t.get_or_insert_with(net, now, || PrefixEntry::new(now));
        if let Some((k, e)) = evicted
            && e.ban.active(now)
        {
            self.ban_evicted(BanKey::Prefix { net: k.to_ipnet() });
        }
        let p = t.at(i);
        p.last_seen = now;
        f(p)
    }

    /// Bans the /64 of IPv6 source `bits` (its address-wide ban) unless it is banned.
    pub(crate) fn ban_prefix(&self, now: u64, bits: u128, reason: BanReason) {
        let net = meter_prefix(bits);
        let started = self.with_prefix(now, net, |p| {
            (!p.ban.active(now)).then(|| (p.ban.start(now, reason, self.s.ladder), p.ban.offences))
        });
        if let Some((len, offences)) = started {
            self.ban_started(BanKey::Prefix { net: net.to_ipnet() }, reason, len, offences);
        }
    }

    /// True if the metered prefix of `bits` is banned.
    fn prefix_banned(&self, now: u64, bits: u128) -> bool {
        if is_v4(bits) && self.s.v4_rate.is_none() {
            return false;
        }
        let net = meter_prefix(bits);
        self.prefixes.lock(&net).get_mut(&net).is_some_and(|p| p.ban.active(now))
    }

    /// Reports the bans an evicted address entry held.
    pub(crate) fn ip_evicted(&self, bits: u128, e: &IpEntry, now: u64) {
        let ip = bits_ip(bits);
        if e.ban.active(now) {
            self.ban_evicted(BanKey::Ip { ip });
        }
        for p in e.ports.iter().filter(|p| p.ban.active(now)) {
            self.ban_evicted(BanKey::Source { addr: SocketAddr::new(ip, p.port) });
        }
    }

    pub(crate) fn ban_evicted(&self, key: BanKey) {
        self.totals.bans_evicted.fetch_add(1, Ordering::Relaxed);
        self.events.push(GuardEvent::BanEvicted { key });
    }

    /// Looks at a parsed request. Call after parsing, before the transaction layer.
    ///
    /// - On connections (TCP, TLS, WS), where [`Guard::check_packet`] only saw the
    ///   connection being opened, each request is metered here (against the known device's
    ///   meter or the address's) and requests from a banned address or port are dropped.
    /// - From sources that are not known devices, the request is scored for scanner
    ///   signals ([`crate::scanner`]); crossing the threshold bans the address and this
    ///   request is dropped.
    ///
    /// `Drop` means: do not answer (and on a connection, the driver may close it).
    pub fn observe_request(&self, now: Instant, info: &RequestInfo<'_>) -> Verdict {
        let now = self.clock.us(now);
        let source = canonical(info.source);
        let bits = ip_bits(source.ip());
        let port = source.port();
        let reliable = info.transport.is_reliable();
        let rules_gen = self.rules_gen.load(Ordering::Acquire);
        let mut ips = self.ips.lock(&bits);
        let (i, evicted) =
            ips.get_or_insert_with(bits, now, || IpEntry::new(now, rules_gen, self.class_of(bits)));
        if let Some((k, e)) = evicted {
            self.ip_evicted(k, &e, now);
        }
        let e = ips.at(i);
        e.last_seen = now;
        let class = self.class_cached(e, bits, rules_gen);
        match class {
            Class::GlobalDeny => {
                ips.counters.dropped_static += 1;
                return Verdict::Drop;
            }
            Class::GlobalAllow => return Verdict::Allow,
            Class::None | Class::TenantAllow => {}
        }
        let meter = reliable.then_some(self.s.device_rate);
        match e.port_state(now, port, info.flow, meter) {
            PortState::Banned => {
                ips.counters.dropped_banned += 1;
                return Verdict::Drop;
            }
            PortState::Known => return Verdict::Allow,
            PortState::Demoted => ips.counters.demoted += 1,
            PortState::Unknown => {}
        }
        let e = ips.at(i);
        if e.ban.active(now) || self.prefix_banned(now, bits) {
            ips.counters.dropped_banned += 1;
            return Verdict::Drop;
        }
        let e = ips.at(i);
        let factor = if class == Class::TenantAllow { self.s.factor } else { 1 };
        if reliable && !gcra(&mut e.flood, now, self.s.ip_rate.scaled(factor)) {
            let reason = BanReason::Flood {
                limit: self.s.flood_limit.saturating_mul(factor),
                window_secs: self.s.window_secs,
            };
            let len = e.ban.start(now, reason, self.s.ladder);
            let offences = e.ban.offences;
            ips.counters.dropped_banned += 1;
            drop(ips);
            self.ban_started(BanKey::Ip { ip: source.ip() }, reason, len, offences);
            return Verdict::Drop;
        }

        // Scanner signals.
        let (mut signals, mut points) = request_signals(info);
        if !info.has_credentials
            && let Some(user) = info.target_user.filter(|u| !u.is_empty())
            && let Some(n) =
                e.extra().sweep.note(now, port, self.seeds.hash_one(user), self.s.enum_window)
            && n > self.s.enum_free
        {
            signals = signals.union(ScannerSignals::ENUMERATION);
            points += ENUMERATION_POINTS;
        }
        if points == 0 {
            return Verdict::Allow;
        }
        let x = e.extra();
        if x.score.is_empty(now, self.s.score_leak) {
            x.signals = ScannerSignals::NONE;
        }
        let score = x.score.add(now, self.s.score_leak, points);
        let new = signals.difference(x.signals);
        x.signals = x.signals.union(signals);
        let all = x.signals;
        let reason = (score >= self.s.threshold).then_some(BanReason::Scanner { signals: all });
        // The address-wide ban: the address for IPv4, its /64 for IPv6 (placed below).
        let started = match reason {
            Some(r) if is_v4(bits) => Some((e.ban.start(now, r, self.s.ladder), e.ban.offences)),
            _ => None,
        };
        if reason.is_some() {
            ips.counters.dropped_banned += 1;
        }
        drop(ips);
        if !new.is_empty() {
            self.events.push(GuardEvent::scanner(source, new, info.user_agent));
        }
        let Some(reason) = reason else { return Verdict::Allow };
        match started {
            Some((len, offences)) => {
                self.ban_started(BanKey::Ip { ip: source.ip() }, reason, len, offences);
            }
            None => self.ban_prefix(now, bits, reason),
        }
        Verdict::Drop
    }

    /// A registration from `source` (on `flow`, for connection transports) was accepted
    /// for `expires`: the address and port are a known device until then (plus
    /// [`crate::GuardConfig::device_grace`]). `expires` of zero (an unregistration) ends
    /// it. Call for every successful REGISTER, refreshes included.
    pub fn registration_ok(
        &self,
        now: Instant,
        source: SocketAddr,
        flow: Option<u64>,
        expires: Duration,
    ) {
        let now = self.clock.us(now);
        let source = canonical(source);
        let bits = ip_bits(source.ip());
        let rules_gen = self.rules_gen.load(Ordering::Acquire);
        let mut ips = self.ips.lock(&bits);
        let (i, evicted) =
            ips.get_or_insert_with(bits, now, || IpEntry::new(now, rules_gen, self.class_of(bits)));
        if let Some((k, e)) = evicted {
            self.ip_evicted(k, &e, now);
        }
        let e = ips.at(i);
        e.last_seen = now;
        if let Some(x) = e.extra.as_mut() {
            x.sweep.forget(source.port());
        }
        if expires.is_zero() {
            if let Some(slot) = e.slot(source.port()) {
                slot.known_until = 0;
            }
            e.prune_ports(now, self.s.ladder);
            e.summarise_ports(now);
            return;
        }
        let until = now.saturating_add(micros(expires)).saturating_add(self.s.grace);
        let slot = e.slot_or_insert(source.port(), now, self.s.max_ports);
        slot.known_until = until;
        slot.flow = flow;
        e.device_until = e.device_until.max(until);
    }

    /// The device at `source` is gone (its connection closed, or its registration was
    /// removed): it is no longer exempt.
    pub fn forget_device(&self, now: Instant, source: SocketAddr) {
        let now = self.clock.us(now);
        let source = canonical(source);
        let bits = ip_bits(source.ip());
        let mut ips = self.ips.lock(&bits);
        if let Some(e) = ips.get_mut(&bits) {
            if let Some(slot) = e.slot(source.port()) {
                slot.known_until = 0;
            }
            e.prune_ports(now, self.s.ladder);
            e.summarise_ports(now);
        }
    }

    /// True if `source` is a known device now.
    pub fn is_known_device(&self, now: Instant, source: SocketAddr) -> bool {
        let now = self.clock.us(now);
        let source = canonical(source);
        let bits = ip_bits(source.ip());
        self.ips.lock(&bits).get_mut(&bits).is_some_and(|e| e.is_known(now, source.port(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Sim, addr};
    use crate::{GuardConfig, StaticRules, TenantRules};

    /// Sends `n` packets from `src` at the current instant; returns how many were allowed.
    fn burst(sim: &Sim, src: SocketAddr, n: usize) -> usize {
        (0..n)
            .filter(|_| sim.guard.check_packet(sim.now, src, Transport::Udp) == Verdict::Allow)
            .count()
    }

    fn started(sim: &Sim) -> Vec<(BanKey, BanReason, u64, u32)> {
        sim.events()
            .into_iter()
            .filter_map(|e| match e {
                GuardEvent::BanStarted { key, reason, duration_secs, offences } => {
                    Some((key, reason, duration_secs, offences))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_flood_is_banned_within_the_window() {
        let mut sim = Sim::default();
        let src = addr("198.51.100.1:5060");
        // 1000 datagrams per second.
        let mut first_drop = None;
        for i in 0..2000u64 {
            if sim.guard.check_packet(sim.now, src, Transport::Udp) == Verdict::Drop {
                first_drop.get_or_insert(i);
            }
            sim.advance(Duration::from_millis(1));
        }
        let first = first_drop.expect("banned");
        assert!((500..1000).contains(&first), "first drop at packet {first}");
        let bans = started(&sim);
        assert_eq!(
            bans,
            [(
                BanKey::Ip { ip: src.ip() },
                BanReason::Flood { limit: 500, window_secs: 10 },
                300,
                1
            )]
        );
        // Dropped until the ban (started by packet `first`, at `first` ms) ends, then
        // metered afresh.
        let end = Duration::from_millis(first) + Duration::from_secs(300);
        sim.advance(end - Duration::from_millis(2000 + 1));
        assert_eq!(burst(&sim, src, 1), 0);
        sim.advance(Duration::from_millis(1));
        assert_eq!(burst(&sim, src, 1), 1);
        let s = sim.guard.stats();
        assert!(s.dropped_banned >= 1000 && s.packets_allowed >= 501, "{s:?}");
    }

    #[test]
    fn bans_escalate_to_the_cap_and_are_forgotten() {
        let mut sim = Sim::default();
        let src = addr("198.51.100.2:5060");
        let mut lengths = Vec::new();
        for _ in 0..11 {
            assert_eq!(burst(&sim, src, 600), 500);
            let bans = started(&sim);
            lengths.push(bans[0].2);
            sim.secs(bans[0].2);
        }
        assert_eq!(lengths, [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 76800, 86400, 86400]);
        // A day after the last ban ended the offences are forgotten.
        sim.secs(86_400);
        assert_eq!(burst(&sim, src, 600), 500);
        assert_eq!(started(&sim)[0].2, 300);
    }

    #[test]
    fn a_known_device_passes_while_its_address_is_banned() {
        let mut sim = Sim::default();
        let phone = addr("203.0.113.10:5062");
        let attacker = addr("203.0.113.10:40000");
        let other = addr("203.0.113.10:5064");
        sim.guard.registration_ok(sim.now, phone, None, Duration::from_secs(120));
        assert!(sim.guard.is_known_device(sim.now, phone));
        assert_eq!(burst(&sim, attacker, 1000), 500);
        assert_eq!(burst(&sim, attacker, 1), 0);
        assert_eq!(burst(&sim, other, 1), 0, "unknown ports of the address are banned");
        for _ in 0..100 {
            sim.secs(1);
            assert_eq!(burst(&sim, phone, 1), 1, "the phone keeps passing");
        }
        // Its registration (120 s) plus the grace (30 s) ends at 150 s.
        sim.secs(49);
        assert_eq!(burst(&sim, phone, 1), 1);
        sim.secs(1);
        assert_eq!(burst(&sim, phone, 1), 0);
        assert!(!sim.guard.is_known_device(sim.now, phone));
    }

    #[test]
    fn a_device_over_its_own_budget_falls_back_to_its_address() {
        let mut sim = Sim::default();
        let phone = addr("203.0.113.11:5062");
        sim.guard.registration_ok(sim.now, phone, None, Duration::from_secs(3600));
        // 200 on its own meter, then it is demoted and counts against the address (500).
        assert_eq!(burst(&sim, phone, 1000), 700);
        assert!(!sim.guard.is_known_device(sim.now, phone));
        assert_eq!(sim.guard.stats().devices_demoted, 1);
        // Its next registration makes it known again (with a fresh meter it never lost,
        // but the address ban does not apply to it).
        sim.secs(10);
        sim.guard.registration_ok(sim.now, phone, None, Duration::from_secs(3600));
        assert_eq!(burst(&sim, phone, 1), 1);
    }

    #[test]
    fn unregistering_or_forgetting_ends_the_exemption() {
        let sim = Sim::default();
        let a = addr("203.0.113.12:5060");
        let b = addr("[2001:db8::12]:5060");
        sim.guard.registration_ok(sim.now, a, None, Duration::from_secs(60));
        sim.guard.registration_ok(sim.now, b, Some(3), Duration::from_secs(60));
        assert!(sim.guard.is_known_device(sim.now, a) && sim.guard.is_known_device(sim.now, b));
        sim.guard.registration_ok(sim.now, a, None, Duration::ZERO);
        sim.guard.forget_device(sim.now, b);
        assert!(!sim.guard.is_known_device(sim.now, a) && !sim.guard.is_known_device(sim.now, b));
        // A mapped address is the same device.
        sim.guard.registration_ok(
            sim.now,
            addr("[::ffff:203.0.113.12]:5070"),
            None,
            Duration::from_secs(60),
        );
        assert!(sim.guard.is_known_device(sim.now, addr("203.0.113.12:5070")));
    }

    #[test]
    fn ipv6_sources_rotating_inside_a_64_ban_the_64() {
        let mut sim = Sim::default();
        let src = |i: u64| {
            let bits = (0x2001_0db8_0001_0002u128 << 64) | u128::from(i);
            SocketAddr::new(std::net::IpAddr::V6(bits.into()), 5060)
        };
        let allowed = (1..=5000u64)
            .filter(|&i| sim.guard.check_packet(sim.now, src(i), Transport::Udp) == Verdict::Allow)
            .count();
        assert_eq!(allowed, 1000);
        let bans = started(&sim);
        assert_eq!(bans.len(), 1);
        assert_eq!(bans[0].0, BanKey::Prefix { net: "2001:db8:1:2::/64".parse().unwrap() });
        // Addresses that never sent before are dropped without being tracked.
        let tracked = sim.guard.stats().tracked_ips;
        assert_eq!(tracked, 1000);
        assert_eq!(burst(&sim, src(9999), 1), 0);
        assert_eq!(sim.guard.stats().tracked_ips, tracked);
        // The next /64 is not affected.
        let neighbour = addr("[2001:db8:1:3::1]:5060");
        assert_eq!(burst(&sim, neighbour, 1), 1);
        sim.secs(1);
        // A known device inside the banned /64 passes.
        sim.guard.registration_ok(sim.now, src(7), None, Duration::from_secs(60));
        assert_eq!(burst(&sim, src(7), 1), 1);
    }

    #[test]
    fn ipv4_24_meter_is_optional() {
        let config = GuardConfig { prefix_v4_limit: Some(50), ..GuardConfig::default() };
        let sim = Sim::new(config);
        let allowed = (1..=200u32)
            .filter(|&i| {
                let a = SocketAddr::from(([198, 51, 100, i as u8], 5060));
                sim.guard.check_packet(sim.now, a, Transport::Udp) == Verdict::Allow
            })
            .count();
        assert_eq!(allowed, 50);
        assert_eq!(started(&sim)[0].0, BanKey::Prefix { net: "198.51.100.0/24".parse().unwrap() });
        // Off by default.
        let sim = Sim::default();
        let allowed = (1..=200u32)
            .filter(|&i| {
                let a = SocketAddr::from(([198, 51, 100, i as u8], 5060));
                sim.guard.check_packet(sim.now, a, Transport::Udp) == Verdict::Allow
            })
            .count();
        assert_eq!(allowed, 200);
    }

    #[test]
    fn static_rules_deny_allow_and_raise_the_budget() {
        let sim = Sim::default();
        let trunk = addr("192.0.2.10:5060");
        let denied = addr("198.51.100.66:5060");
        let office = addr("203.0.113.20:5060");
        // Tracked before the rules arrive: the change applies at the next packet.
        assert_eq!(burst(&sim, denied, 1), 1);
        sim.guard
            .set_static_rules(StaticRules {
                global_allow: vec!["192.0.2.0/24".parse().unwrap()],
                global_deny: vec!["198.51.100.0/24".parse().unwrap()],
                tenants: vec![TenantRules {
                    tenant: "office.example".into(),
                    allow: vec!["203.0.113.0/24".parse().unwrap()],
                    deny: vec![],
                }],
            })
            .unwrap();
        assert_eq!(burst(&sim, denied, 10), 0);
        assert_eq!(burst(&sim, trunk, 20_000), 20_000);
        assert_eq!(burst(&sim, office, 5000), 4000);
        let s = sim.guard.stats();
        assert_eq!(s.dropped_static, 10);
        // Back to no rules: the trunk is metered again.
        sim.guard.set_static_rules(StaticRules::default()).unwrap();
        assert_eq!(burst(&sim, trunk, 1000), 500);
        assert_eq!(burst(&sim, denied, 1), 1);
    }

    #[test]
    fn requests_on_connections_are_metered_and_banned_ones_dropped() {
        let mut sim = Sim::default();
        let src = addr("198.51.100.5:40001");
        let info = RequestInfo::new(src, Transport::Tls, "OPTIONS");
        assert_eq!(sim.guard.check_packet(sim.now, src, Transport::Tls), Verdict::Allow);
        let allowed = (0..1000)
            .filter(|_| sim.guard.observe_request(sim.now, &info) == Verdict::Allow)
            .count();
        // 500 in the budget, of which the accepted connection used one.
        assert_eq!(allowed, 499);
        assert_eq!(started(&sim).len(), 1);
        // Over UDP, check_packet already counted the datagram: observing does not count.
        sim.secs(1);
        let udp = RequestInfo::new(addr("198.51.100.6:5060"), Transport::Udp, "OPTIONS");
        assert!((0..2000).all(|_| sim.guard.observe_request(sim.now, &udp) == Verdict::Allow));
    }

    #[test]
    fn a_known_flow_is_matched_by_connection() {
        let sim = Sim::default();
        let phone = addr("198.51.100.7:50000");
        sim.guard.registration_ok(sim.now, phone, Some(9), Duration::from_secs(600));
        assert_eq!(burst(&sim, addr("198.51.100.7:1"), 1000), 500);
        let on_flow =
            RequestInfo { flow: Some(9), ..RequestInfo::new(phone, Transport::Tls, "INVITE") };
        let other_flow = RequestInfo { flow: Some(10), ..on_flow };
        assert_eq!(sim.guard.observe_request(sim.now, &on_flow), Verdict::Allow);
        assert_eq!(sim.guard.observe_request(sim.now, &other_flow), Verdict::Drop);
    }

    #[test]
    fn a_scanner_user_agent_bans_the_address_but_not_its_known_devices() {
        let sim = Sim::default();
        let phone = addr("198.51.100.8:5062");
        sim.guard.registration_ok(sim.now, phone, None, Duration::from_secs(600));
        let scan = addr("198.51.100.8:5070");
        let mut info = RequestInfo::new(scan, Transport::Udp, "OPTIONS");
        info.user_agent = Some("friendly-scanner");
        assert_eq!(sim.guard.check_packet(sim.now, scan, Transport::Udp), Verdict::Allow);
        assert_eq!(sim.guard.observe_request(sim.now, &info), Verdict::Drop);
        let events = sim.events();
        assert!(matches!(
            &events[0],
            GuardEvent::ScannerDetected { source, signals, user_agent: Some(ua) }
                if *source == scan && *signals == ScannerSignals::USER_AGENT && ua == "friendly-scanner"
        ));
        assert!(matches!(
            &events[1],
            GuardEvent::BanStarted { key: BanKey::Ip { .. }, reason: BanReason::Scanner { signals }, duration_secs: 300, offences: 1 }
                if *signals == ScannerSignals::USER_AGENT
        ));
        assert_eq!(burst(&sim, scan, 1), 0);
        assert_eq!(burst(&sim, phone, 1), 1);
        // A known device is not scored at all.
        let mut from_phone = RequestInfo::new(phone, Transport::Udp, "OPTIONS");
        from_phone.user_agent = Some("friendly-scanner");
        assert_eq!(sim.guard.observe_request(sim.now, &from_phone), Verdict::Allow);
    }

    fn unauth_register(src: SocketAddr, user: &str) -> RequestInfo<'_> {
        let mut r = RequestInfo::new(src, Transport::Udp, "REGISTER");
        r.from_user = Some(user);
        r.to_user = Some(user);
        r.target_user = Some(user);
        r
    }

    #[test]
    fn enumerating_users_from_one_port_is_banned() {
        let sim = Sim::default();
        let svwar = addr("198.51.100.9:5061");
        let users: Vec<String> = (100..400).map(|n| n.to_string()).collect();
        let first_drop = users
            .iter()
            .position(|u| {
                sim.guard.observe_request(sim.now, &unauth_register(svwar, u)) == Verdict::Drop
            })
            .expect("banned");
        // 16 free users, then 10 points per user: about the 26th distinct user (hash
        // collisions in the 128-bit set can add a few).
        assert!((25..40).contains(&first_drop), "banned at user {first_drop}");
    }

    #[test]
    fn an_office_booting_is_not_enumeration() {
        let sim = Sim::default();
        for p in 0..200u16 {
            let phone = SocketAddr::from(([203, 0, 113, 30], 10_000 + p));
            let user = (200 + p).to_string();
            assert_eq!(
                sim.guard.observe_request(sim.now, &unauth_register(phone, &user)),
                Verdict::Allow
            );
        }
        // A phone with 16 lines on one port is within the free allowance.
        let multi = addr("203.0.113.31:5060");
        for l in 0..16 {
            let user = (300 + l).to_string();
            assert_eq!(
                sim.guard.observe_request(sim.now, &unauth_register(multi, &user)),
                Verdict::Allow
            );
        }
        assert!(sim.events().is_empty());
    }

    #[test]
    fn weak_signals_add_up_only_when_frequent() {
        let mut sim = Sim::default();
        let src = addr("198.51.100.10:5060");
        let mut ping = RequestInfo::new(src, Transport::Udp, "OPTIONS");
        ping.from_user = Some("100");
        ping.to_user = Some("100");
        // One self-addressed OPTIONS every 30 s (25 points, 30 decay): never banned.
        for _ in 0..100 {
            assert_eq!(sim.guard.observe_request(sim.now, &ping), Verdict::Allow);
            sim.secs(30);
        }
        // Four within a fraction of a second: 100 points.
        let verdicts: Vec<Verdict> = (0..4)
            .map(|_| {
                sim.advance(Duration::from_millis(100));
                sim.guard.observe_request(sim.now, &ping)
            })
            .collect();
        assert_eq!(verdicts, [Verdict::Allow, Verdict::Allow, Verdict::Allow, Verdict::Drop]);
        // One detection event for the signal, then the ban.
        let events = sim.events();
        let detected =
            events.iter().filter(|e| matches!(e, GuardEvent::ScannerDetected { .. })).count();
        assert!(detected >= 1);
        assert!(matches!(events.last(), Some(GuardEvent::BanStarted { .. })));
    }

    #[test]
    fn an_ipv6_scanner_gets_its_64_banned() {
        let sim = Sim::default();
        let scan = addr("[2001:db8:9:9::5]:5070");
        let mut info = RequestInfo::new(scan, Transport::Udp, "OPTIONS");
        info.user_agent = Some("sipcli/v1.8");
        assert_eq!(sim.guard.observe_request(sim.now, &info), Verdict::Drop);
        let bans = started(&sim);
        assert_eq!(bans.len(), 1);
        assert_eq!(bans[0].0, BanKey::Prefix { net: "2001:db8:9:9::/64".parse().unwrap() });
        // Another address of the /64: dropped per packet, and per request on a connection.
        let other = addr("[2001:db8:9:9::6]:40000");
        assert_eq!(burst(&sim, other, 1), 0);
        let on_tls = RequestInfo::new(other, Transport::Tls, "REGISTER");
        assert_eq!(sim.guard.observe_request(sim.now, &on_tls), Verdict::Drop);
    }
}
