//! E.164 numbers as a small copyable value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// Most digits in an E.164 number (ITU-T E.164 §6.1: country code + national number <= 15).
pub const MAX_E164_DIGITS: usize = 15;
/// Fewest digits accepted (a 1-3 digit country code and a 2-digit national number).
pub const MIN_E164_DIGITS: usize = 3;

/// An E.164 number: `+`, a country calling code, the national significant number; 3 to 15
/// digits, the first not `0`. Stored inline (17 bytes), `Copy`, ordered by its text.
///
/// ```text
/// E.164 number = "+" CC NSN      ; ITU-T E.164 §6, at most 15 digits in CC NSN
/// ```
/// Only the shape is checked here; whether the number exists in its country's numbering plan
/// is what [`crate::NumberClassifier::classify`] reports.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct E164 {
    /// `+` then the digits, zero padded.
    buf: [u8; 1 + MAX_E164_DIGITS],
    /// Digit count (without `+`).
    len: u8,
}

impl E164 {
    /// Parses `+` followed by 3 to 15 ASCII digits, the first not `0`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let digits = s.strip_prefix('+').ok_or_else(|| Error::NotE164(truncate(s)))?;
        Self::from_digits(digits.as_bytes()).ok_or_else(|| Error::NotE164(truncate(s)))
    }

    /// Builds from ASCII digits without `+`; `None` unless 3..=15 digits, the first not `0`.
    pub(crate) fn from_digits(digits: &[u8]) -> Option<Self> {
        let ok = (MIN_E164_DIGITS..=MAX_E164_DIGITS).contains(&digits.len())
            && digits.iter().all(u8::is_ascii_digit)
            && digits[0] != b'0';
        if !ok {
            return None;
        }
        let mut buf = [0u8; 1 + MAX_E164_DIGITS];
        buf[0] = b'+';
        buf[1..=digits.len()].copy_from_slice(digits);
        Some(Self { buf, len: digits.len() as u8 })
    }

    /// The number with its `+` (`"+442079460958"`).
    pub fn as_str(&self) -> &str {
        // ASCII by construction.
        std::str::from_utf8(&self.buf[..=usize::from(self.len)]).unwrap_or("+")
    }

    /// The digits without `+`.
    pub fn digits(&self) -> &str {
        &self.as_str()[1..]
    }

    /// Number of digits (without `+`), 3..=15.
    pub fn digit_count(&self) -> usize {
        usize::from(self.len)
    }

    /// The digits as an integer (15 digits fit easily in a `u64`). With
    /// [`digit_count`](Self::digit_count) this identifies the number; the fraud engine uses it to
    /// spot sequential dialling.
    pub fn as_u64(&self) -> u64 {
        self.digits().bytes().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
    }

    /// Whether the digits start with `prefix` (digits without `+`).
    pub fn starts_with_digits(&self, prefix: &str) -> bool {
        self.digits().starts_with(prefix)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

impl PartialOrd for E164 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for E164 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.as_str())
    }
}

impl FromStr for E164 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_shape() {
        let n = E164::parse("+442079460958").unwrap();
        assert_eq!(n.as_str(), "+442079460958");
        assert_eq!(n.digits(), "442079460958");
        assert_eq!(n.digit_count(), 12);
        assert_eq!(n.as_u64(), 442_079_460_958);
        assert!(n.starts_with_digits("44"));
        for bad in ["", "+", "+12", "442079460958", "+0442079460958", "+4420794609581234", "+44a"] {
            assert!(E164::parse(bad).is_err(), "{bad:?}");
        }
        assert!(E164::parse("+123456789012345").is_ok());
    }

    #[test]
    fn serde_and_order() {
        let a: E164 = serde_json::from_str("\"+4930123456\"").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"+4930123456\"");
        let b = E164::parse("+4930123457").unwrap();
        assert!(a < b);
        assert!(serde_json::from_str::<E164>("\"4930123456\"").is_err());
    }
}
