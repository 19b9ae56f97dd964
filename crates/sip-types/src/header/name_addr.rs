//! Addresses with optional display name: From, To, Contact, Route, Record-Route,
//! P-Asserted-Identity (RFC 3261 §20.10, §20.20, §20.39, §25.1).
//!
//! ```text
//! From        =  ( "From" / "f" ) HCOLON from-spec
//! from-spec   =  ( name-addr / addr-spec ) *( SEMI from-param )
//! from-param  =  tag-param / generic-param
//! tag-param   =  "tag" EQUAL token
//! name-addr      =  [ display-name ] LAQUOT addr-spec RAQUOT
//! addr-spec      =  SIP-URI / SIPS-URI / absoluteURI
//! display-name   =  *(token LWS)/ quoted-string
//! LAQUOT  =  SWS "<" ; RAQUOT  =  ">" SWS
//! ```
//! RFC 3261 §20: if the URI is not in `<>` (addr-spec form), any `;` parameters belong to
//! the header, and a URI containing a comma, question mark or semicolon must be enclosed
//! in `<>`.

use std::fmt;

use crate::error::ParseError;
use crate::params::{self, Param, Params};
use crate::text::{self, Scanner};
use crate::uri::{Uri, UriRef};

/// An address: optional display name, URI and header parameters (`tag`, `expires`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// Display name, decoded (quotes and escapes removed).
    pub display_name: Option<String>,
    /// The address.
    pub uri: Uri,
    /// Header parameters after the address.
    pub params: Params,
}

/// How strictly [`NameAddr`] parsing treats the addr-spec form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `name-addr / addr-spec` (From, To, Contact, P-Asserted-Identity).
    Either,
    /// `name-addr` only (Route, Record-Route).
    NameAddrOnly,
}

impl NameAddr {
    /// An address with no display name and no parameters.
    pub fn new(uri: impl Into<Uri>) -> Self {
        NameAddr { display_name: None, uri: uri.into(), params: Params::new() }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the `tag` parameter.
    pub fn with_tag(mut self, tag: &str) -> Self {
        self.set_tag(tag);
        self
    }

    /// Appends a header parameter.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.push(Param { name: name.to_owned(), value: value.map(str::to_owned) });
        self
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").filter(|t| !t.is_empty())
    }

    /// Sets (or replaces) the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }

    /// A header parameter's value (`Some("")` for a flag).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// The Contact `expires` parameter in seconds. Values above `u32::MAX` saturate.
    pub fn expires(&self) -> Option<u32> {
        self.params.get("expires").and_then(parse_delta_saturating)
    }

    /// The Contact `q` parameter in thousandths (`q=0.5` is 500).
    pub fn q_millis(&self) -> Option<u16> {
        self.params.get("q").and_then(|q| parse_qvalue(q).ok())
    }

    /// Parses a From/To-style value (`name-addr / addr-spec` plus parameters).
    pub fn parse(value: &str) -> Result<NameAddr, ParseError> {
        NameAddr::parse_as(value, Form::Either).map_err(|r| ParseError::header("address", r))
    }

    pub(crate) fn parse_as(value: &str, form: Form) -> Result<NameAddr, &'static str> {
        NameAddrRef::scan_all(value, form).map(|r| r.into_owned())
    }
}

/// A validated, borrowed view of a name-addr/addr-spec with its parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameAddrRef<'a> {
    /// Display name as written: a quoted-string (quotes included) or a token sequence.
    pub(crate) display: Option<&'a str>,
    pub(crate) uri: UriRef<'a>,
    /// Header-parameter text, validated.
    pub(crate) params: &'a str,
}

impl<'a> NameAddrRef<'a> {
    /// Scans a whole value (trailing white space allowed, nothing else).
    pub(crate) fn scan_all(value: &'a str, form: Form) -> Result<NameAddrRef<'a>, &'static str> {
        let mut s = Scanner::new(value);
        let na = NameAddrRef::scan(&mut s, form)?;
        s.skip_sws();
        if !s.is_empty() {
            return Err("unexpected characters after address");
        }
        Ok(na)
    }

    pub(crate) fn scan(s: &mut Scanner<'a>, form: Form) -> Result<NameAddrRef<'a>, &'static str> {
        s.skip_sws();
        let start = s.pos();
        let mut display = None;
        let bracketed = match s.peek() {
            Some(b'"') => {
                display = Some(s.quoted_string()?);
                s.skip_sws();
                if s.peek() != Some(b'<') {
                    return Err("quoted display name not followed by <URI>");
                }
                true
            }
            Some(b'<') => true,
            None => return Err("empty address"),
            _ => {
                // *(token LWS) "<" or an addr-spec; tokens cannot contain ':'.
                let mut end = start;
                while s.token().is_some() {
                    end = s.pos();
                    s.skip_sws();
                }
                if s.peek() == Some(b'<') {
                    if end > start {
                        display = Some(s.slice(start, end));
                    }
                    true
                } else if s.peek() == Some(b':')
                    && end > start
                    && s.slice(start, end)
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                {
                    s.set_pos(start);
                    false
                } else if end > start
                    && matches!(
                        s.peek(),
                        Some(
                            b',' | b'"'
                                | b'@'
                                | b'('
                                | b')'
                                | b'\\'
                                | b'/'
                                | b'?'
                                | b'{'
                                | b'}'
                                | b'['
                                | b']'
                                | b'='
                        )
                    )
                {
                    return Err("display name with special characters must be quoted");
                } else {
                    return Err("invalid address");
                }
            }
        };
        if form == Form::NameAddrOnly && !bracketed {
            return Err("address must be enclosed in <>");
        }
        let uri = if bracketed {
            s.eat(b'<');
            if matches!(s.peek(), Some(b' ' | b'\t' | b'\r')) {
                return Err("white space inside <> around the URI");
            }
            let rest = s.rest();
            let close = memchr::memchr(b'>', rest.as_bytes()).ok_or("missing > after URI")?;
            let text_uri = &rest[..close];
            if text_uri.ends_with([' ', '\t', '\n']) {
                return Err("white space inside <> around the URI");
            }
            let uri = UriRef::scan(text_uri)?;
            s.set_pos(s.pos() + close + 1);
            uri
        } else {
            let text_uri =
                s.take_while(|b| !matches!(b, b';' | b' ' | b'\t' | b'\r' | b'\n' | b','));
            if memchr::memchr(b'?', text_uri.as_bytes()).is_some() {
                return Err("URI with headers must be enclosed in <>");
            }
            UriRef::scan(text_uri)?
        };
        let params = params::scan_header_params(s)?;
        Ok(NameAddrRef { display, uri, params })
    }

