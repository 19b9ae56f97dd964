//! Longest-prefix match over decimal digits: the high-risk table, inbound prefix rules, and the
//! fraud engine's rate table all look numbers up this way.

use crate::Error;

const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Node {
    children: [u32; 10],
    value: u32,
}

impl Node {
    const EMPTY: Node = Node { children: [NONE; 10], value: NONE };
}

/// A map from digit prefixes to values with longest-prefix lookup: a digit trie, so a lookup
/// costs one array step per digit of the number (at most 15) and never allocates.
#[derive(Clone, Debug)]
pub struct PrefixMap<T> {
    nodes: Vec<Node>,
    values: Vec<T>,
}

impl<T> Default for PrefixMap<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> PrefixMap<T> {
    /// An empty map.
    pub fn new() -> Self {
        Self { nodes: vec![Node::EMPTY], values: Vec::new() }
    }

    /// Number of prefixes stored.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no prefix is stored.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Stores `value` under `prefix` (an optional `+` and 1 to 15 digits). Returns the value it
    /// replaced, if the same prefix was already present.
    pub fn insert(&mut self, prefix: &str, value: T) -> Result<Option<T>, Error> {
        let digits = prefix_digits(prefix)?;
        let mut at = 0usize;
        for d in digits.bytes() {
            let slot = usize::from(d - b'0');
            let next = self.nodes[at].children[slot];
            at = if next == NONE {
                let idx = self.nodes.len();
                self.nodes.push(Node::EMPTY);
                self.nodes[at].children[slot] = idx as u32;
                idx
            } else {
                next as usize
            };
        }
        let existing = self.nodes[at].value;
        if existing == NONE {
            self.nodes[at].value = self.values.len() as u32;
            self.values.push(value);
            Ok(None)
        } else {
            Ok(Some(std::mem::replace(&mut self.values[existing as usize], value)))
        }
    }

    /// The value of the longest stored prefix of `digits` (digits only, no `+`), with the
    /// length of that prefix. Non-digit bytes end the walk.
    pub fn longest_match(&self, digits: &str) -> Option<(usize, &T)> {
        let mut at = 0usize;
        let mut best = None;
        for (i, d) in digits.bytes().enumerate() {
            if !d.is_ascii_digit() {
                break;
            }
            let next = self.nodes[at].children[usize::from(d - b'0')];
            if next == NONE {
                break;
            }
            at = next as usize;
            let v = self.nodes[at].value;
            if v != NONE {
                best = Some((i + 1, &self.values[v as usize]));
            }
        }
        best
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.values.capacity() * std::mem::size_of::<T>()
    }
}

/// Checks and strips a prefix: optional `+`, then 1 to 15 ASCII digits.
pub(crate) fn prefix_digits(prefix: &str) -> Result<&str, Error> {
    let digits = prefix.strip_prefix('+').unwrap_or(prefix);
    if (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(Error::InvalidPrefix(prefix.chars().take(40).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut m = PrefixMap::new();
        m.insert("+44", "gb").unwrap();
        m.insert("449", "gb premium").unwrap();
        m.insert("+1", "nanp").unwrap();
        m.insert("+1876", "jm").unwrap();
        assert_eq!(m.longest_match("442079460958"), Some((2, &"gb")));
        assert_eq!(m.longest_match("449098790000"), Some((3, &"gb premium")));
        assert_eq!(m.longest_match("18765550100"), Some((4, &"jm")));
        assert_eq!(m.longest_match("12125550100"), Some((1, &"nanp")));
        assert_eq!(m.longest_match("33123"), None);
        assert_eq!(m.longest_match(""), None);
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn insert_replaces_and_rejects_bad_prefixes() {
        let mut m = PrefixMap::new();
        assert_eq!(m.insert("44", 1).unwrap(), None);
        assert_eq!(m.insert("+44", 2).unwrap(), Some(1));
        assert_eq!(m.len(), 1);
        for bad in ["", "+", "4a", "+1234567890123456", " 44"] {
            assert!(m.insert(bad, 0).is_err(), "{bad:?}");
        }
    }
}
