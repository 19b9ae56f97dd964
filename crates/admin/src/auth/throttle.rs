//! Login throttling: escalating lockouts per account (kept in the store, so they survive a
//! restart and hold across nodes) and per source IP (kept here, in memory).
//!
//! Escalation: after `threshold` consecutive failures the key is locked for `base`; every
//! further failure after a lock has passed doubles the lock, up to `max`. A success resets
//! the account's count. Attempts while locked are answered exactly like a wrong password and
//! do not count (so an attacker cannot keep a victim locked out for longer than `max` by
//! hammering). Defaults: accounts 5 failures -> 1 min, IPs 20 failures -> 1 min; cap 1 h.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When to lock and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures before the first lock.
    pub threshold: u32,
    /// First lock.
    pub base: Duration,
    /// Longest lock.
    pub max: Duration,
}

impl LockoutPolicy {
    /// The default for accounts: 5 failures -> 1 minute, doubling, at most 1 hour.
    pub fn account_default() -> Self {
        Self { threshold: 5, base: Duration::from_secs(60), max: Duration::from_secs(3600) }
    }

    /// The default for source IPs: 20 failures -> 1 minute, doubling, at most 1 hour.
    pub fn ip_default() -> Self {
        Self { threshold: 20, base: Duration::from_secs(60), max: Duration::from_secs(3600) }
    }

    /// The lock to apply after the `failures`-th consecutive failure, if any.
    pub fn lock_after(&self, failures: u32) -> Option<Duration> {
        if failures < self.threshold.max(1) {
            return None;
        }
        let doublings = (failures - self.threshold.max(1)).min(20);
        Some(self.base.saturating_mul(1 << doublings).min(self.max))
    }
}

#[derive(Debug, Clone, Copy)]
struct IpState {
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

/// Failed-login counts per source IP, bounded to [`IpThrottle::MAX_TRACKED`] addresses (when
/// full, addresses whose last failure is more than the maximum lock ago are forgotten first,
/// then the oldest).
#[derive(Debug)]
pub struct IpThrottle {
    policy: LockoutPolicy,
    map: Mutex<HashMap<IpAddr, IpState>>,
}

/// What happened when a failure was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureOutcome {
    /// Consecutive failures now.
    pub failures: u32,
    /// A new lock that starts now, if this failure caused one.
    pub locked_for: Option<Duration>,
}

impl IpThrottle {
    /// Addresses tracked at most.
    pub const MAX_TRACKED: usize = 100_000;

    /// An empty table.
    pub fn new(policy: LockoutPolicy) -> Self {
        Self { policy, map: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, IpState>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `ip` is locked out now.
    pub fn is_locked(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        self.lock().get(&ip).and_then(|s| s.locked_until).is_some_and(|until| until > now)
    }

    /// Counts a failure from `ip` (not while locked; see the module docs).
    pub fn record_failure(&self, ip: IpAddr) -> FailureOutcome {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= Self::MAX_TRACKED && !map.contains_key(&ip) {
            let max = self.policy.max;
            map.retain(|_, s| now.duration_since(s.last_failure) < max);
            if map.len() >= Self::MAX_TRACKED
                && let Some(k) = map.iter().min_by_key(|(_, s)| s.last_failure).map(|(k, _)| *k)
            {
                map.remove(&k);
            }
        }
        let s =
            map.entry(ip).or_insert(IpState { failures: 0, locked_until: None, last_failure: now });
        if s.locked_until.is_some_and(|u| u > now) {
            return FailureOutcome { failures: s.failures, locked_for: None };
        }
        s.failures = s.failures.saturating_add(1);
        s.last_failure = now;
        let locked_for = self.policy.lock_after(s.failures);
        if let Some(d) = locked_for {
            s.locked_until = Some(now + d);
        }
        FailureOutcome { failures: s.failures, locked_for }
    }

    /// Forgets `ip`'s failures after a successful login from it.
    pub fn record_success(&self, ip: IpAddr) {
        self.lock().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_doubles_up_to_the_cap() {
        let p = LockoutPolicy::account_default();
        assert_eq!(p.lock_after(4), None);
        assert_eq!(p.lock_after(5), Some(Duration::from_secs(60)));
        assert_eq!(p.lock_after(6), Some(Duration::from_secs(120)));
        assert_eq!(p.lock_after(10), Some(Duration::from_secs(1920)));
        assert_eq!(p.lock_after(11), Some(Duration::from_secs(3600)));
        assert_eq!(p.lock_after(u32::MAX), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn ip_lock_after_threshold_and_no_counting_while_locked() {
        let t = IpThrottle::new(LockoutPolicy { threshold: 3, ..LockoutPolicy::ip_default() });
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(t.record_failure(ip).locked_for, None);
        assert_eq!(t.record_failure(ip).locked_for, None);
        assert!(!t.is_locked(ip));
        assert_eq!(t.record_failure(ip).locked_for, Some(Duration::from_secs(60)));
        assert!(t.is_locked(ip));
        assert_eq!(t.record_failure(ip), FailureOutcome { failures: 3, locked_for: None });
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(!t.is_locked(other));
        t.record_success(ip);
        assert!(!t.is_locked(ip));
    }
}
