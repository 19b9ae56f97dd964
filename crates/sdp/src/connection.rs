//! `c=` and `o=` lines.
//!
//! ```text
//! connection-field = %s"c" "=" nettype SP addrtype SP connection-address CRLF
//! origin-field     = %s"o" "=" username SP sess-id SP sess-version SP
//!                    nettype SP addrtype SP unicast-address CRLF
//! nettype          = token          ; typically "IN"
//! addrtype         = token          ; typically "IP4" and "IP6"
//!                                                     (RFC 8866 §5.2, §5.7, §9)
//! ```

use std::fmt;
use std::net::IpAddr;

use crate::SdpError;

fn ip_addrtype(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IP4" } else { "IP6" }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty() && !s.bytes().any(|b| b.is_ascii_whitespace()))
}

/// A typed `c=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub nettype: String,
    /// `IP4` or `IP6` (or an extension).
    pub addrtype: String,
    /// The address as written (may be a host name or a multicast `addr/ttl`).
    pub address: String,
}

impl Connection {
    /// Parses the value of a `c=` line.
    ///
    /// # Errors
    /// [`SdpError::BadField`] unless it is three space-separated fields.
    pub fn parse(value: &str) -> Result<Connection, SdpError> {
        let mut f = value.split(' ');
        let (Some(nettype), Some(addrtype), Some(address), None) =
            (non_empty(f.next()), non_empty(f.next()), non_empty(f.next()), f.next())
        else {
            return Err(SdpError::field("c", value, "not `nettype addrtype address`"));
        };
        Ok(Connection {
            nettype: nettype.to_owned(),
            addrtype: addrtype.to_owned(),
            address: address.to_owned(),
        })
    }

    /// A `c=IN IP4|IP6 <ip>` line for `ip`.
    pub fn from_ip(ip: IpAddr) -> Connection {
        Connection {
            nettype: "IN".into(),
            addrtype: ip_addrtype(ip).into(),
            address: ip.to_string(),
        }
    }

    /// The unicast IP address, when the address is a literal (`IN IP4` / `IN IP6`).
    pub fn ip(&self) -> Option<IpAddr> {
        if !self.nettype.eq_ignore_ascii_case("IN") {
            return None;
        }
        let ip: IpAddr = self.address.parse().ok()?;
        let matches_type = match ip {
            IpAddr::V4(_) => self.addrtype.eq_ignore_ascii_case("IP4"),
            IpAddr::V6(_) => self.addrtype.eq_ignore_ascii_case("IP6"),
        };
        matches_type.then_some(ip)
    }

    /// The RFC 2543 hold address `0.0.0.0` (RFC 3264 §8.4 still asks us to accept it).
    pub fn is_hold(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.nettype, self.addrtype, self.address)
    }
}

/// A typed `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id (digits).
    pub session_id: String,
    /// Session version (digits); changes whenever the description changes.
    pub session_version: String,
    /// Network type, `IN`.
    pub nettype: String,
    /// `IP4` or `IP6`.
    pub addrtype: String,
    /// Address of the originator.
    pub address: String,
}

impl Origin {
    /// Parses the value of an `o=` line.
    ///
    /// # Errors
    /// [`SdpError::BadField`] unless it has the six fields, with numeric session id and
    /// version.
    pub fn parse(value: &str) -> Result<Origin, SdpError> {
        let f: Vec<&str> = value.split(' ').collect();
        if f.len() != 6 || f.iter().any(|s| non_empty(Some(s)).is_none()) {
            return Err(SdpError::field("o", value, "not six space-separated fields"));
        }
        let digits = |s: &str| s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(f[1]) || !digits(f[2]) {
            return Err(SdpError::field("o", value, "sess-id or sess-version is not 1*20DIGIT"));
        }
        Ok(Origin {
            username: f[0].into(),
            session_id: f[1].into(),
            session_version: f[2].into(),
            nettype: f[3].into(),
            addrtype: f[4].into(),
            address: f[5].into(),
        })
    }

    /// Sets the address (and its type) to `ip`.
    pub fn set_ip(&mut self, ip: IpAddr) {
        "IN".clone_into(&mut self.nettype);
        ip_addrtype(ip).clone_into(&mut self.addrtype);
        self.address = ip.to_string();
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.nettype,
            self.addrtype,
            self.address
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8866_section_5_7_connection() {
        let c = Connection::parse("IN IP4 198.51.100.1").unwrap();
        assert_eq!(c.ip(), Some("198.51.100.1".parse().unwrap()));
        assert_eq!(c.to_string(), "IN IP4 198.51.100.1");
        let m = Connection::parse("IN IP4 233.252.0.1/127").unwrap();
        assert_eq!(m.ip(), None);
        assert_eq!(m.to_string(), "IN IP4 233.252.0.1/127");
        let h = Connection::parse("IN IP4 host.example.com").unwrap();
        assert_eq!(h.ip(), None);
        assert_eq!(Connection::parse("IN IP6 ::1").unwrap().ip(), Some("::1".parse().unwrap()));
        assert_eq!(Connection::parse("IN IP6 127.0.0.1").unwrap().ip(), None, "type mismatch");
        assert!(Connection::parse("IN IP4 0.0.0.0").unwrap().is_hold());
        assert_eq!(Connection::from_ip("::1".parse().unwrap()).to_string(), "IN IP6 ::1");
        for bad in ["", "IN IP4", "IN  IP4 1.2.3.4", "IN IP4 1.2.3.4 x", "IN IP4 1.2.3.4 "] {
            assert!(Connection::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rfc8866_section_5_2_origin() {
        let mut o = Origin::parse("jdoe 3724394400 3724394405 IN IP4 198.51.100.1").unwrap();
        assert_eq!(o.session_version, "3724394405");
        o.set_ip("2001:db8::1".parse().unwrap());
        assert_eq!(o.to_string(), "jdoe 3724394400 3724394405 IN IP6 2001:db8::1");
        assert!(Origin::parse("jdoe x 1 IN IP4 a").is_err());
        assert!(Origin::parse("jdoe 1 1 IN IP4").is_err());
    }
}
