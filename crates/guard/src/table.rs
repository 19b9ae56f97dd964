//! Bounded, sharded tables with sampled eviction.
//!
//! Each table is split into shards (a power of two, up to 64), each a `Mutex` around a
//! hash index into a dense vector of entries. A shard never holds more than its share of
//! the table's capacity: inserting into a full shard first evicts one entry, chosen among
//! the [`SAMPLE`] entries under a rotating hand (the "clock") as the one with the lowest
//! [`Evict::rank`]: entries with nothing to protect first, then active bans, then entries
//! that hold known devices; the least recently seen within a tier. So an active ban is
//! evicted only if none of the sampled entries is a plain one, and a known device's entry
//! only if all sampled entries are bans or devices. The work per insert is bounded (one
//! pass over 16 entries), which keeps a spoofed-source flood at a fixed cost per packet.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::hash::Seeds;

/// How many entries the eviction hand looks at.
pub(crate) const SAMPLE: usize = 16;

/// Eviction priority of an entry: lower tiers go first; within a tier, the smaller second
/// value (the last time the entry was seen) goes first.
pub(crate) trait Evict {
    fn rank(&self, now: u64) -> (u8, u64);
}

/// Counters kept under the shard lock (no shared cache line on the packet path).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub(crate) allowed: u64,
    pub(crate) dropped_banned: u64,
    pub(crate) dropped_static: u64,
    pub(crate) evicted: u64,
    pub(crate) demoted: u64,
}

impl Counters {
    pub(crate) fn add(&mut self, o: &Counters) {
        self.allowed += o.allowed;
        self.dropped_banned += o.dropped_banned;
        self.dropped_static += o.dropped_static;
        self.evicted += o.evicted;
        self.demoted += o.demoted;
    }
}

/// One shard: a hash index into dense, parallel vectors of keys and entries (the packet
/// path reads only the entry; keys are read when entries move).
#[derive(Debug)]
pub(crate) struct Table<K, V> {
    index: HashMap<K, u32, Seeds>,
    keys: Vec<K>,
    vals: Vec<V>,
    cap: usize,
    hand: usize,
    pub(crate) counters: Counters,
}

impl<K: Hash + Eq + Copy, V: Evict> Table<K, V> {
    fn new(cap: usize, seeds: Seeds) -> Table<K, V> {
        Table {
            index: HashMap::with_capacity_and_hasher(0, seeds),
            keys: Vec::new(),
            vals: Vec::new(),
            cap: cap.max(1),
            hand: 0,
            counters: Counters::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.vals.len()
    }

    /// The position of `key`, if present.
    #[inline]
    pub(crate) fn find(&self, key: &K) -> Option<usize> {
        self.index.get(key).map(|&i| i as usize)
    }

    /// The entry at a position returned by [`Table::find`] or [`Table::insert`].
    #[inline]
    pub(crate) fn at(&mut self, i: usize) -> &mut V {
        &mut self.vals[i]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = self.find(key)?;
        Some(self.at(i))
    }

    /// Inserts `value` for `key` (which must be absent). If the shard is full, the new entry
    /// takes the place of an evicted one (see the module documentation), which is returned.
    /// Returns the new entry's position.
    pub(crate) fn insert(&mut self, key: K, value: V, now: u64) -> (usize, Option<(K, V)>) {
        debug_assert!(self.find(&key).is_none());
        if self.vals.len() >= self.cap
            && let Some(i) = self.victim(now)
        {
            let old_key = std::mem::replace(&mut self.keys[i], key);
            let old = std::mem::replace(&mut self.vals[i], value);
            self.index.remove(&old_key);
            self.index.insert(key, i as u32);
            self.counters.evicted += 1;
            return (i, Some((old_key, old)));
        }
        let i = self.vals.len();
        self.keys.push(key);
        self.vals.push(value);
        self.index.insert(key, i as u32);
        (i, None)
    }

    /// The entry for `key`, inserted with `make` if absent (evicting as [`Table::insert`]).
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: K,
        now: u64,
        make: impl FnOnce() -> V,
    ) -> (usize, Option<(K, V)>) {
        match self.find(&key) {
            Some(i) => (i, None),
            None => self.insert(key, make(), now),
        }
    }

    /// The position of the lowest-ranked entry among the [`SAMPLE`] under the hand; the
    /// hand moves past them.
    fn victim(&mut self, now: u64) -> Option<usize> {
        let len = self.vals.len();
        if len == 0 {
            return None;
        }
        let start = self.hand % len;
        let n = SAMPLE.min(len);
        let victim = (0..n).map(|j| (start + j) % len).min_by_key(|&i| self.vals[i].rank(now));
        self.hand = (start + n) % len;
        victim
    }

    /// Removes the entry at `i` (the last entry takes its place).
    pub(crate) fn remove_at(&mut self, i: usize) -> (K, V) {
        let key = self.keys.swap_remove(i);
        let val = self.vals.swap_remove(i);
        self.index.remove(&key);
        if let Some(moved) = self.keys.get(i) {
            self.index.insert(*moved, i as u32);
        }
        (key, val)
    }

