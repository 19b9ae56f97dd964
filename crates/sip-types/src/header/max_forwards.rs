//! The Max-Forwards header (RFC 3261 §20.22).
//!
//! ```text
//! Max-Forwards  =  "Max-Forwards" HCOLON 1*DIGIT
//! ```
//! RFC 3261 §8.1.1.6 sets 70 as the initial value; values above 255 are malformed
//! (RFC 4475 §3.1.2.4).

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::text;

/// Remaining hops, 0 to 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MaxForwards(pub u8);

impl MaxForwards {
    /// The RFC 3261 §8.1.1.6 initial value.
    pub const DEFAULT: MaxForwards = MaxForwards(70);

    /// Parses a Max-Forwards header value.
    pub fn parse(value: &str) -> Result<MaxForwards, ParseError> {
        let v = text::trim_lws(value);
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::header("Max-Forwards", "not a number"));
        }
        let d = v.trim_start_matches('0');
        if d.len() > 3 {
            return Err(ParseError::header("Max-Forwards", "value out of range 0-255"));
        }
        let n: u16 = if d.is_empty() { 0 } else { d.parse().unwrap_or(u16::MAX) };
        u8::try_from(n)
            .map(MaxForwards)
            .map_err(|_| ParseError::header("Max-Forwards", "value out of range 0-255"))
    }
}

impl FromStr for MaxForwards {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MaxForwards::parse(s)
    }
}

impl fmt::Display for MaxForwards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range() {
        assert_eq!(MaxForwards::parse("0068").unwrap(), MaxForwards(68));
        assert_eq!(MaxForwards::parse("255").unwrap(), MaxForwards(255));
        assert_eq!(MaxForwards::parse("0").unwrap(), MaxForwards(0));
        assert!(MaxForwards::parse("300").is_err());
        assert!(MaxForwards::parse("-1").is_err());
        assert!(MaxForwards::parse("").is_err());
    }
}
