//! Hosts of SIP URIs and Via sent-by (RFC 3261 §25.1, RFC 5118 for IPv6).
//!
//! ```text
//! host             =  hostname / IPv4address / IPv6reference
//! hostname         =  *( domainlabel "." ) toplabel [ "." ]
//! domainlabel      =  alphanum / alphanum *( alphanum / "-" ) alphanum
//! toplabel         =  ALPHA / ALPHA *( alphanum / "-" ) alphanum
//! IPv4address      =  1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT
//! IPv6reference    =  "[" IPv6address "]"
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host: domain name, IPv4 address or IPv6 reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, as written (compare with [`Host::equivalent`]: case-insensitive).
    Domain(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written `[...]` in URIs and Via).
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parses `host`. IPv6 addresses must be bracketed.
    pub fn parse(s: &str) -> Result<Host, &'static str> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or("unterminated IPv6 reference")?;
            return inner.parse::<Ipv6Addr>().map(Host::Ipv6).map_err(|_| "invalid IPv6 address");
        }
        if s.is_empty() {
            return Err("empty host");
        }
        let b = s.as_bytes();
        if b[0].is_ascii_digit() && b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
            if let Ok(a) = s.parse::<Ipv4Addr>() {
                return Ok(Host::Ipv4(a));
            }
        }
        if valid_hostname(s) { Ok(Host::Domain(s.to_owned())) } else { Err("invalid host name") }
    }

    /// Parses a host that may also be an unbracketed IPv6 address (Via `received`, RFC 5118 §4.5).
    pub fn parse_lenient_ipv6(s: &str) -> Result<Host, &'static str> {
        if !s.starts_with('[') && s.contains(':') {
            return s.parse::<Ipv6Addr>().map(Host::Ipv6).map_err(|_| "invalid IPv6 address");
        }
        Host::parse(s)
    }

    /// The IP address, if the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// Comparison per RFC 3261 §19.1.4: domain names case-insensitively, addresses by value.
    pub fn equivalent(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => {
                a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'))
            }
            (a, b) => a == b,
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

fn valid_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return false;
    }
    let mut labels = s.split('.').peekable();
    while let Some(label) = labels.next() {
        let b = label.as_bytes();
        if b.is_empty() || b.len() > 63 {
            return false;
        }
        if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
            return false;
        }
        if b[0] == b'-' || b[b.len() - 1] == b'-' {
            return false;
        }
        if labels.peek().is_none() && !b[0].is_ascii_alphabetic() {
            return false;
        }
    }
    true
}

/// Splits `hostport` into host text and port text (`None` when absent).
pub(crate) fn split_hostport(s: &str) -> Result<(&str, Option<&str>), &'static str> {
    if s.starts_with('[') {
        let end = s.find(']').ok_or("unterminated IPv6 reference")?;
        let (h, rest) = s.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(p) => Ok((h, Some(p))),
            None if rest.is_empty() => Ok((h, None)),
            None => Err("unexpected characters after IPv6 reference"),
        };
    }
    match s.find(':') {
        Some(i) => Ok((&s[..i], Some(&s[i + 1..]))),
        None => Ok((s, None)),
    }
}

/// `port = 1*DIGIT`, at most 65535.
pub(crate) fn parse_port(s: &str) -> Result<u16, &'static str> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid port");
    }
    s.parse().map_err(|_| "port out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(Host::parse("192.0.2.1").unwrap(), Host::Ipv4([192, 0, 2, 1].into()));
        assert!(matches!(Host::parse("[2001:db8::10]").unwrap(), Host::Ipv6(_)));
        assert!(Host::parse("[2001:db8:::192.0.2.1]").is_err());
        assert!(matches!(Host::parse("[2001:db8::192.0.2.1]").unwrap(), Host::Ipv6(_)));
        assert_eq!(Host::parse("Example.COM.").unwrap(), Host::Domain("Example.COM.".into()));
        assert!(Host::parse("2001").is_err());
        assert!(Host::parse("a..b").is_err());
        assert!(Host::parse("-a.com").is_err());
        assert!(Host::parse("1.2.3.999").is_err());
        assert!(Host::parse("").is_err());
        assert!(Host::parse("a_b.com").is_err());
        assert_eq!(Host::parse("[::1]").unwrap().to_string(), "[::1]");
        assert!(Host::parse_lenient_ipv6("2001:db8::9:255").is_ok());
    }

    #[test]
    fn hostport_and_port() {
        assert_eq!(split_hostport("h:5060").unwrap(), ("h", Some("5060")));
        assert_eq!(split_hostport("[::1]:5").unwrap(), ("[::1]", Some("5")));
        assert_eq!(split_hostport("[::1]").unwrap(), ("[::1]", None));
        assert!(split_hostport("[::1]x").is_err());
        assert_eq!(parse_port("5060"), Ok(5060));
        assert!(parse_port("65536").is_err());
        assert!(parse_port("").is_err());
        assert!(parse_port("db8::10").is_err());
    }

    #[test]
    fn equivalence() {
        let a = Host::parse("EXAMPLE.com").unwrap();
        let b = Host::parse("example.COM").unwrap();
        assert!(a.equivalent(&b));
    }
}
