//! Via branches, tags and Call-IDs (RFC 3261 §8.1.1.7, §19.3).
//!
//! A branch must be unique in space and time for every request a UA or proxy sends and
//! must begin with the magic cookie `z9hG4bK`. Tags and Call-IDs need to be globally
//! unique and, since they help authenticate in-dialog requests and responses, hard to
//! guess. The transaction layer never invents them: the TU calls [`new_branch`] with
//! random bytes it has, or keeps an [`IdGenerator`] seeded once from the operating
//! system's random source.

use ring::hmac;
use ringfence_sip_types::header::BRANCH_MAGIC_COOKIE;

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
}

/// `z9hG4bK` followed by `random` in lowercase hex. Give it at least 8 random bytes.
///
/// ```
/// use ringfence_sip_proto::transaction::new_branch;
/// assert_eq!(new_branch(&[0xde, 0xad, 0xbe, 0xef]), "z9hG4bKdeadbeef");
/// ```
pub fn new_branch(random: &[u8]) -> String {
    let mut s = String::with_capacity(BRANCH_MAGIC_COOKIE.len() + random.len() * 2);
    s.push_str(BRANCH_MAGIC_COOKIE);
    push_hex(&mut s, random);
    s
}

/// Makes unguessable branches, tags and Call-IDs from a secret key and a counter:
/// each value is HMAC-SHA-256(key, purpose || counter), truncated. Deterministic for a
/// given key, which the simulation tests use; production code seeds the key from the
/// operating system's random source once at start.
pub struct IdGenerator {
    key: hmac::Key,
    counter: u64,
}

impl std::fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdGenerator").field("counter", &self.counter).finish_non_exhaustive()
    }
}

impl IdGenerator {
    /// A generator keyed with `key` (32 random bytes).
    pub fn new(key: [u8; 32]) -> IdGenerator {
        IdGenerator { key: hmac::Key::new(hmac::HMAC_SHA256, &key), counter: 0 }
    }

    fn next_bytes(&mut self, purpose: u8) -> hmac::Tag {
        self.counter = self.counter.wrapping_add(1);
        let mut msg = [0u8; 9];
        msg[0] = purpose;
        msg[1..].copy_from_slice(&self.counter.to_be_bytes());
        hmac::sign(&self.key, &msg)
    }

    /// A new branch: `z9hG4bK` and 128 bits in hex.
    pub fn branch(&mut self) -> String {
        let t = self.next_bytes(b'b');
        new_branch(&t.as_ref()[..16])
    }

    /// A new From/To tag: 64 bits in hex.
    pub fn tag(&mut self) -> String {
        let t = self.next_bytes(b't');
        let mut s = String::with_capacity(16);
        push_hex(&mut s, &t.as_ref()[..8]);
        s
    }

    /// A new Call-ID: 128 bits in hex, `@host` appended when `host` is given.
    pub fn call_id(&mut self, host: Option<&str>) -> String {
        let t = self.next_bytes(b'c');
        let mut s = String::with_capacity(48);
        push_hex(&mut s, &t.as_ref()[..16]);
        if let Some(h) = host {
            s.push('@');
            s.push_str(h);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn branches_have_cookie_and_are_unique() {
        let mut g = IdGenerator::new([7; 32]);
        let set: HashSet<String> = (0..1000).map(|_| g.branch()).collect();
        assert_eq!(set.len(), 1000);
        assert!(set.iter().all(|b| b.starts_with("z9hG4bK") && b.len() == 39));
        let tag = g.tag();
        assert_eq!(tag.len(), 16);
        assert!(g.call_id(Some("pbx.example")).ends_with("@pbx.example"));
    }

    #[test]
    fn different_keys_differ() {
        let mut a = IdGenerator::new([1; 32]);
        let mut b = IdGenerator::new([2; 32]);
        assert_ne!(a.branch(), b.branch());
        let mut a2 = IdGenerator::new([1; 32]);
        let mut a3 = IdGenerator::new([1; 32]);
        assert_eq!(a2.tag(), a3.tag());
    }
}