    /// Removes `key`'s entry.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.find(key)?;
        Some(self.remove_at(i).1)
    }

    /// Keeps the entries for which `keep` returns true (it may also change them).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut i = 0;
        while i < self.vals.len() {
            if keep(&self.keys[i], &mut self.vals[i]) {
                i += 1;
            } else {
                self.remove_at(i);
            }
        }
        if self.vals.capacity() > 64 && self.vals.len() < self.vals.capacity() / 4 {
            let n = self.vals.len() * 2;
            self.keys.shrink_to(n);
            self.vals.shrink_to(n);
            self.index.shrink_to(n);
        }
    }

    /// Every entry.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.keys.iter().zip(self.vals.iter())
    }
}

/// A table split into shards by key hash.
#[derive(Debug)]
pub(crate) struct Sharded<K, V> {
    shards: Box<[Mutex<Table<K, V>>]>,
    seeds: Seeds,
    mask: usize,
}

impl<K: Hash + Eq + Copy, V: Evict> Sharded<K, V> {
    /// A table of at most `cap` entries in total.
    pub(crate) fn new(cap: usize, seeds: Seeds) -> Sharded<K, V> {
        let n = (cap / 256).next_power_of_two().clamp(1, 64);
        let per = (cap / n).max(1);
        let shards = (0..n).map(|_| Mutex::new(Table::new(per, seeds))).collect();
        Sharded { shards, seeds, mask: n - 1 }
    }

    /// The shard that holds `key`, locked.
    #[inline]
    pub(crate) fn lock(&self, key: &K) -> MutexGuard<'_, Table<K, V>> {
        // Bits 32.. of the hash: the map inside uses the low bits for buckets and the top
        // seven as tags, so the shard choice takes neither.
        let h = self.seeds.hash_one(key);
        let i = (h >> 32) as usize & self.mask;
        self.shards[i].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every shard, one at a time.
    pub(crate) fn each(&self, mut f: impl FnMut(&mut Table<K, V>)) {
        for s in self.shards.iter() {
            f(&mut s.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// The largest number of entries the table can hold.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.shards.len() * self.shards[0].lock().unwrap_or_else(PoisonError::into_inner).cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (tier, last seen)
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct E(u8, u64);

    impl Evict for E {
        fn rank(&self, _now: u64) -> (u8, u64) {
            (self.0, self.1)
        }
    }

    #[test]
    fn index_follows_swap_remove() {
        let mut t: Table<u32, E> = Table::new(100, Seeds::fixed(1));
        for k in 0..10 {
            t.insert(k, E(1, u64::from(k)), 0);
        }
        assert_eq!(t.remove(&3), Some(E(1, 3)));
        assert_eq!(t.len(), 9);
        for k in (0..10).filter(|&k| k != 3) {
            assert_eq!(t.get_mut(&k).copied(), Some(E(1, u64::from(k))), "key {k}");
        }
        t.retain(|k, _| k % 2 == 0);
        let mut keys: Vec<u32> = t.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        assert_eq!(keys, [0, 2, 4, 6, 8]);
        for k in keys {
            assert_eq!(t.get_mut(&k).unwrap().1, u64::from(k));
        }
    }

    #[test]
    fn full_shard_evicts_lowest_rank_in_sample() {
        let mut t: Table<u32, E> = Table::new(4, Seeds::fixed(1));
        t.insert(1, E(2, 0), 0); // a ban, seen long ago
        t.insert(2, E(3, 0), 0); // a device
        t.insert(3, E(1, 50), 0); // plain, recent
        t.insert(4, E(1, 40), 0); // plain, older
        let (_, ev) = t.insert(5, E(1, 60), 0);
        assert_eq!(ev, Some((4, E(1, 40))));
        let (_, ev) = t.insert(6, E(1, 70), 0);
        assert_eq!(ev.map(|e| e.0), Some(3));
        assert_eq!(t.len(), 4);
        // Only bans and devices left besides the newest plain ones... fill with bans.
        let mut t: Table<u32, E> = Table::new(2, Seeds::fixed(1));
        t.insert(1, E(3, 0), 0);
        t.insert(2, E(2, 9), 0);
        let (_, ev) = t.insert(3, E(2, 10), 0);
        assert_eq!(ev.map(|e| e.0), Some(2), "the ban goes before the device");
        assert_eq!(t.counters.evicted, 1);
    }

    #[test]
    fn sharded_capacity_never_exceeds_the_cap() {
        for cap in [1, 16, 255, 256, 1000, 100_000] {
            let s: Sharded<u64, E> = Sharded::new(cap, Seeds::fixed(2));
            assert!(s.capacity() <= cap.max(1), "cap {cap}: {}", s.capacity());
            assert!(s.capacity() * 10 >= cap * 9, "cap {cap}: {}", s.capacity());
        }
        let s: Sharded<u64, E> = Sharded::new(1000, Seeds::fixed(2));
        for k in 0..10_000u64 {
            let mut t = s.lock(&k);
            t.get_or_insert_with(k, 0, || E(1, k));
        }
        let mut total = 0;
        s.each(|t| total += t.len());
        assert!(total <= 1000);
        assert!(total >= 900);
    }
}
