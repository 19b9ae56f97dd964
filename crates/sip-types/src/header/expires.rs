//! The Expires and Min-Expires headers (RFC 3261 §20.19, §20.23).
//!
//! ```text
//! Expires      =  "Expires" HCOLON delta-seconds
//! Min-Expires  =  "Min-Expires" HCOLON delta-seconds
//! delta-seconds      =  1*DIGIT
//! ```
//! Values above 2^32-1 are rejected (RFC 4475 §3.1.2.4 calls them malformed).

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::header::cseq::parse_u32;
use crate::text;

fn parse_delta(header: &'static str, value: &str) -> Result<u32, ParseError> {
    let v = text::trim_lws(value);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::header(header, "not a number of seconds"));
    }
    parse_u32(v).ok_or(ParseError::header(header, "value out of range (above 2^32-1)"))
}

/// Expiry interval in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expires(pub u32);

impl Expires {
    /// Parses an Expires header value.
    pub fn parse(value: &str) -> Result<Expires, ParseError> {
        parse_delta("Expires", value).map(Expires)
    }
}

/// Shortest expiry a registrar accepts, in seconds (sent with 423).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MinExpires(pub u32);

impl MinExpires {
    /// Parses a Min-Expires header value.
    pub fn parse(value: &str) -> Result<MinExpires, ParseError> {
        parse_delta("Min-Expires", value).map(MinExpires)
    }
}

macro_rules! impls {
    ($t:ident) => {
        impl FromStr for $t {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $t::parse(s)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}
impls!(Expires);
impls!(MinExpires);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(Expires::parse("3600").unwrap(), Expires(3600));
        assert_eq!(MinExpires::parse("60").unwrap().to_string(), "60");
        assert!(Expires::parse("10000000000000000000000").is_err());
        assert!(Expires::parse("Thu, 01 Dec 1994 16:00:00 GMT").is_err());
    }
}
