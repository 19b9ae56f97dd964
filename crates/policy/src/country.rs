//! ISO 3166-1 alpha-2 country codes as a small copyable value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// An ISO 3166-1 alpha-2 country code, uppercase (`GB`, `US`). Two bytes, `Copy`.
///
/// [`Country::parse`] accepts any two ASCII letters (case-insensitive), so lists of allowed
/// countries can name territories without a numbering plan of their own; whether a numbering
/// plan is known is checked where it matters ([`crate::DialPlan::new`] for the home country).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Parses two ASCII letters, uppercasing them.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(Error::UnknownCountry(s.chars().take(8).collect())),
        }
    }

    /// The code as a string slice (`"GB"`).
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII uppercase letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The two bytes, uppercase ASCII.
    pub fn as_bytes(&self) -> [u8; 2] {
        self.0
    }

    /// A dense index 0..676 (`AA` = 0), for table lookups.
    pub(crate) fn index(self) -> usize {
        usize::from(self.0[0] - b'A') * 26 + usize::from(self.0[1] - b'A')
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

impl FromStr for Country {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_uppercases() {
        assert_eq!(Country::parse("gb").unwrap().as_str(), "GB");
        assert_eq!(Country::parse("Us").unwrap().to_string(), "US");
        for bad in ["", "G", "GBR", "G1", "é", "  "] {
            assert!(Country::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn index_is_dense_and_distinct() {
        assert_eq!(Country::parse("AA").unwrap().index(), 0);
        assert_eq!(Country::parse("ZZ").unwrap().index(), 675);
        assert_ne!(Country::parse("GB").unwrap().index(), Country::parse("BG").unwrap().index());
    }

    #[test]
    fn serde_round_trip() {
        let c: Country = serde_json::from_str("\"de\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"DE\"");
        assert!(serde_json::from_str::<Country>("\"DEU\"").is_err());
    }
}
