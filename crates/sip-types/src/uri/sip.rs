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

use crate::host::{self, Host};
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

    /// Parses the text after `sip:`/`sips:`.
    pub(crate) fn parse_after_scheme(secure: bool, s: &str) -> Result<SipUri, &'static str> {
        if s.is_empty() {
            return Err("empty SIP URI");
        }
        // '@' cannot appear unescaped after the userinfo (hostport, params and headers
        // exclude it), so the first one ends the userinfo.
        let (userinfo, rest) = match memchr::memchr(b'@', s.as_bytes()) {
            Some(i) => (Some(&s[..i]), &s[i + 1..]),
            None => (None, s),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => {
                let (u, p) = match memchr::memchr(b':', ui.as_bytes()) {
                    Some(i) => (&ui[..i], Some(&ui[i + 1..])),
                    None => (ui, None),
                };
                if u.is_empty() {
                    return Err("empty user part");
                }
                if !u.bytes().all(text::is_user_char) || !text::escapes_valid(u) {
                    return Err("invalid character in user part");
                }
                if let Some(p) = p {
                    if !p.bytes().all(text::is_password_char) || !text::escapes_valid(p) {
                        return Err("invalid character in password");
                    }
                }
                (Some(u.to_owned()), p.map(str::to_owned))
            }
        };
        let hp_end = if rest.starts_with('[') {
            rest.find(']').map(|i| i + 1).ok_or("unterminated IPv6 reference")?
        } else {
            0
        };
        let end = rest[hp_end..].find([';', '?']).map_or(rest.len(), |i| i + hp_end);
        let (host_text, port_text) = host::split_hostport(&rest[..end])?;
        let host = Host::parse(host_text)?;
        let port = port_text.map(host::parse_port).transpose()?;
        let mut uri = SipUri {
            secure,
            user,
            password,
            host,
            port,
            params: Params::new(),
            headers: Vec::new(),
        };
        let mut tail = &rest[end..];
        while let Some(t) = tail.strip_prefix(';') {
            let end = t.find([';', '?']).unwrap_or(t.len());
            let item = &t[..end];
            let (name, value) = match item.find('=') {
                Some(i) => (&item[..i], Some(&item[i + 1..])),
                None => (item, None),
            };
            if name.is_empty()
                || !name.bytes().all(text::is_param_char)
                || !text::escapes_valid(name)
            {
                return Err("invalid URI parameter name");
            }
            if let Some(v) = value {
                if v.is_empty() || !v.bytes().all(text::is_param_char) || !text::escapes_valid(v) {
                    return Err("invalid URI parameter value");
                }
            }
            uri.params.push(Param { name: name.to_owned(), value: value.map(str::to_owned) });
            tail = &t[end..];
        }
        if let Some(h) = tail.strip_prefix('?') {
            for item in h.split('&') {
                let (name, value) = item.split_once('=').ok_or("URI header without '='")?;
                if name.is_empty()
                    || !name.bytes().all(text::is_hnv_char)
                    || !value.bytes().all(text::is_hnv_char)
                    || !text::escapes_valid(item)
                {
                    return Err("invalid URI header");
                }
                uri.headers.push((name.to_owned(), value.to_owned()));
            }
        }
        Ok(uri)
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
        for a in &self.params {
            if let Some(b) = other.params.find(&a.name) {
                if !opt_eq(&a.value, &b.value, true) {
                    return false;
                }
            }
        }
        if self.headers.len() != other.headers.len() {
            return false;
        }
        self.headers.iter().all(|(n, v)| {
            other.headers.iter().any(|(n2, v2)| esc_eq(n, n2, true) && esc_eq(v, v2, false))
        })
    }
}

fn opt_eq(a: &Option<String>, b: &Option<String>, ignore_case: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => esc_eq(a, b, ignore_case),
        _ => false,
    }
}

fn esc_eq(a: &str, b: &str, ignore_case: bool) -> bool {
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