    /// Checks the Contact-specific parameters (`q`, `expires`).
    pub(crate) fn check_contact_params(&self) -> Result<(), &'static str> {
        for (name, value) in params::iter_raw(self.params) {
            if name.eq_ignore_ascii_case("q") {
                parse_qvalue(value.unwrap_or(""))?;
            } else if name.eq_ignore_ascii_case("expires") {
                let e = value.unwrap_or("");
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("expires parameter is not a number");
                }
            }
        }
        Ok(())
    }

    pub(crate) fn into_owned(self) -> NameAddr {
        let display_name = self.display.map(|d| {
            if d.starts_with('"') {
                text::unquote(d).into_owned()
            } else {
                super::product::unfold(d)
            }
        });
        NameAddr { display_name, uri: self.uri.into_owned(), params: Params::from_raw(self.params) }
    }
}

/// `delta-seconds = 1*DIGIT`, saturating at `u32::MAX`.
pub(crate) fn parse_delta_saturating(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 10 {
        return Some(u32::MAX);
    }
    Some(digits.parse::<u64>().unwrap_or(0).min(u64::from(u32::MAX)) as u32)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
pub(crate) fn parse_qvalue(q: &str) -> Result<u16, &'static str> {
    const ERR: &str = "invalid q value";
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ERR);
    }
    let mut millis: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        millis += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Ok(millis),
        "1" if millis == 0 => Ok(1000),
        _ => Err(ERR),
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            let mut q = String::with_capacity(d.len() + 2);
            text::quote(d, &mut q);
            f.write_str(&q)?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        self.params.write(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<NameAddr, &'static str> {
        NameAddr::parse_as(s, Form::Either)
    }

    #[test]
    fn forms() {
        let a =
            p("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8")
                .unwrap();
        assert_eq!(a.display_name.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(a.tag(), Some("98asjd8"));
        let a = p("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name.as_deref(), Some("caller"));
        let a = p("sip:caller@example.net;tag=134161461246").unwrap();
        assert!(a.display_name.is_none());
        assert_eq!(a.tag(), Some("134161461246"));
        assert_eq!(a.uri.to_string(), "sip:caller@example.net");
        let a = p("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>").unwrap();
        assert_eq!(a.display_name.as_deref(), Some("token1~` token2'+_ token3*%!.-"));
        let a = p("isbn:2983792873").unwrap();
        assert!(matches!(a.uri, Uri::Absolute(_)));
        let a = p("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>").unwrap();
        assert_eq!(a.uri.as_sip().unwrap().headers.len(), 1);
    }

    #[test]
    fn rejects_rfc4475_invalid_forms() {
        assert_eq!(p("\"Mr. J. User <sip:j.user@example.com>"), Err("unterminated quoted string"));
        assert_eq!(
            p("sip:user@example.com?Route=%3Csip:sip.example.com%3E"),
            Err("URI with headers must be enclosed in <>")
        );
        assert_eq!(
            p("\"Watson, Thomas\" < sip:t.watson@example.org >"),
            Err("white space inside <> around the URI")
        );
        assert_eq!(
            p("Bell, Alexander <sip:a.g.bell@example.com>;tag=43"),
            Err("display name with special characters must be quoted")
        );
        assert!(p("<sip:a@b>;;").is_err());
        assert!(NameAddr::parse_as("sip:a@b", Form::NameAddrOnly).is_err());
    }

    #[test]
    fn contact_params() {
        let a = p("<sip:a@b>;q=0.33;expires=280297596632815").unwrap();
        assert_eq!(a.q_millis(), Some(330));
        assert_eq!(a.expires(), Some(u32::MAX));
        let r = |s| NameAddrRef::scan_all(s, Form::Either).unwrap().check_contact_params();
        assert!(r("<sip:a@b>;q=0.33;expires=280297596632815").is_ok());
        assert!(r("<sip:a@b>;q=1.5").is_err());
        assert!(r("<sip:a@b>;expires").is_err());
        assert_eq!(parse_qvalue("1.000"), Ok(1000));
        assert!(parse_qvalue("1.001").is_err());
    }

    #[test]
    fn display_round_trip() {
        let a = p("\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" <sip:x@example.com>;tag=1").unwrap();
        let printed = a.to_string();
        assert_eq!(p(&printed).unwrap(), a);
    }
}
