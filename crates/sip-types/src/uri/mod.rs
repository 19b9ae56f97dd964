//! URIs: SIP/SIPS (RFC 3261 §19.1), TEL (RFC 3966) and any other scheme kept opaque.
//!
//! ```text
//! Request-URI   =  SIP-URI / SIPS-URI / absoluteURI
//! absoluteURI   =  scheme ":" ( hier-part / opaque-part )
//! scheme        =  ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
//! ```
//! Other schemes parse as [`Uri::Absolute`] so a server can answer `416 Unsupported URI
//! Scheme` instead of `400`.

mod sip;
mod tel;

use std::fmt;
use std::str::FromStr;

pub use sip::SipUri;
pub(crate) use sip::SipUriRef;
pub use tel::TelUri;

use crate::error::ParseError;
use crate::text;

/// Any URI found in a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Any other scheme, kept as written (e.g. `http://www.example.com`, `urn:...`).
    Absolute(String),
}

impl Uri {
    /// Parses a URI (no surrounding `<>`, no white space).
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        Uri::parse_inner(s).map_err(ParseError::InvalidUri)
    }

    pub(crate) fn parse_inner(s: &str) -> Result<Uri, &'static str> {
        UriRef::scan(s).map(|r| r.into_owned())
    }

    /// The scheme in lower case for `sip`, `sips` and `tel`, as written otherwise.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) => u.scheme(),
            Uri::Tel(_) => "tel",
            Uri::Absolute(s) => s.split(':').next().unwrap_or(""),
        }
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// True for `sips:`.
    pub fn is_sips(&self) -> bool {
        matches!(self, Uri::Sip(u) if u.secure)
    }

    /// Comparison per RFC 3261 §19.1.4 for SIP URIs; TEL URIs compare by digits and
    /// parameters; other schemes compare as case-insensitive text.
    pub fn equivalent(&self, other: &Uri) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.equivalent(b),
            (Uri::Tel(a), Uri::Tel(b)) => {
                // RFC 3966 §4: parameter order is not significant; names compare
                // case-insensitively, values too (after decoding escapes).
                let key = |p: &crate::Params| {
                    let mut v: Vec<(String, Vec<u8>)> = p
                        .iter()
                        .map(|p| {
                            let val = text::unescape(p.value.as_deref().unwrap_or(""));
                            (p.name.to_ascii_lowercase(), val.to_ascii_lowercase())
                        })
                        .collect();
                    v.sort();
                    v
                };
                a.digits().eq_ignore_ascii_case(&b.digits()) && key(&a.params) == key(&b.params)
            }
            (Uri::Absolute(a), Uri::Absolute(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

/// A validated, borrowed view of a URI (no allocation for SIP and absolute URIs).
#[derive(Debug, Clone, Copy)]
pub(crate) enum UriRef<'a> {
    Sip(SipUriRef<'a>),
    /// Text after `tel:`, validated.
    Tel(&'a str),
    Absolute(&'a str),
}

impl<'a> UriRef<'a> {
    pub(crate) fn scan(s: &'a str) -> Result<UriRef<'a>, &'static str> {
        // `sip:` and `sips:` (any case) without the general scheme search.
        let b = s.as_bytes();
        if b.len() >= 4 && b[..3].eq_ignore_ascii_case(b"sip") {
            if b[3] == b':' {
                return SipUriRef::scan(false, &s[4..]).map(UriRef::Sip);
            }
            if b.len() >= 5 && b[3] | 0x20 == b's' && b[4] == b':' {
                return SipUriRef::scan(true, &s[5..]).map(UriRef::Sip);
            }
        }
        let colon = memchr::memchr(b':', s.as_bytes()).ok_or("missing scheme")?;
        let scheme = &s[..colon];
        let rest = &s[colon + 1..];
        let sb = scheme.as_bytes();
        if sb.is_empty()
            || !sb[0].is_ascii_alphabetic()
            || !sb.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err("invalid scheme");
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUriRef::scan(false, rest).map(UriRef::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUriRef::scan(true, rest).map(UriRef::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_after_scheme(rest)?;
            Ok(UriRef::Tel(rest))
        } else {
            if rest.is_empty() || !rest.bytes().all(text::is_uric) || !text::escapes_valid(rest) {
                return Err("invalid absolute URI");
            }
            Ok(UriRef::Absolute(s))
        }
    }

    pub(crate) fn into_owned(self) -> Uri {
        match self {
            UriRef::Sip(s) => Uri::Sip(s.into_owned()),
            UriRef::Tel(t) => Uri::Tel(TelUri::parse_after_scheme(t).expect("validated by scan")),
            UriRef::Absolute(a) => Uri::Absolute(a.to_owned()),
        }
    }
}

impl FromStr for Uri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

impl From<SipUri> for Uri {
    fn from(u: SipUri) -> Self {
        Uri::Sip(u)
    }
}

impl From<TelUri> for Uri {
    fn from(u: TelUri) -> Self {
        Uri::Tel(u)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Tel(u) => u.fmt(f),
            Uri::Absolute(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert!(matches!(Uri::parse("SIP:host").unwrap(), Uri::Sip(_)));
        assert_eq!(
            Uri::parse("nobodyKnowsThisScheme:totallyopaquecontent").unwrap().scheme(),
            "nobodyKnowsThisScheme"
        );
        assert!(matches!(Uri::parse("soap.beep://192.0.2.103:3002").unwrap(), Uri::Absolute(_)));
        assert!(matches!(Uri::parse("isbn:2983792873").unwrap(), Uri::Absolute(_)));
        assert!(Uri::parse("<sip:user@example.com>").is_err());
        assert!(Uri::parse("nocolon").is_err());
        assert!(Uri::parse("http:").is_err());
        assert!(Uri::parse("1x:abc").is_err());
    }
}
