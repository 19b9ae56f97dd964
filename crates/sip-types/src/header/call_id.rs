//! The Call-ID header (RFC 3261 §20.8).
//!
//! ```text
//! Call-ID  =  ( "Call-ID" / "i" ) HCOLON callid
//! callid   =  word [ "@" word ]
//! ```

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::error::ParseError;
use crate::text;

/// A validated Call-ID (compared byte-exactly, RFC 3261 §20.8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId(String);

impl CallId {
    /// Parses a Call-ID header value.
    pub fn parse(value: &str) -> Result<CallId, ParseError> {
        validate(value).map(|v| CallId(v.to_owned())).map_err(|r| ParseError::header("Call-ID", r))
    }

    /// The Call-ID text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Validates `callid` and returns it trimmed.
pub(crate) fn validate(value: &str) -> Result<&str, &'static str> {
    let v = text::trim_lws(value);
    if v.is_empty() {
        return Err("empty Call-ID");
    }
    let (a, b) = match v.split_once('@') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    if !text::is_word(a) || b.is_some_and(|b| !text::is_word(b)) {
        return Err("Call-ID is not word[@word]");
    }
    Ok(v)
}

impl Deref for CallId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl FromStr for CallId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CallId::parse(s)
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            &*CallId::parse(" intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{ ").unwrap(),
            "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
        );
        assert!(CallId::parse("a b").is_err());
        assert!(CallId::parse("a@b@c").is_err());
        assert!(CallId::parse("").is_err());
    }
}
