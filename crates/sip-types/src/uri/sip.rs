//! SIP and SIPS URIs (RFC 3261 §19.1, §25.1).
//!
//! ```text
//! SIP-URI          =  "sip:" [ userinfo ] hostport uri-parameters [ headers ]
//! SIPS-URI         =  "sips:" [ userinfo ] hostport uri-parameters [ headers ]
//! userinfo         =  ( user / telephone-subscriber ) [ ":" password ] "@"
//! user             =  1*( unreserved / escaped / user-unreserved )
//! password         =  *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
//! hostport         =  host [ ":" port ]
//! uri-parameters   =  *( ";" uri-parameter)
//! uri-parameter    =  transport-param / user-param / method-param
//!                     / ttl-param / maddr-param / lr-param / other-param
//! other-param      =  pname [ "=" pvalue ]
//! pname            =  1*paramchar
//! pvalue           =  1*paramchar
//! headers          =  "?" header *( "&" header )
//! header           =  hname "=" hvalue
//! ```

use std::fmt;

use crate::host::{self, Host, HostKind};
use crate::params::{Param, Params};
use crate::text;

/// A `sip:` or `sips:` URI. Components are kept as written (escapes included) so the
/// URI prints back unchanged; comparisons decode escapes ([`SipUri::equivalent`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// User part as written, escapes included.
    pub user: Option<String>,
    /// Password as written (deprecated by RFC 3261 but parsed).
    pub password: Option<String>,
    /// Host.
    pub host: Host,
    /// Explicit port.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params,
    /// URI headers (`?Subject=x&Priority=urgent`) as written.
    pub headers: Vec<(String, String)>,
}

impl SipUri {
    /// `sip:host` with nothing else.
    pub fn new(host: Host) -> Self {
        SipUri {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    /// Sets the user part (must already be escaped where needed).
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Appends a parameter (`None` for a flag like `lr`).
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.push(Param { name: name.to_owned(), value: value.map(str::to_owned) });
        self
    }

    /// Makes it a `sips:` URI.
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// True for `sips:`.
    pub fn is_sips(&self) -> bool {
        self.secure
    }

    /// The scheme, `"sip"` or `"sips"`.
    pub fn scheme(&self) -> &'static str {
        if self.secure { "sips" } else { "sip" }
    }

    /// A URI parameter's value (`Some("")` for a flag parameter), case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport")
    }

    /// True when the `lr` parameter is present (loose routing, RFC 3261 §19.1.1).
    pub fn lr(&self) -> bool {
        self.params.contains("lr")
    }

    /// The user part with `%HH` escapes decoded (may contain any byte, even NUL).
    pub fn user_unescaped(&self) -> Option<Vec<u8>> {
        self.user.as_deref().map(|u| text::unescape(u).into_owned())
    }

    /// The port, or the scheme's default (5060 for `sip`, 5061 for `sips`).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 5061 } else { 5060 })
    }

    /// URI comparison per RFC 3261 §19.1.4.
    ///
    /// Scheme, user and password compare case-sensitively after decoding escapes; host
    /// case-insensitively; an absent port differs from an explicit default port; the
    /// `user`, `ttl`, `method`, `maddr` and `transport` parameters must match if present in
    /// either URI; other parameters are compared only when present in both; headers must
    /// all match.
    pub fn equivalent(&self, other: &SipUri) -> bool {
        if self.secure != other.secure
            || !opt_eq(&self.user, &other.user, false)
            || !opt_eq(&self.password, &other.password, false)
            || !self.host.equivalent(&other.host)
            || self.port != other.port
        {
            return false;
        }
        const MUST_MATCH: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];
        for name in MUST_MATCH {
            let a = self.params.find(name);
            let b = other.params.find(name);
            match (a, b) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    if !opt_eq(&a.value, &b.value, true) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        // Other parameters count only when present in both; with a repeated name the
        // first occurrence is the one that counts (as for `find`).
        for (i, a) in self.params.iter().enumerate() {
            if self.params.iter().take(i).any(|p| p.name.eq_ignore_ascii_case(&a.name)) {
                continue;
            }
            if let Some(b) = other.params.find(&a.name)
                && !opt_eq(&a.value, &b.value, true)
            {
                return false;
            }
        }
        // Headers must all match, compared as multisets (order is not significant).
        if self.headers.len() != other.headers.len() {
            return false;
        }
        let key = |h: &[(String, String)]| {
            let mut v: Vec<(Vec<u8>, Vec<u8>)> = h
                .iter()
                .map(|(n, v)| {
                    (text::unescape(n).to_ascii_lowercase(), text::unescape(v).into_owned())
                })
                .collect();
            v.sort();
            v
        };
        key(&self.headers) == key(&other.headers)
    }
}

