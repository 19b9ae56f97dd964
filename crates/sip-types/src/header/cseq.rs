//! The CSeq header (RFC 3261 §20.16).
//!
//! ```text
//! CSeq  =  "CSeq" HCOLON 1*DIGIT LWS Method
//! ```
//! The sequence number must be expressible as a 32-bit unsigned integer (§8.1.1.5).

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::method::Method;
use crate::text::Scanner;

/// Sequence number and method of a request, echoed in its responses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// Sequence number.
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// A CSeq value.
    pub fn new(seq: u32, method: Method) -> Self {
        CSeq { seq, method }
    }

    /// Parses a CSeq header value.
    pub fn parse(value: &str) -> Result<CSeq, ParseError> {
        CSeq::parse_inner(value).map_err(|r| ParseError::header("CSeq", r))
    }

    pub(crate) fn parse_inner(value: &str) -> Result<CSeq, &'static str> {
        let mut s = Scanner::new(value);
        s.skip_sws();
        let digits = s.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err("sequence number is not a number");
        }
        let seq = parse_u32(digits).ok_or("sequence number out of range (above 2^32-1)")?;
        if !s.skip_sws() {
            return Err("missing white space between number and method");
        }
        let m = s.token().ok_or("method is not a token")?;
        s.skip_sws();
        if !s.is_empty() {
            return Err("unexpected characters after method");
        }
        let method = Method::from_token(m).ok_or("method is not a token")?;
        Ok(CSeq { seq, method })
    }
}

/// Parses `1*DIGIT` (leading zeros allowed) into a `u32`.
pub(crate) fn parse_u32(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let d = digits.trim_start_matches('0');
    if d.len() > 10 {
        return None;
    }
    if d.is_empty() {
        return Some(0);
    }
    d.parse::<u64>().ok().and_then(|v| u32::try_from(v).ok())
}

impl FromStr for CSeq {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CSeq::parse(s)
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(CSeq::parse("0009\r\n  INVITE").unwrap(), CSeq::new(9, Method::Invite));
        assert_eq!(CSeq::parse("4294967295 REGISTER").unwrap().seq, u32::MAX);
        assert_eq!(
            CSeq::parse("36893488147419103232 REGISTER"),
            Err(ParseError::header("CSeq", "sequence number out of range (above 2^32-1)"))
        );
        assert!(CSeq::parse("1INVITE").is_err());
        assert!(CSeq::parse("x INVITE").is_err());
        assert!(CSeq::parse("1 INVITE extra").is_err());
        assert_eq!(CSeq::new(2, Method::Register).to_string(), "2 REGISTER");
    }
}
