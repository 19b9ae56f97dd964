//! The Content-Length header (RFC 3261 §20.14).
//!
//! ```text
//! Content-Length  =  ( "Content-Length" / "l" ) HCOLON 1*DIGIT
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::header::cseq::parse_u32;
use crate::text;

/// Body length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentLength(pub u32);

impl ContentLength {
    /// Parses a Content-Length header value.
    pub fn parse(value: &str) -> Result<ContentLength, ParseError> {
        let v = text::trim_lws(value);
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::header("Content-Length", "not a non-negative number"));
        }
        parse_u32(v)
            .map(ContentLength)
            .ok_or(ParseError::header("Content-Length", "value out of range"))
    }
}

impl FromStr for ContentLength {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContentLength::parse(s)
    }
}

impl fmt::Display for ContentLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(ContentLength::parse(" 150 ").unwrap(), ContentLength(150));
        assert_eq!(
            ContentLength::parse("-999"),
            Err(ParseError::header("Content-Length", "not a non-negative number"))
        );
        assert!(ContentLength::parse("99999999999").is_err());
        assert!(ContentLength::parse("1 2").is_err());
    }
}
