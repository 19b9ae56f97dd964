//! The Contact header (RFC 3261 §20.10).
//!
//! ```text
//! Contact        =  ("Contact" / "m" ) HCOLON
//!                   ( STAR / (contact-param *(COMMA contact-param)))
//! contact-param  =  (name-addr / addr-spec) *(SEMI contact-params)
//! contact-params     =  c-p-q / c-p-expires
//!                       / contact-extension
//! c-p-q              =  "q" EQUAL qvalue
//! c-p-expires        =  "expires" EQUAL delta-seconds
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::header::name_addr::{Form, NameAddr, NameAddrRef};
use crate::text;

/// One Contact value: the `*` wildcard (REGISTER removal of all bindings) or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contact {
    /// `Contact: *`
    Wildcard,
    /// An address with its parameters (`expires`, `q`, `+sip.instance`, ...).
    Address(NameAddr),
}

impl Contact {
    /// The address, unless this is the wildcard.
    pub fn address(&self) -> Option<&NameAddr> {
        match self {
            Contact::Wildcard => None,
            Contact::Address(a) => Some(a),
        }
    }

    /// Parses one Contact value.
    pub fn parse(value: &str) -> Result<Contact, ParseError> {
        Contact::parse_inner(value).map_err(|r| ParseError::header("Contact", r))
    }

    /// Parses a whole Contact header value (`*` or a comma-separated list).
    pub fn parse_list(value: &str) -> Result<Vec<Contact>, ParseError> {
        crate::headers::split_list(value).map(Contact::parse).collect()
    }

    pub(crate) fn parse_inner(value: &str) -> Result<Contact, &'static str> {
        Ok(match check(value)? {
            None => Contact::Wildcard,
            Some(r) => Contact::Address(r.into_owned()),
        })
    }
}

/// Validates one Contact value without allocating; `None` for the wildcard.
pub(crate) fn check(value: &str) -> Result<Option<NameAddrRef<'_>>, &'static str> {
    if text::trim_lws(value) == "*" {
        return Ok(None);
    }
    let r = NameAddrRef::scan_all(value, Form::Either)?;
    r.check_contact_params()?;
    Ok(Some(r))
}

impl FromStr for Contact {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Contact::parse(s)
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Wildcard => f.write_str("*"),
            Contact::Address(a) => a.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(Contact::parse(" * ").unwrap(), Contact::Wildcard);
        let l = Contact::parse_list("<sip:a@b>;expires=60, \"X\" <sip:c@d>;q=0.5").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].address().unwrap().expires(), Some(60));
        assert_eq!(l[1].address().unwrap().q_millis(), Some(500));
        let c = Contact::parse("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert!(c.address().unwrap().params.contains("unknownparam"));
        assert!(Contact::parse("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
        assert!(Contact::parse("\"Joe\" <sip:joe@example.org>;;;;").is_err());
        assert!(Contact::parse("<sip:a@b>;expires=soon").is_err());
    }
}
