//! The Reason header (RFC 3326).
//!
//! ```text
//! Reason            =  "Reason" HCOLON reason-value *(COMMA reason-value)
//! reason-value      =  protocol *(SEMI reason-params)
//! protocol          =  "SIP" / "Q.850" / token
//! reason-params     =  protocol-cause / reason-text
//!                      / reason-extension
//! protocol-cause    =  "cause" EQUAL cause
//! cause             =  1*DIGIT
//! reason-text       =  "text" EQUAL quoted-string
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::params::Params;
use crate::text::{self, Scanner};

/// One Reason value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason {
    /// `SIP`, `Q.850` or another token.
    pub protocol: String,
    /// The `cause` parameter.
    pub cause: Option<u16>,
    /// The `text` parameter, decoded.
    pub text: Option<String>,
    /// Other parameters.
    pub params: Params,
}

impl Reason {
    /// `SIP;cause={code};text="{text}"`.
    pub fn sip(cause: u16, text: &str) -> Self {
        Reason {
            protocol: "SIP".into(),
            cause: Some(cause),
            text: Some(text.to_owned()),
            params: Params::new(),
        }
    }

    /// Parses one Reason value.
    pub fn parse(value: &str) -> Result<Reason, ParseError> {
        let err = |r| ParseError::header("Reason", r);
        let mut s = Scanner::new(value);
        s.skip_sws();
        let protocol = s.token().ok_or(err("missing protocol"))?.to_owned();
        let mut params = Params::parse_header_params(&mut s).map_err(err)?;
        s.skip_sws();
        if !s.is_empty() {
            return Err(err("unexpected characters after parameters"));
        }
        let cause = match params.get("cause") {
            Some(c) => Some(c.parse::<u16>().map_err(|_| err("cause is not a number"))?),
            None => None,
        };
        let text = match params.get("text") {
            Some(t) if t.starts_with('"') => Some(text::unquote(t).into_owned()),
            Some(_) => return Err(err("text must be a quoted string")),
            None => None,
        };
        params.remove("cause");
        params.remove("text");
        Ok(Reason { protocol, cause, text, params })
    }

    /// Parses a whole Reason header value.
    pub fn parse_list(value: &str) -> Result<Vec<Reason>, ParseError> {
        crate::headers::split_list(value).map(Reason::parse).collect()
    }
}

impl FromStr for Reason {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::parse(s)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.protocol)?;
        if let Some(c) = self.cause {
            write!(f, ";cause={c}")?;
        }
        if let Some(t) = &self.text {
            let mut q = String::new();
            text::quote(t, &mut q);
            write!(f, ";text={q}")?;
        }
        self.params.write(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let r = Reason::parse("SIP ;cause=200 ;text=\"Call completed elsewhere\"").unwrap();
        assert_eq!(r.cause, Some(200));
        assert_eq!(r.text.as_deref(), Some("Call completed elsewhere"));
        assert_eq!(r.to_string(), "SIP;cause=200;text=\"Call completed elsewhere\"");
        assert_eq!(Reason::parse_list("Q.850;cause=16, SIP;cause=487").unwrap().len(), 2);
        assert!(Reason::parse("SIP;cause=abc").is_err());
        assert!(Reason::parse("SIP;text=bare").is_err());
    }
}
