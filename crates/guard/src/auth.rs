//! Authentication outcomes: per-user blocks, port bans, address bans.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::ban::{BanKey, BanReason};
use crate::entry::{AuthEntry, AuthKey, IpEntry};
use crate::meter::Leaky;
use crate::net::{auth_bits, ip_bits, is_v4, meter_prefix};
use crate::rules::Class;
use crate::{AuthCheck, Guard, canonical};

impl Guard {
    /// Call before verifying credentials for `user` of `tenant` (the digest username and
    /// realm) from `source`. `Refuse` when:
    /// - the tenant has a deny entry for the address, or
    /// - the user is blocked from this address after repeated failures, unless `source` is
    ///   a known device (the attacker's block does not lock out the user's own phone).
    ///
    /// On `Refuse`, answer exactly as for a wrong password and do not call
    /// [`Guard::auth_failed`]. A refused attempt of a blocked user still counts as a failure
    /// of the address, so a guesser that keeps going from new ports gets the whole address
    /// banned.
    pub fn check_auth(
        &self,
        now: Instant,
        tenant: &str,
        user: &str,
        source: SocketAddr,
    ) -> AuthCheck {
        let now_us = self.clock.us(now);
        let source = canonical(source);
        let bits = ip_bits(source.ip());
        if !self.rules_empty.load(Ordering::Acquire) && self.compiled().tenant_denies(tenant, bits)
        {
            return AuthCheck::Refuse;
        }
        {
            let mut ips = self.ips.lock(&bits);
            if ips.get_mut(&bits).is_some_and(|e| e.is_known(now_us, source.port(), None)) {
                return AuthCheck::Proceed;
            }
        }
        let id = self.user_id(tenant, user);
        let key = AuthKey { id, ip: auth_bits(bits) };
        let blocked = {
            let mut t = self.auth.lock(&key);
            match t.get_mut(&key) {
                Some(a) if a.block.active(now_us) => {
                    a.last_seen = now_us;
                    true
                }
                _ => false,
            }
        };
        if !blocked {
            return AuthCheck::Proceed;
        }
        self.address_failure(now_us, source, id, None);
        AuthCheck::Refuse
    }

    /// Credentials for `user` of `tenant` from `source` did not verify (or verified but the
    /// tenant's policy refused the source: count those too). Counts one failure for the
    /// (tenant, user, address) and one for the address:
    /// - [`crate::GuardConfig::auth_user_limit`] recent failures block the user from this
    ///   address and ban the source port that made the last one;
    /// - [`crate::GuardConfig::auth_ip_limit`] recent failures from the address, or failures
    ///   for [`crate::GuardConfig::auth_ip_users`] distinct users, ban the address (for IPv6
    ///   the /64, which is also what the per-user count is kept for).
    ///
    /// From a globally allowed network only the per-user block applies.
    pub fn auth_failed(&self, now: Instant, tenant: &str, user: &str, source: SocketAddr) {
        let now = self.clock.us(now);
        let source = canonical(source);
        let bits = ip_bits(source.ip());
        let id = self.user_id(tenant, user);
        let key = AuthKey { id, ip: auth_bits(bits) };
        let block = {
            let mut t = self.auth.lock(&key);
            let (i, evicted) = t.get_or_insert_with(key, now, || AuthEntry::new(tenant, user, now));
            if let Some((k, e)) = evicted
                && e.block.active(now)
            {
                self.ban_evicted(user_key(&e, k.ip));
            }
            let a = t.at(i);
            a.last_seen = now;
            let n = a.failures.add(now, self.s.user_leak, 1);
            if n >= self.s.user_limit && !a.block.active(now) {
                let reason = BanReason::AuthFailures { count: n, users: 1 };
                let len = a.block.start(now, reason, self.s.ladder);
                let offences = a.block.offences;
                let key = user_key(a, auth_bits(bits));
                drop(t);
                self.ban_started(key, reason, len, offences);
                Some(reason)
            } else {
                None
            }
        };
        self.address_failure(now, source, id, block);
    }

