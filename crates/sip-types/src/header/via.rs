//! The Via header (RFC 3261 §20.42, §25.1; RFC 3581 `rport`; RFC 5118 §4.5).
//!
//! ```text
//! Via               =  ( "Via" / "v" ) HCOLON via-parm *(COMMA via-parm)
//! via-parm          =  sent-protocol LWS sent-by *( SEMI via-params )
//! via-params        =  via-ttl / via-maddr
//!                      / via-received / via-branch
//!                      / via-extension
//! via-ttl           =  "ttl" EQUAL ttl
//! via-maddr         =  "maddr" EQUAL host
//! via-received      =  "received" EQUAL (IPv4address / IPv6address)
//! via-branch        =  "branch" EQUAL token
//! response-port     =  "rport" [EQUAL 1*DIGIT]          ; RFC 3581
//! sent-protocol     =  protocol-name SLASH protocol-version
//!                      SLASH transport
//! protocol-name     =  "SIP" / token
//! protocol-version  =  token
//! transport         =  "UDP" / "TCP" / "TLS" / "SCTP"
//!                      / other-transport
//! sent-by           =  host [ COLON port ]
//! ttl               =  1*3DIGIT ; 0 to 255
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::ParseError;
use crate::host::{self, Host};
use crate::params::{self, Param, Params};
use crate::text::Scanner;

/// The branch prefix of RFC 3261 §8.1.1.7 ("magic cookie").
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// One Via value (`via-parm`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Via {
    /// Protocol name, `SIP`.
    pub protocol_name: String,
    /// Protocol version, `2.0`.
    pub protocol_version: String,
    /// Transport as written (`UDP`, `TCP`, `TLS`, `WSS`, ...); compare case-insensitively.
    pub transport: String,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport`, ...), as written.
    pub params: Params,
}

impl Via {
    /// `SIP/2.0/{transport} {host}[:port];branch={branch}`.
    pub fn new(transport: &str, host: Host, port: Option<u16>, branch: &str) -> Self {
        let mut params = Params::new();
        params.push(Param::new("branch", branch));
        Via {
            protocol_name: "SIP".into(),
            protocol_version: "2.0".into(),
            transport: transport.to_owned(),
            host,
            port,
            params,
        }
    }

    /// The `branch` parameter (the transaction id when it starts with `z9hG4bK`).
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").filter(|b| !b.is_empty())
    }

    /// True when the branch starts with the RFC 3261 magic cookie.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(BRANCH_MAGIC_COOKIE))
    }

    /// The `received` parameter as an address (brackets optional for IPv6).
    pub fn received(&self) -> Option<IpAddr> {
        let r = self.params.get("received")?;
        Host::parse_lenient_ipv6(r).ok()?.ip()
    }

    /// `rport`: `None` if absent, `Some(None)` if present without value (a request asking
    /// for it), `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        let v = self.params.get("rport")?;
        Some(if v.is_empty() { None } else { v.parse().ok() })
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.get("maddr")
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params.get("ttl").and_then(|t| t.parse().ok())
    }

    /// Sets `received` (RFC 3261 §18.2.1). IPv6 addresses are written bracketed.
    pub fn set_received(&mut self, ip: IpAddr) {
        self.params.set("received", Some(&Host::from(ip).to_string()));
    }

    /// Fills in `rport` with the source port (RFC 3581 §4).
    pub fn set_rport(&mut self, port: u16) {
        self.params.set("rport", Some(&port.to_string()));
    }

    /// True when the transport is reliable (anything but UDP), RFC 3261 §17.
    pub fn is_reliable_transport(&self) -> bool {
        !self.transport.eq_ignore_ascii_case("UDP")
    }

    /// Parses one `via-parm`.
    pub fn parse(value: &str) -> Result<Via, ParseError> {
        Via::parse_inner(value).map_err(|r| ParseError::header("Via", r))
    }

    /// Parses a whole Via header value (`via-parm *(COMMA via-parm)`).
    pub fn parse_list(value: &str) -> Result<Vec<Via>, ParseError> {
        crate::headers::split_list(value).map(Via::parse).collect()
    }

    pub(crate) fn parse_inner(value: &str) -> Result<Via, &'static str> {
        ViaRef::scan(value).map(|r| r.into_owned())
    }
}

/// A validated, borrowed view of one Via value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaRef<'a> {
    protocol_name: &'a str,
    protocol_version: &'a str,
    transport: &'a str,
    host: &'a str,
    port: Option<u16>,
    /// Parameter text, validated.
    pub(crate) params: &'a str,
}

