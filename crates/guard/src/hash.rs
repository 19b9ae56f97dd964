//! A small seeded hasher for the guard's tables.
//!
//! The keys (source addresses) are chosen by whoever sends packets, so the hash must not let
//! an attacker pile entries into one bucket. A plain multiplicative hash (FxHash) fails that
//! test: the low bits of a product depend only on the low bits of the key, so spoofed
//! sources that share their last octets would all land in the same buckets. The folded
//! multiply used here (the full 128-bit product, high half XOR low half, with two secret
//! per-process seeds) lets every key bit reach every hash bit, at the cost of one
//! multiplication per 64-bit word.

use std::hash::{BuildHasher, Hasher, RandomState};

/// The 128-bit product of `a` and `b`, folded to 64 bits.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The two secret seeds of a hasher; `BuildHasher` for the guard's maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seeds {
    acc: u64,
    key: u64,
}

impl Seeds {
    /// Seeds from the process's random source (the one `std`'s `HashMap` uses).
    pub(crate) fn random() -> Seeds {
        let s = RandomState::new();
        Seeds::fixed(s.hash_one(0x5eed_u64))
    }

    /// Seeds derived from `seed` (splitmix64), for reproducible layouts in tests.
    pub(crate) fn fixed(seed: u64) -> Seeds {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        // An even multiplier would lose a bit of every product.
        Seeds { acc: next(), key: next() | 1 }
    }
}

impl BuildHasher for Seeds {
    type Hasher = FoldHasher;

    #[inline]
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher { acc: self.acc, key: self.key }
    }
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct FoldHasher {
    acc: u64,
    key: u64,
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        self.write_u64(bytes.len() as u64);
    }

    #[inline]
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }

    #[inline]
    fn write_u16(&mut self, x: u16) {
        self.write_u64(u64::from(x));
    }

    #[inline]
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }

    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.acc = fold_mul(self.acc ^ x, self.key);
    }

    #[inline]
    fn write_u128(&mut self, x: u128) {
        self.acc = fold_mul(self.acc ^ (x as u64), self.key ^ ((x >> 64) as u64));
    }

    #[inline]
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn fixed_seeds_are_reproducible_and_distinct() {
        assert_eq!(Seeds::fixed(7), Seeds::fixed(7));
        assert_ne!(Seeds::fixed(7), Seeds::fixed(8));
        assert_eq!(Seeds::fixed(7).key & 1, 1);
    }

    #[test]
    fn keys_sharing_low_bits_spread_over_low_hash_bits() {
        // 4096 IPv4 sources (as mapped IPv6 bits) that differ only in their upper octets: a
        // multiplicative hash would give them all the same low hash bits.
        let s = Seeds::fixed(1);
        let mut buckets = HashSet::new();
        for hi in 0..4096u128 {
            let bits = (0xffffu128 << 32) | (hi << 20) | 0x0_0042;
            buckets.insert(s.hash_one(bits) & 0xff);
        }
        assert!(buckets.len() > 200, "only {} of 256 low-bit buckets used", buckets.len());
    }

    #[test]
    fn byte_strings_hash_by_content_and_length() {
        let s = Seeds::fixed(3);
        assert_eq!(s.hash_one("100"), s.hash_one("100"));
        assert_ne!(s.hash_one("100"), s.hash_one("101"));
        assert_ne!(s.hash_one(("a", "b")), s.hash_one(("ab", "")));
    }
}
