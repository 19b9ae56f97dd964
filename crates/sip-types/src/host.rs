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
        Ok(match Host::check(s)? {
            HostKind::Domain => Host::Domain(s.to_owned()),
            HostKind::Ipv4(a) => Host::Ipv4(a),
            HostKind::Ipv6(a) => Host::Ipv6(a),
        })
    }

    /// Validates `host` without allocating.
    pub(crate) fn check(s: &str) -> Result<HostKind, &'static str> {
        let b = s.as_bytes();
        match b.first() {
            None => Err("empty host"),
            Some(b'[') => {
                if b.len() < 3 || b[b.len() - 1] != b']' {
                    return Err("unterminated IPv6 reference");
                }
                s[1..s.len() - 1]
                    .parse::<Ipv6Addr>()
                    .map(HostKind::Ipv6)
                    .map_err(|_| "invalid IPv6 address")
            }
            // Text of digits and dots is an IPv4 address or nothing: `toplabel` starts
            // with ALPHA, so it is never a host name either.
            Some(c) if c.is_ascii_digit() => match parse_ipv4(b) {
                Some(a) => Ok(HostKind::Ipv4(a)),
                None if valid_hostname(b) => Ok(HostKind::Domain),
                None => Err("invalid host name"),
            },
            Some(_) => {
                if valid_hostname(b) {
                    Ok(HostKind::Domain)
                } else {
                    Err("invalid host name")
                }
            }
        }
    }

    /// Parses `hostport = host [ ":" port ]` (RFC 3261 §25.1; `port = 1*DIGIT`, here at
    /// most 65535): the host and the port when given. IPv6 addresses must be bracketed.
    pub fn parse_hostport(s: &str) -> Result<(Host, Option<u16>), &'static str> {
        // The port follows the last ':' outside an IPv6 reference.
        let split = match s.rfind(']') {
            Some(end) => s[end..].find(':').map(|i| end + i),
            None => s.find(':'),
        };
        let Some(colon) = split else { return Ok((Host::parse(s)?, None)) };
        let (host, port) = (&s[..colon], &s[colon + 1..]);
        let port = parse_port(port)?;
        Ok((Host::parse(host)?, Some(port)))
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

/// What [`Host::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKind {
    Domain,
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

/// `IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT`, each at most 255;
/// `None` for anything else.
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    let mut val: u16 = 0;
    let mut digits = 0;
    for &c in b {
        if c == b'.' {
            if digits == 0 || n == 3 {
                return None;
            }
            octets[n] = val as u8;
            n += 1;
            val = 0;
            digits = 0;
        } else if c.is_ascii_digit() {
            digits += 1;
            val = val * 10 + u16::from(c - b'0');
            if digits > 3 || val > 255 {
                return None;
            }
        } else {
            return None;
        }
    }
    if n != 3 || digits == 0 {
        return None;
    }
    octets[3] = val as u8;
    Some(Ipv4Addr::from(octets))
}

/// `alphanum / "-" / "."`: the characters of a host name or IPv4 address.
static HOST_CHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric() || c == b'-' as usize || c == b'.' as usize;
        c += 1;
    }
    t
};

/// True for `alphanum / "-" / "."`.
#[inline(always)]
pub(crate) fn is_host_char(c: u8) -> bool {
    HOST_CHAR[c as usize]
}

/// `alphanum / "-"`, the characters inside a label.
static LABEL_CHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric() || c == b'-' as usize;
        c += 1;
    }
    t
};

/// `hostname = *( domainlabel "." ) toplabel [ "." ]` in one pass, a label at a time:
/// a label starts with an alphanumeric, does not end with `-` and has at most 63
/// characters; the last one starts with a letter.
fn valid_hostname(b: &[u8]) -> bool {
    let b = b.strip_suffix(b".").unwrap_or(b);
    let n = b.len();
    let mut i = 0;
    loop {
        let label_start = i;
        if i == n || !b[i].is_ascii_alphanumeric() {
            return false;
        }
        i += 1;
        i = crate::text::run(b, i, |c| LABEL_CHAR[c as usize]);
        if b[i - 1] == b'-' || i - label_start > 63 {
            return false;
        }
        if i == n {
            return b[label_start].is_ascii_alphabetic();
        }
        if b[i] != b'.' {
            return false;
        }
        i += 1;
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
    fn hostports() {
        let ok = |s: &str| Host::parse_hostport(s).unwrap();
        assert_eq!(ok("pbx.example.com"), (Host::Domain("pbx.example.com".into()), None));
        assert_eq!(ok("192.0.2.1:5060"), (Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)), Some(5060)));
        assert_eq!(ok("[2001:db8::1]"), (Host::Ipv6("2001:db8::1".parse().unwrap()), None));
        assert_eq!(ok("[2001:db8::1]:5061").1, Some(5061));
        for bad in ["", ":5060", "host:", "host:x", "host:65536", "2001:db8::1", "[::1]x", "a b"] {
            assert!(Host::parse_hostport(bad).is_err(), "{bad:?}");
        }
    }

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
        for bad in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.", "1234.1.1.1"] {
            assert!(Host::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Host::parse("255.0.10.1").unwrap(), Host::Ipv4([255, 0, 10, 1].into()));
        assert!(Host::parse("a-b.c-d.example").is_ok());
        assert!(Host::parse("a-.example").is_err());
        assert!(Host::parse("example.c-").is_err());
        assert!(Host::parse("example.1com").is_err());
        assert!(Host::parse("").is_err());
        assert!(Host::parse("a_b.com").is_err());
        assert_eq!(Host::parse("[::1]").unwrap().to_string(), "[::1]");
        assert!(Host::parse_lenient_ipv6("2001:db8::9:255").is_ok());
    }

    #[test]
    fn ports() {
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
