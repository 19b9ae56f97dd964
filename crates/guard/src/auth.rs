//! Authentication outcomes: per-user blocks, port bans, address bans.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::ban::{BanKey, BanReason};
use crate::entry::{AuthEntry, AuthKey, IpEntry};
use crate::net::ip_bits;
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
        let key = AuthKey { id, ip: bits };
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
    ///   for [`crate::GuardConfig::auth_ip_users`] distinct users, ban the address.
    ///
    /// From a globally allowed network only the per-user block applies.
    pub fn auth_failed(&self, now: Instant, tenant: &str, user: &str, source: SocketAddr) {
        let now = self.clock.us(now);
        let source = canonical(source);
        let bits = ip_bits(source.ip());
        let id = self.user_id(tenant, user);
        let key = AuthKey { id, ip: bits };
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
                let key = user_key(a, bits);
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
                started.push((BanKey::Source { addr: source }, reason, len, slot.ban.offences));
            }
        }
        if e.auth.is_empty(now, self.s.ip_leak) {
            e.auth_users = 0;
        }
        let n = e.auth.add(now, self.s.ip_leak, 1);
        e.auth_users |= 1u64 << (id % 64);
        let users = e.auth_users.count_ones();
        if (n >= self.s.ip_limit || users >= self.s.ip_users) && !e.ban.active(now) {
            let reason = BanReason::AuthFailures { count: n, users };
            let len = e.ban.start(now, reason, self.s.ladder);
            started.push((BanKey::Ip { ip: source.ip() }, reason, len, e.ban.offences));
        }
        drop(ips);
        for (key, reason, len, offences) in started {
            self.ban_started(key, reason, len, offences);
        }
    }

    /// Credentials for `user` of `tenant` from `source` verified: the user's failure count
    /// from that address starts again (a running block stays).
    pub fn auth_succeeded(&self, now: Instant, tenant: &str, user: &str, source: SocketAddr) {
        let now = self.clock.us(now);
        let bits = ip_bits(source.ip().to_canonical());
        let key = AuthKey { id: self.user_id(tenant, user), ip: bits };
        let mut t = self.auth.lock(&key);
        if let Some(a) = t.get_mut(&key)
            && !a.block.active(now)
        {
            a.failures.clear();
            a.last_seen = now;
        }
    }
}

/// The ban key of a per-user block.
pub(crate) fn user_key(a: &AuthEntry, ip: u128) -> BanKey {
    BanKey::User {
        tenant: a.tenant.to_string(),
        user: a.user.to_string(),
        ip: crate::net::bits_ip(ip),
    }
}