impl<'a> ViaRef<'a> {
    pub(crate) fn scan(value: &'a str) -> Result<ViaRef<'a>, &'static str> {
        let mut s = Scanner::new(value);
        s.skip_sws();
        let protocol_name = s.token().ok_or("missing protocol name")?;
        if !s.eat_sep(b'/') {
            return Err("malformed sent-protocol");
        }
        let protocol_version = s.token().ok_or("missing protocol version")?;
        if !s.eat_sep(b'/') {
            return Err("malformed sent-protocol");
        }
        let transport = s.token().ok_or("missing transport")?;
        if !s.skip_sws() {
            return Err("missing white space before sent-by");
        }
        let host = if s.peek() == Some(b'[') {
            let start = s.pos();
            s.take_while(|b| b != b']');
            if !s.eat(b']') {
                return Err("unterminated IPv6 reference in sent-by");
            }
            s.slice(start, s.pos())
        } else {
            s.take_while(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        Host::check(host)?;
        let port = if s.eat_sep(b':') {
            Some(host::parse_port(s.take_while(|b| b.is_ascii_digit()))?)
        } else {
            None
        };
        let params_start = s.pos();
        let mut params_end = params_start;
        while s.eat_sep(b';') {
            let name = s.token().ok_or("empty or malformed parameter")?;
            let is = |n: &str| name.eq_ignore_ascii_case(n);
            if s.eat_sep(b'=') {
                if is("received") {
                    let v = s.take_while(|b| {
                        b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'[' | b']')
                    });
                    match Host::parse_lenient_ipv6(v) {
                        Ok(h) if h.ip().is_some() => {}
                        _ => return Err("received is not an IP address"),
                    }
                } else if is("branch") {
                    s.token().ok_or("branch is not a token")?;
                } else if is("ttl") {
                    let v = s.take_while(|b| b.is_ascii_digit());
                    if v.is_empty() || v.len() > 3 || v.parse::<u16>().map_or(true, |t| t > 255) {
                        return Err("ttl out of range 0-255");
                    }
                } else if is("rport") {
                    let v = s.take_while(|b| b.is_ascii_digit());
                    host::parse_port(v).map_err(|_| "invalid rport")?;
                } else if is("maddr") {
                    let v = params::gen_value(&mut s)?;
                    Host::check(v).map_err(|_| "maddr is not a host")?;
                } else {
                    params::gen_value(&mut s)?;
                }
            } else if is("branch") || is("received") {
                return Err("parameter requires a value");
            }
            params_end = s.pos();
        }
        s.set_pos(params_end);
        s.skip_sws();
        if !s.is_empty() {
            return Err("unexpected characters after Via parameters");
        }
        Ok(ViaRef {
            protocol_name,
            protocol_version,
            transport,
            host,
            port,
            params: s.slice(params_start, params_end),
        })
    }

    pub(crate) fn into_owned(self) -> Via {
        Via {
            protocol_name: self.protocol_name.to_owned(),
            protocol_version: self.protocol_version.to_owned(),
            transport: self.transport.to_owned(),
            host: Host::parse(self.host).unwrap_or_else(|_| Host::Domain(self.host.to_owned())),
            port: self.port,
            params: Params::from_raw(self.params),
        }
    }
}

impl FromStr for Via {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Via::parse(s)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol_name, self.protocol_version, self.transport, self.host
        )?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        self.params.write(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_and_spaced() {
        let v = Via::parse("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.branch(), Some("390skdjuw"));
        let list = Via::parse_list("SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(list[1].branch(), Some("z9hG4bK30239"));
        assert!(list[1].has_rfc3261_branch());
        assert_eq!(list[1].to_string(), "SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239");
    }

    #[test]
    fn params() {
        let v = Via::parse(
            "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d8;rport;ttl=16;maddr=224.2.0.1;x=\"y\"",
        )
        .unwrap();
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.ttl(), Some(16));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        let v =
            Via::parse("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3")
                .unwrap();
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().unwrap()));
        let v =
            Via::parse("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3")
                .unwrap();
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().unwrap()));
        let mut v = Via::new("UDP", Host::parse("a.example").unwrap(), Some(5060), "z9hG4bK1");
        v.set_received("2001:db8::1".parse().unwrap());
        v.set_rport(1234);
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP a.example:5060;branch=z9hG4bK1;received=[2001:db8::1];rport=1234"
        );
        assert_eq!(Via::parse(&v.to_string()).unwrap(), v);
    }

    #[test]
    fn rejects() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;,;,,",
            "SIP/2.0/UDP",
            "SIP/2.0 UDP host",
            "SIP/2.0/UDP host;received=example.com",
            "SIP/2.0/UDP host;ttl=256",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP host junk",
            "SIP/2.0/UDP host;branch",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }
}
