//! Nonce-count tracking in bounded memory (RFC 7616 §3.4: "the server ... should check
//! that the nonce-count is greater than the last it saw for that nonce").
//!
//! For every nonce that carried a valid response, the highest `nc` seen. The table is split
//! into shards keyed by the nonce tag (an HMAC output, so uniformly spread) to keep lock
//! hold times short; each shard holds at most `capacity / SHARDS` entries ordered by the
//! nonce's issue time.
//!
//! Entries are keyed and ordered by `(issue time, tag)`. Forgetting is safe: every entry
//! removed (the smallest key when the shard is full, or any expired one) raises the
//! shard's *watermark* to its key, and a nonce whose key is at or below the watermark and
//! that is not in the table is answered [`NcCheck::Forgotten`], which the verifier turns
//! into `stale` (a fresh challenge). An evicted nonce therefore never counts as fresh, so
//! evicting cannot be used to replay. The price under pressure is an extra challenge for
//! nonces issued before the watermark and not used yet. The watermark starts just below
//! the server's start time, so nonces issued by an earlier run (same key) are
//! re-challenged rather than trusted to a table that never saw them.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

const SHARDS: usize = 16;

/// `(issued_ms, tag)`.
type Key = (u64, [u8; 16]);

/// The verdict on one `(nonce, nc)` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NcCheck {
    /// Higher than anything seen for this nonce; recorded.
    Fresh,
    /// Not higher than the last count seen for this nonce.
    Replay,
    /// The nonce may have been seen and forgotten: treat as stale.
    Forgotten,
}

#[derive(Debug)]
struct Shard {
    /// `(issued_ms, tag) -> highest nc`.
    entries: BTreeMap<Key, u32>,
    /// Every removed entry's key is at or below this one.
    watermark: Key,
}

/// The sharded table.
#[derive(Debug)]
pub(crate) struct ReplayTable {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

impl ReplayTable {
    /// A table for about `capacity` nonces that treats every nonce issued before
    /// `start_ms` as forgotten.
    pub(crate) fn new(capacity: usize, start_ms: u64) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        let watermark = (start_ms.saturating_sub(1), [0xff; 16]);
        let shards = (0..SHARDS)
            .map(|_| Mutex::new(Shard { entries: BTreeMap::new(), watermark }))
            .collect();
        ReplayTable { shards, per_shard }
    }

    /// Checks `nc` for the nonce `(issued_ms, tag)` and records it when fresh. Entries
    /// issued before `expired_before_ms` are dropped first.
    pub(crate) fn check(
        &self,
        issued_ms: u64,
        tag: [u8; 16],
        nc: u32,
        expired_before_ms: u64,
    ) -> NcCheck {
        let shard = &self.shards[usize::from(tag[0]) % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(entry) = shard.entries.first_entry() {
            if entry.key().0 >= expired_before_ms {
                break;
            }
            let (removed, _) = entry.remove_entry();
            shard.watermark = shard.watermark.max(removed);
        }
        let key = (issued_ms, tag);
        if let Some(last) = shard.entries.get_mut(&key) {
            if nc <= *last {
                return NcCheck::Replay;
            }
            *last = nc;
            return NcCheck::Fresh;
        }
        if key <= shard.watermark {
            return NcCheck::Forgotten;
        }
        if shard.entries.len() >= self.per_shard
            && let Some((removed, _)) = shard.entries.pop_first()
        {
            shard.watermark = shard.watermark.max(removed);
        }
        shard.entries.insert(key, nc);
        NcCheck::Fresh
    }

    /// Nonces currently remembered.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).entries.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(shard: u8, id: u8) -> [u8; 16] {
        let mut t = [0; 16];
        t[0] = shard;
        t[1] = id;
        t
    }

    #[test]
    fn counts_must_grow_per_nonce() {
        let t = ReplayTable::new(64, 0);
        assert_eq!(t.check(10, tag(0, 1), 1, 0), NcCheck::Fresh);
        assert_eq!(t.check(10, tag(0, 1), 1, 0), NcCheck::Replay);
        assert_eq!(t.check(10, tag(0, 1), 3, 0), NcCheck::Fresh);
        assert_eq!(t.check(10, tag(0, 1), 2, 0), NcCheck::Replay);
        assert_eq!(t.check(10, tag(0, 2), 1, 0), NcCheck::Fresh, "another nonce");
    }

    #[test]
    fn nonces_from_before_the_start_are_forgotten() {
        let t = ReplayTable::new(64, 1000);
        assert_eq!(t.check(0, tag(0, 1), 1, 0), NcCheck::Forgotten);
        assert_eq!(t.check(999, [0xff; 16], 1, 0), NcCheck::Forgotten);
        assert_eq!(t.check(1000, [0; 16], 1, 0), NcCheck::Fresh);
    }

    #[test]
    fn eviction_never_makes_a_nonce_fresh_again() {
        // 16 shards of one entry each: the second nonce in shard 0 evicts the first.
        let t = ReplayTable::new(SHARDS, 0);
        assert_eq!(t.check(10, tag(0, 1), 1, 0), NcCheck::Fresh);
        assert_eq!(t.check(20, tag(0, 2), 1, 0), NcCheck::Fresh);
        assert_eq!(t.len(), 1);
        assert_eq!(t.check(10, tag(0, 1), 1, 0), NcCheck::Forgotten, "replay after eviction");
        assert_eq!(t.check(10, tag(0, 1), 2, 0), NcCheck::Forgotten, "even with a higher nc");
        // Same millisecond as the evicted one: ordered by tag, so a higher tag is new.
        assert_eq!(t.check(10, tag(0, 0), 1, 0), NcCheck::Forgotten);
        assert_eq!(t.check(10, tag(0, 9), 1, 0), NcCheck::Fresh);
        // Other shards are unaffected.
        assert_eq!(t.check(5, tag(1, 1), 1, 0), NcCheck::Fresh);
    }

    #[test]
    fn expired_entries_are_dropped_and_raise_the_watermark() {
        let t = ReplayTable::new(64, 0);
        assert_eq!(t.check(10, tag(3, 1), 1, 0), NcCheck::Fresh);
        assert_eq!(t.check(50, tag(3, 2), 1, 20), NcCheck::Fresh);
        assert_eq!(t.len(), 1);
        assert_eq!(t.check(10, tag(3, 1), 2, 20), NcCheck::Forgotten);
    }

    #[test]
    fn memory_stays_bounded() {
        let t = ReplayTable::new(1000, 0);
        for i in 0..20_000u32 {
            let mut tg = [0; 16];
            tg[..4].copy_from_slice(&i.to_le_bytes());
            assert_eq!(t.check(u64::from(i) + 1, tg, 1, 0), NcCheck::Fresh);
        }
        assert!(t.len() <= 1000usize.div_ceil(SHARDS) * SHARDS, "{}", t.len());
    }
}