/// A validated, borrowed view of a SIP URI (no allocation); the message parser checks
/// URIs with it and [`SipUriRef::into_owned`] builds a [`SipUri`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SipUriRef<'a> {
    pub(crate) secure: bool,
    pub(crate) user: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
    pub(crate) host: &'a str,
    pub(crate) host_kind: HostKind,
    pub(crate) port: Option<u16>,
    /// `;name=value...` text, validated.
    pub(crate) params: &'a str,
    /// `name=value&...` text after `?`, validated; empty when absent.
    pub(crate) headers: &'a str,
}

/// True when `b[i]` is `%` followed by two hex digits.
fn escape_at(b: &[u8], i: usize) -> bool {
    i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()
}

impl<'a> SipUriRef<'a> {
    /// Scans the text after `sip:`/`sips:` in one pass over the bytes.
    pub(crate) fn scan(secure: bool, s: &'a str) -> Result<SipUriRef<'a>, &'static str> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err("empty SIP URI");
        }
        let mut i = 0;
        let (mut user, mut password) = (None, None);
        // Common shapes first: `user@...` without password, or no '@' at all. Neither
        // '@' nor ':' is a user character, so a run of user characters that ends at '@'
        // has found the first '@' (the userinfo is valid up to it), and one that ends at
        // the end of the text shows there is no '@'. Anything else takes the general path.
        let fast = match text::scan_escaped(b, 0, text::EscClass::User) {
            Some(0) if b[0] == b'@' => return Err("empty user part"),
            Some(at) if at < b.len() && b[at] == b'@' => {
                user = Some(&s[..at]);
                i = at + 1;
                true
            }
            Some(end) => end == b.len(),
            None => false,
        };
        // '@' cannot appear unescaped after the userinfo (hostport, params and headers
        // exclude it), so the first one ends the userinfo.
        if !fast && let Some(at) = memchr::memchr(b'@', b) {
            let mut colon = None;
            while i < at {
                let c = b[i];
                if c == b':' && colon.is_none() {
                    colon = Some(i);
                } else if c == b'%' {
                    if !escape_at(b, i) {
                        return Err(if colon.is_some() {
                            "invalid character in password"
                        } else {
                            "invalid character in user part"
                        });
                    }
                    i += 2;
                } else if colon.is_none() && !text::is_user_char(c) {
                    return Err("invalid character in user part");
                } else if colon.is_some() && !text::is_password_char(c) {
                    return Err("invalid character in password");
                }
                i += 1;
            }
            let user_end = colon.unwrap_or(at);
            if user_end == 0 {
                return Err("empty user part");
            }
            user = Some(&s[..user_end]);
            password = colon.map(|c| &s[c + 1..at]);
            i = at + 1;
        }
        let host_start = i;
        if b.get(i) == Some(&b'[') {
            while i < b.len() && b[i] != b']' {
                i += 1;
            }
            if i == b.len() {
                return Err("unterminated IPv6 reference");
            }
            i += 1;
        } else {
            i = text::run(b, i, host::is_host_char);
        }
        let host = &s[host_start..i];
        let host_kind = Host::check(host)?;
        let mut port = None;
        if b.get(i) == Some(&b':') {
            let p0 = i + 1;
            i = p0;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            port = Some(host::parse_port(&s[p0..i])?);
        }
        let params_start = i;
        while b.get(i) == Some(&b';') {
            i += 1;
            let n0 = i;
            i = text::scan_escaped(b, i, text::EscClass::Param)
                .ok_or("invalid URI parameter name")?;
            if i == n0 {
                return Err("invalid URI parameter name");
            }
            if b.get(i) == Some(&b'=') {
                i += 1;
                let v0 = i;
                i = text::scan_escaped(b, i, text::EscClass::Param)
                    .ok_or("invalid URI parameter value")?;
                if i == v0 {
                    return Err("invalid URI parameter value");
                }
            }
        }
        let params = &s[params_start..i];
        let mut headers = "";
        if b.get(i) == Some(&b'?') {
            let h0 = i + 1;
            loop {
                i += 1;
                let n0 = i;
                i = text::scan_escaped(b, i, text::EscClass::Hnv).ok_or("invalid URI header")?;
                if i == n0 {
                    return Err("invalid URI header");
                }
                if b.get(i) != Some(&b'=') {
                    return Err("URI header without '='");
                }
                i = text::scan_escaped(b, i + 1, text::EscClass::Hnv)
                    .ok_or("invalid URI header")?;
                if b.get(i) != Some(&b'&') {
                    break;
                }
            }
            headers = &s[h0..i];
        }
        if i != b.len() {
            return Err(match b[i] {
                b':' => "invalid port",
                b'?' | b';' | b'&' | b'=' => "invalid URI parameter or header",
                _ => "invalid character after host",
            });
        }
        Ok(SipUriRef { secure, user, password, host, host_kind, port, params, headers })
    }

    /// Builds the owned URI.
    pub(crate) fn into_owned(self) -> SipUri {
        let host = match self.host_kind {
            HostKind::Domain => Host::Domain(self.host.to_owned()),
            HostKind::Ipv4(a) => Host::Ipv4(a),
            HostKind::Ipv6(a) => Host::Ipv6(a),
        };
        let mut params = Params::new();
        // `params` is empty or starts with ';'.
        let items =
            if self.params.is_empty() { None } else { Some(self.params.split(';').skip(1)) };
        for item in items.into_iter().flatten() {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (item, None),
            };
            params.push(Param { name: name.to_owned(), value: value.map(str::to_owned) });
        }
        let headers = if self.headers.is_empty() {
            Vec::new()
        } else {
            self.headers
                .split('&')
                .filter_map(|h| h.split_once('='))
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect()
        };
        SipUri {
            secure: self.secure,
            user: self.user.map(str::to_owned),
            password: self.password.map(str::to_owned),
            host,
            port: self.port,
            params,
            headers,
        }
    }
}

