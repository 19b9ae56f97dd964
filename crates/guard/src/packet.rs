//! The packet and request paths, and known devices.

use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::ban::{BanKey, BanReason};
use crate::entry::{IpEntry, PortState, PrefixEntry};
use crate::events::GuardEvent;
use crate::meter::{gcra, micros};
use crate::net::{bits_ip, ip_bits, is_v4, meter_prefix};
use crate::rules::Class;
use crate::scanner::{ENUMERATION_POINTS, RequestInfo, ScannerSignals, request_signals};
use crate::{Guard, Transport, Verdict, canonical};

impl Guard {
    /// Decides whether a datagram (or a new TCP/TLS/WebSocket connection) from `source` is
    /// looked at. Call before parsing anything. Allocation-free and lock-light: one shard
    /// lock of the address table, plus one of the prefix table for sources whose prefix is
    /// metered (IPv6).
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
        let mut t = self.prefixes.lock(&net);
        let (i, evicted) = t.get_or_insert_with(net, now, || PrefixEntry::new(now));
        if let Some((k, e)) = evicted
            && e.ban.active(now)
        {
            self.ban_evicted(BanKey::Prefix { net: k.to_ipnet() });
        }
        let p = t.at(i);
        p.last_seen = now;
        if p.ban.active(now) {
            return Verdict::Drop;
        }
        if gcra(&mut p.flood, now, rate.scaled(factor)) {
            return Verdict::Allow;
        }
        let reason = BanReason::Flood {
            limit: limit.saturating_mul(factor),
            window_secs: self.s.window_secs,
        };
        let len = p.ban.start(now, reason, self.s.ladder);
        let offences = p.ban.offences;
        drop(t);
        self.ban_started(BanKey::Prefix { net: net.to_ipnet() }, reason, len, offences);
        Verdict::Drop
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
        if e.ban.active(now) {
            ips.counters.dropped_banned += 1;
            return Verdict::Drop;
        }
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
            && let Some(n) = e.sweep.note(now, port, self.seeds.hash_one(user), self.s.enum_window)
            && n > self.s.enum_free
        {
            signals = signals.union(ScannerSignals::ENUMERATION);
            points += ENUMERATION_POINTS;
        }
        if points == 0 {
            return Verdict::Allow;
        }
        if e.score.is_empty(now, self.s.score_leak) {
            e.signals = ScannerSignals::NONE;
        }
        let score = e.score.add(now, self.s.score_leak, points);
        let new = signals.difference(e.signals);
        e.signals = e.signals.union(signals);
        let all = e.signals;
        let ban = (score >= self.s.threshold).then(|| {
            let reason = BanReason::Scanner { signals: all };
            (reason, e.ban.start(now, reason, self.s.ladder), e.ban.offences)
        });
        if ban.is_some() {
            ips.counters.dropped_banned += 1;
        }
        drop(ips);
        if !new.is_empty() {
            self.events.push(GuardEvent::scanner(source, new, info.user_agent));
        }
        match ban {
            Some((reason, len, offences)) => {
                self.ban_started(BanKey::Ip { ip: source.ip() }, reason, len, offences);
                Verdict::Drop
            }
            None => Verdict::Allow,
        }
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
        e.sweep.forget(source.port());
        if expires.is_zero() {
            if let Some(slot) = e.slot(source.port()) {
                slot.known_until = 0;
            }
            e.prune_ports(now, self.s.ladder);
            return;
        }
        let until = now.saturating_add(micros(expires)).saturating_add(self.s.grace);
        let slot = e.slot_or_insert(source.port(), now, self.s.max_ports);
        slot.known_until = until;
        slot.flow = flow;
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