    /// Counts a failure for the address of `source` (user hash `id`); bans the port with
    /// `port_ban` if given, and the address when its counts are over the limits.
    fn address_failure(&self, now: u64, source: SocketAddr, id: u64, port_ban: Option<BanReason>) {
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
        if matches!(self.class_cached(e, bits, rules_gen), Class::GlobalAllow | Class::GlobalDeny) {
            return;
        }
        let mut started = Vec::new();
        if let Some(reason) = port_ban {
            let slot = e.slot_or_insert(source.port(), now, self.s.max_ports);
            slot.known_until = 0;
            if !slot.ban.active(now) {
                let len = slot.ban.start(now, reason, self.s.ladder);
                let until = slot.ban.until;
                started.push((BanKey::Source { addr: source }, reason, len, slot.ban.offences));
                e.port_ban_until = e.port_ban_until.max(until);
            }
        }
        // Address-wide counts: on the address for IPv4, on the /64 for IPv6.
        if is_v4(bits) {
            let x = e.extra();
            let (n, users) = count_failure(&mut x.auth, &mut x.auth_users, now, self.s.ip_leak, id);
            if (n >= self.s.ip_limit || users >= self.s.ip_users) && !e.ban.active(now) {
                let reason = BanReason::AuthFailures { count: n, users };
                let len = e.ban.start(now, reason, self.s.ladder);
                started.push((BanKey::Ip { ip: source.ip() }, reason, len, e.ban.offences));
            }
        }
        drop(ips);
        for (key, reason, len, offences) in started {
            self.ban_started(key, reason, len, offences);
        }
        if !is_v4(bits) {
            let over = self.with_prefix(now, meter_prefix(bits), |p| {
                let (n, users) =
                    count_failure(&mut p.auth, &mut p.auth_users, now, self.s.ip_leak, id);
                (n >= self.s.ip_limit || users >= self.s.ip_users)
                    .then_some(BanReason::AuthFailures { count: n, users })
            });
            if let Some(reason) = over {
                self.ban_prefix(now, bits, reason);
            }
        }
    }

    /// Credentials for `user` of `tenant` from `source` verified: the user's failure count
    /// from that address starts again (a running block stays).
    pub fn auth_succeeded(&self, now: Instant, tenant: &str, user: &str, source: SocketAddr) {
        let now = self.clock.us(now);
        let bits = ip_bits(source.ip().to_canonical());
        let key = AuthKey { id: self.user_id(tenant, user), ip: auth_bits(bits) };
        let mut t = self.auth.lock(&key);
        if let Some(a) = t.get_mut(&key)
            && !a.block.active(now)
        {
            a.failures.clear();
            a.last_seen = now;
        }
    }
}

/// Counts one failure of user hash `id` in an address-wide leaky count and its distinct
/// user set; returns the count and the distinct users.
fn count_failure(count: &mut Leaky, users: &mut u64, now: u64, leak: u64, id: u64) -> (u32, u32) {
    if count.is_empty(now, leak) {
        *users = 0;
    }
    let n = count.add(now, leak, 1);
    *users |= 1u64 << (id % 64);
    (n, users.count_ones())
}

