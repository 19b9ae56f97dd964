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
    // word [ "@" word ]: '@' is not a word character, so the first run of word
    // characters ends at the '@' if there is one.
    let b = v.as_bytes();
    let a = text::run(b, 0, text::is_word_char);
    let end = match b.get(a) {
        Some(b'@') if a > 0 => {
            let w = text::run(b, a + 1, text::is_word_char);
            if w > a + 1 { w } else { a }
        }
        _ => a,
    };
    if a == 0 || end != b.len() {
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
