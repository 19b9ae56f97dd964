//! The Content-Type header (RFC 3261 §20.15).
//!
//! ```text
//! Content-Type     =  ( "Content-Type" / "c" ) HCOLON media-type
//! media-type       =  m-type SLASH m-subtype *(SEMI m-parameter)
//! m-type           =  discrete-type / composite-type
//! m-subtype        =  extension-token / iana-token
//! m-parameter      =  m-attribute EQUAL m-value
//! m-value          =  token / quoted-string
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::params::Params;
use crate::text::Scanner;

/// A media type such as `application/sdp` or `multipart/mixed;boundary=x`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType {
    /// Top-level type as written (`application`).
    pub mtype: String,
    /// Subtype as written (`sdp`).
    pub subtype: String,
    /// Parameters (`charset`, `boundary`, ...).
    pub params: Params,
}

impl ContentType {
    /// `type/subtype` without parameters.
    pub fn new(mtype: &str, subtype: &str) -> Self {
        ContentType { mtype: mtype.to_owned(), subtype: subtype.to_owned(), params: Params::new() }
    }

    /// `application/sdp`.
    pub fn sdp() -> Self {
        ContentType::new("application", "sdp")
    }

    /// True when the type is `mtype/subtype` (case-insensitive).
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// Parses a Content-Type header value.
    pub fn parse(value: &str) -> Result<ContentType, ParseError> {
        let err = |r| ParseError::header("Content-Type", r);
        let mut s = Scanner::new(value);
        s.skip_sws();
        let mtype = s.token().ok_or(err("missing media type"))?;
        if !s.eat_sep(b'/') {
            return Err(err("missing / in media type"));
        }
        let subtype = s.token().ok_or(err("missing media subtype"))?;
        let params = Params::parse_header_params(&mut s).map_err(err)?;
        s.skip_sws();
        if !s.is_empty() {
            return Err(err("unexpected characters after media type"));
        }
        Ok(ContentType { mtype: mtype.to_owned(), subtype: subtype.to_owned(), params })
    }
}

impl FromStr for ContentType {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContentType::parse(s)
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.mtype, self.subtype)?;
        self.params.write(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        let c = ContentType::parse("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(c.is("MULTIPART", "Mixed"));
        assert_eq!(c.params.get("boundary"), Some("7a9cbec02ceef655"));
        assert_eq!(c.to_string(), "multipart/mixed;boundary=7a9cbec02ceef655");
        assert!(ContentType::parse("application/sdp").unwrap().is("application", "sdp"));
        assert!(ContentType::parse("text/plain; charset=\"utf-8\"").is_ok());
        assert!(ContentType::parse("application").is_err());
        assert!(ContentType::parse("a/b c").is_err());
    }
}