/// The ban key of a per-user block.
pub(crate) fn user_key(a: &AuthEntry, ip: u128) -> BanKey {
    BanKey::User {
        tenant: a.tenant.to_string(),
        user: a.user.to_string(),
        ip: crate::net::bits_ip(ip),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testutil::{Sim, addr};
    use crate::{GuardEvent, StaticRules, TenantRules, Transport, Verdict};

    const T: &str = "office.example";

    fn bans(sim: &Sim) -> Vec<(BanKey, BanReason, u64)> {
        sim.events()
            .into_iter()
            .filter_map(|e| match e {
                GuardEvent::BanStarted { key, reason, duration_secs, .. } => {
                    Some((key, reason, duration_secs))
                }
                _ => None,
            })
            .collect()
    }

    /// One guess: the pre-check, then a failure if it proceeded.
    fn guess(sim: &Sim, user: &str, src: SocketAddr) -> AuthCheck {
        let c = sim.guard.check_auth(sim.now, T, user, src);
        if c == AuthCheck::Proceed {
            sim.guard.auth_failed(sim.now, T, user, src);
        }
        c
    }

    #[test]
    fn five_guesses_block_the_user_and_ban_the_port() {
        let mut sim = Sim::default();
        let attacker = addr("203.0.113.40:5070");
        for i in 0..5 {
            assert_eq!(guess(&sim, "100", attacker), AuthCheck::Proceed, "guess {i}");
            sim.secs(1);
        }
        let ip = attacker.ip();
        assert_eq!(
            bans(&sim),
            [
                (
                    BanKey::User { tenant: T.into(), user: "100".into(), ip },
                    BanReason::AuthFailures { count: 5, users: 1 },
                    300
                ),
                (
                    BanKey::Source { addr: attacker },
                    BanReason::AuthFailures { count: 5, users: 1 },
                    300
                ),
            ]
        );
        // The guessing port is dropped before parsing; the user is refused from the
        // address; other users and other addresses are not affected.
        assert_eq!(sim.guard.check_packet(sim.now, attacker, Transport::Udp), Verdict::Drop);
        assert_eq!(
            sim.guard.check_packet(sim.now, addr("203.0.113.40:5071"), Transport::Udp),
            Verdict::Allow
        );
        assert_eq!(
            sim.guard.check_auth(sim.now, T, "100", addr("203.0.113.40:5071")),
            AuthCheck::Refuse
        );
        assert_eq!(
            sim.guard.check_auth(sim.now, T, "101", addr("203.0.113.40:5071")),
            AuthCheck::Proceed
        );
        assert_eq!(
            sim.guard.check_auth(sim.now, "other.example", "100", attacker),
            AuthCheck::Proceed
        );
        assert_eq!(
            sim.guard.check_auth(sim.now, T, "100", addr("198.51.100.1:5060")),
            AuthCheck::Proceed
        );
        // The block (started by the fifth guess, at 4 s) ends 300 s later.
        sim.secs(298);
        assert_eq!(
            sim.guard.check_auth(sim.now, T, "100", addr("203.0.113.40:5071")),
            AuthCheck::Refuse
        );
        sim.secs(1);
        assert_eq!(
            sim.guard.check_auth(sim.now, T, "100", addr("203.0.113.40:5071")),
            AuthCheck::Proceed
        );
    }

    #[test]
    fn the_users_own_phone_is_not_locked_out() {
        let sim = Sim::default();
        let phone = addr("203.0.113.41:5062");
        sim.guard.registration_ok(sim.now, phone, None, Duration::from_secs(600));
        let attacker = addr("203.0.113.41:5070");
        for _ in 0..5 {
            let _ = guess(&sim, "100", attacker);
        }
        assert_eq!(sim.guard.check_auth(sim.now, T, "100", attacker), AuthCheck::Refuse);
        assert_eq!(sim.guard.check_auth(sim.now, T, "100", phone), AuthCheck::Proceed);
        assert_eq!(sim.guard.check_packet(sim.now, phone, Transport::Udp), Verdict::Allow);
    }

    #[test]
    fn failures_for_many_users_ban_the_address_except_known_devices() {
        let sim = Sim::default();
        let phone = addr("203.0.113.42:5062");
        sim.guard.registration_ok(sim.now, phone, None, Duration::from_secs(600));
        let stuffer = addr("203.0.113.42:6000");
        for u in ["100", "101", "102"] {
            assert_eq!(guess(&sim, u, stuffer), AuthCheck::Proceed);
        }
        assert!(bans(&sim).is_empty());
        assert_eq!(guess(&sim, "103", stuffer), AuthCheck::Proceed);
        assert_eq!(
            bans(&sim),
            [(
                BanKey::Ip { ip: stuffer.ip() },
                BanReason::AuthFailures { count: 4, users: 4 },
                300
            )]
        );
        assert_eq!(
            sim.guard.check_packet(sim.now, addr("203.0.113.42:6001"), Transport::Udp),
            Verdict::Drop
        );
        assert_eq!(sim.guard.check_packet(sim.now, phone, Transport::Udp), Verdict::Allow);
    }

    #[test]
    fn a_guesser_rotating_ports_gets_the_address_banned() {
        let sim = Sim::default();
        let mut refused = 0;
        let mut port = 7000u16;
        // Each guess from a new port: five failures, then refusals that count for the
        // address until it is banned at 20.
        while sim.guard.check_packet(sim.now, addr(&format!("203.0.113.43:{port}")), Transport::Udp)
            == Verdict::Allow
        {
            if guess(&sim, "100", addr(&format!("203.0.113.43:{port}"))) == AuthCheck::Refuse {
                refused += 1;
            }
            port += 1;
            assert!(port < 7100, "never banned");
        }
        assert_eq!(refused, 15);
        let keys: Vec<BanKey> = bans(&sim).into_iter().map(|b| b.0).collect();
        assert!(keys.contains(&BanKey::Ip { ip: "203.0.113.43".parse().unwrap() }), "{keys:?}");
    }

    #[test]
    fn slow_mistakes_and_successes_never_block() {
        let mut sim = Sim::default();
        let phone = addr("203.0.113.44:5062");
        // One failure every two minutes for a day.
        for _ in 0..720 {
            assert_eq!(guess(&sim, "200", phone), AuthCheck::Proceed);
            sim.secs(120);
        }
        // Four failures, a success, four failures.
        for _ in 0..4 {
            let _ = guess(&sim, "201", phone);
        }
        sim.guard.auth_succeeded(sim.now, T, "201", phone);
        for _ in 0..4 {
            assert_eq!(guess(&sim, "201", phone), AuthCheck::Proceed);
        }
        assert_eq!(sim.guard.check_auth(sim.now, T, "201", phone), AuthCheck::Proceed);
        assert!(bans(&sim).is_empty());
    }

    #[test]
    fn blocks_escalate() {
        let mut sim = Sim::default();
        let mut lengths = Vec::new();
        let mut guesses = Vec::new();
        for round in 0..3u16 {
            let src = addr(&format!("203.0.113.45:{}", 8000 + round));
            let mut n = 0;
            while guess(&sim, "100", src) == AuthCheck::Proceed {
                n += 1;
            }
            guesses.push(n);
            let b = bans(&sim);
            lengths.push(b.iter().find(|b| matches!(b.0, BanKey::User { .. })).unwrap().2);
            sim.secs(b[0].2);
        }
        assert_eq!(lengths, [300, 600, 1200]);
        // The failure count leaks slowly (one every 2 min), so after a block a guesser gets
        // fewer guesses before the next one: the 300 s block forgave two failures, the 600 s
        // block all five.
        assert_eq!(guesses, [5, 2, 5]);
    }

    #[test]
    fn an_allowed_network_only_gets_per_user_blocks() {
        let sim = Sim::default();
        sim.guard
            .set_static_rules(StaticRules {
                global_allow: vec!["192.0.2.0/24".parse().unwrap()],
                ..Default::default()
            })
            .unwrap();
        let sbc = addr("192.0.2.5:5060");
        for u in 0..10 {
            for _ in 0..5 {
                let _ = guess(&sim, &u.to_string(), sbc);
            }
        }
        let keys: Vec<BanKey> = bans(&sim).into_iter().map(|b| b.0).collect();
        assert_eq!(keys.len(), 10);
        assert!(keys.iter().all(|k| matches!(k, BanKey::User { .. })));
        assert_eq!(sim.guard.check_packet(sim.now, sbc, Transport::Udp), Verdict::Allow);
        assert_eq!(sim.guard.check_auth(sim.now, T, "3", sbc), AuthCheck::Refuse);
    }

    #[test]
    fn tenant_deny_entries_refuse_that_tenant_only() {
        let sim = Sim::default();
        sim.guard
            .set_static_rules(StaticRules {
                tenants: vec![TenantRules {
                    tenant: T.into(),
                    allow: vec![],
                    deny: vec!["198.51.100.0/24".parse().unwrap()],
                }],
                ..Default::default()
            })
            .unwrap();
        let src = addr("[::ffff:198.51.100.9]:5060");
        assert_eq!(sim.guard.check_auth(sim.now, T, "100", src), AuthCheck::Refuse);
        assert_eq!(sim.guard.check_auth(sim.now, "b.example", "100", src), AuthCheck::Proceed);
        assert_eq!(sim.guard.check_packet(sim.now, src, Transport::Udp), Verdict::Allow);
    }

    fn v6(i: u64) -> SocketAddr {
        let bits = (0x2001_0db8_0042_0007u128 << 64) | u128::from(i);
        SocketAddr::new(std::net::IpAddr::V6(bits.into()), 5060 + (i % 7) as u16)
    }

    #[test]
    fn ipv6_guessers_cannot_escape_by_rotating_addresses() {
        let sim = Sim::default();
        let failures =
            (1..100u64).take_while(|&i| guess(&sim, "100", v6(i)) == AuthCheck::Proceed).count();
        assert_eq!(failures, 5);
        let prefix: std::net::IpAddr = "2001:db8:42:7::".parse().unwrap();
        let keys: Vec<BanKey> = bans(&sim).into_iter().map(|b| b.0).collect();
        assert_eq!(
            keys,
            [
                BanKey::User { tenant: T.into(), user: "100".into(), ip: prefix },
                BanKey::Source { addr: v6(5) },
            ]
        );
        assert_eq!(sim.guard.check_auth(sim.now, T, "100", v6(1000)), AuthCheck::Refuse);
        let elsewhere = addr("[2001:db8:42:8::1]:5060");
        assert_eq!(sim.guard.check_auth(sim.now, T, "100", elsewhere), AuthCheck::Proceed);
        // The block is listed and lifted under the /64's first address.
        let key = BanKey::User { tenant: T.into(), user: "100".into(), ip: v6(77).ip() };
        sim.guard.lift_ban(sim.now, &key).unwrap();
        assert_eq!(sim.guard.check_auth(sim.now, T, "100", v6(1001)), AuthCheck::Proceed);
    }

    #[test]
    fn ipv6_failures_for_many_users_ban_the_64_except_known_devices() {
        let sim = Sim::default();
        let phone = v6(1);
        sim.guard.registration_ok(sim.now, phone, None, Duration::from_secs(600));
        for (i, u) in ["100", "101", "102", "103"].into_iter().enumerate() {
            assert_eq!(guess(&sim, u, v6(10 + i as u64)), AuthCheck::Proceed);
        }
        assert_eq!(
            bans(&sim),
            [(
                BanKey::Prefix { net: "2001:db8:42:7::/64".parse().unwrap() },
                BanReason::AuthFailures { count: 4, users: 4 },
                300
            )]
        );
        assert_eq!(sim.guard.check_packet(sim.now, v6(99), Transport::Udp), Verdict::Drop);
        assert_eq!(sim.guard.check_packet(sim.now, phone, Transport::Udp), Verdict::Allow);
    }
}