fn opt_eq(a: &Option<String>, b: &Option<String>, ignore_case: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => esc_eq(a, b, ignore_case),
        _ => false,
    }
}

pub(crate) fn esc_eq(a: &str, b: &str, ignore_case: bool) -> bool {
    let a = text::unescape(a);
    let b = text::unescape(b);
    if ignore_case { a.eq_ignore_ascii_case(&b) } else { a == b }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme())?;
        f.write_str(":")?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        self.params.write(f)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Uri;

    fn sip(s: &str) -> SipUri {
        match Uri::parse(s).unwrap() {
            Uri::Sip(u) => u,
            other => panic!("not a SIP URI: {other:?}"),
        }
    }

    #[test]
    fn full_uri() {
        let u = sip("sips:alice:secret@Example.com:5061;transport=tls;lr?Subject=hi&X=y");
        assert!(u.is_sips());
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.transport(), Some("tls"));
        assert!(u.lr());
        assert_eq!(u.headers.len(), 2);
        assert_eq!(
            u.to_string(),
            "sips:alice:secret@Example.com:5061;transport=tls;lr?Subject=hi&X=y"
        );
    }

    #[test]
    fn unusual_user_parts() {
        let u = sip(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(u.user.as_deref(), Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
        assert_eq!(u.password.as_deref(), Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert!(u.params.is_empty());
        let u = sip("sip:null-%00-null@example.com");
        assert_eq!(u.user_unescaped().unwrap(), b"null-\0-null");
    }

    #[test]
    fn ipv6() {
        let u = sip("sip:[2001:db8::10]:5070");
        assert_eq!(u.port, Some(5070));
        let u = sip("sip:[2001:db8::10:5070]");
        assert_eq!(u.port, None);
        assert!(Uri::parse("sip:2001:db8::10").is_err());
        assert!(Uri::parse("sip:user@[2001:db8:::192.0.2.1]").is_err());
    }

    #[test]
    fn rejects() {
        for bad in [
            "sip:",
            "sip:@host",
            "sip:a b@host",
            "sip:host;",
            "sip:host;a=",
            "sip:host?x",
            "sip:host:99999",
            "sip:u@h%",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn equivalence_rfc3261_19_1_4() {
        let eq = |a: &str, b: &str| sip(a).equivalent(&sip(b));
        assert!(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
        assert!(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
        assert!(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(eq(
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
        ));
        assert!(!eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
        assert!(!eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
        assert!(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
        assert!(!eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
        assert!(!eq("sip:alice@example.com", "sips:alice@example.com"));
    }
}
