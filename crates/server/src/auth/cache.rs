//! A sharded map with a time to live per entry and a bounded size.
//!
//! Negative answers are cached like positive ones: a lookup for a name that does not
//! exist costs the same as one for a name that does (one hash, one shard lock), which is
//! part of what keeps unknown and known users indistinguishable.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

/// A bounded, sharded map whose entries expire `ttl` after insertion.
#[derive(Debug)]
pub(crate) struct TtlMap<K, V> {
    shards: Vec<Mutex<HashMap<K, (Instant, V)>>>,
    hasher: RandomState,
    per_shard: usize,
    ttl: Duration,
}

impl<K: Hash + Eq, V: Clone> TtlMap<K, V> {
    /// A map of at most about `capacity` entries living `ttl` each.
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        TtlMap {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            ttl,
        }
    }

    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> MutexGuard<'_, HashMap<K, (Instant, V)>> {
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[i].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live value for `key`, if any.
    pub(crate) fn get(&self, key: &K, now: Instant) -> Option<V> {
        let shard = self.shard(key);
        match shard.get(key) {
            Some((at, v)) if now.saturating_duration_since(*at) < self.ttl => Some(v.clone()),
            _ => None,
        }
    }

    /// Inserts or replaces `key`. A full shard first drops its expired entries, then an
    /// arbitrary one.
    pub(crate) fn insert(&self, key: K, value: V, now: Instant) {
        let ttl = self.ttl;
        let mut shard = self.shard(&key);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if shard.len() >= self.per_shard {
                // HashMap order is arbitrary (and per-process random): no attacker can aim
                // at a particular entry.
                let victim = shard.keys().next().map(|k| self.hasher.hash_one(k));
                if let Some(h) = victim {
                    shard.retain(|k, _| self.hasher.hash_one(k) != h);
                }
            }
        }
        shard.insert(key, (now, value));
    }

    /// Removes `key`.
    pub(crate) fn remove(&self, key: &K) {
        self.shard(key).remove(key);
    }

    /// Keeps only the entries `keep` accepts.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K) -> bool) {
        for s in &self.shards {
            s.lock().unwrap_or_else(PoisonError::into_inner).retain(|k, _| keep(k));
        }
    }

    /// Entries held (expired ones included until they are dropped).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let m = TtlMap::new(100, Duration::from_secs(10));
        let t0 = Instant::now();
        m.insert("a", 1, t0);
        assert_eq!(m.get(&"a", t0 + Duration::from_secs(9)), Some(1));
        assert_eq!(m.get(&"a", t0 + Duration::from_secs(10)), None);
        m.remove(&"a");
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn size_is_bounded() {
        let m = TtlMap::new(64, Duration::from_secs(10));
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            m.insert(i, i, t0);
        }
        assert!(m.len() <= 64, "{}", m.len());
        // After the TTL, new entries replace expired ones (a shard holds 4: four new
        // entries fit whatever shards they land in).
        let later = t0 + Duration::from_secs(11);
        for i in 0..4u32 {
            m.insert(1_000_000 + i, i, later);
        }
        assert!(m.len() <= 64, "{}", m.len());
        for i in 0..4u32 {
            assert_eq!(m.get(&(1_000_000 + i), later), Some(i));
        }
    }

    #[test]
    fn retain_filters() {
        let m = TtlMap::new(100, Duration::from_secs(10));
        let t0 = Instant::now();
        for i in 0..10u32 {
            m.insert(i, (), t0);
        }
        m.retain(|k| k % 2 == 0);
        assert_eq!(m.len(), 5);
        assert!(m.get(&3, t0).is_none() && m.get(&4, t0).is_some());
    }
}
