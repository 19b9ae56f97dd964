//! The address we write into Via sent-by and Contact for peers that must reach us again
//! on their own (carriers' registrars, trunks).
//!
//! A listener bound to `0.0.0.0` or `[::]` has no address of its own to name, and one
//! behind NAT names an address the carrier cannot reach. The order, first that applies:
//! 1. an advertised address from the configuration (`host` or `host:port`);
//! 2. the address a carrier's registrar saw us at (`received`/`rport` of its 2xx, RFC 3581),
//!    kept per trunk by the registration client;
//! 3. the listener's address when it is a specific one;
//! 4. the local address the OS would send from on its route to the peer (a UDP socket
//!    connected to it: `connect` on UDP sends nothing, it only picks the route);
//! 5. the first specific listener address of any transport, else the loopback address.
//!
//! Never `0.0.0.0`/`::`. The port is the configured one, else the listener's.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use ringfence_sip_proto::transaction::Transport;
use ringfence_sip_types::Host;

use crate::core::CoreHandle;

/// A host (name or address) and optional port to advertise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdvertisedAddress {
    /// The host.
    pub host: Host,
    /// The port; `None`: the listener's.
    pub port: Option<u16>,
}

impl AdvertisedAddress {
    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`. An unspecified address
    /// (`0.0.0.0`, `[::]`) and port 0 are refused: nobody can reach them.
    ///
    /// # Errors
    /// What is wrong, for the operator.
    pub fn parse(s: &str) -> Result<AdvertisedAddress, String> {
        let bad = |why: &str| format!("{s:?} is not host or host:port ({why})");
        let (host, port) = Host::parse_hostport(s.trim()).map_err(bad)?;
        if host.ip().is_some_and(|ip| ip.is_unspecified()) {
            return Err(bad("an unspecified address cannot be reached"));
        }
        if port == Some(0) {
            return Err(bad("the port must be 1 to 65535"));
        }
        Ok(AdvertisedAddress { host, port })
    }

    /// An address and port.
    pub fn from_socket(addr: SocketAddr) -> AdvertisedAddress {
        AdvertisedAddress { host: ip_host(addr.ip()), port: Some(addr.port()) }
    }
}

impl fmt::Display for AdvertisedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

fn ip_host(ip: IpAddr) -> Host {
    Host::from(ip.to_canonical())
}

/// The local address the OS picks to send to `dest` (no packet is sent), if it has a
/// route there.
pub fn route_source(dest: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = match dest {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any).ok()?;
    // A UDP connect only fixes the peer (and so the route and source address).
    socket.connect(dest).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// Our host and port in Via and Contact for requests on `transport` to `dest`, in the
/// order of the module's documentation (`advertised` is 1 or 2 there).
pub fn local_for(
    core: &CoreHandle,
    advertised: Option<&AdvertisedAddress>,
    transport: Transport,
    dest: SocketAddr,
) -> (Host, u16) {
    let listener =
        core.local_addr(transport).or_else(|| core.local_addrs().first().map(|(_, a)| *a));
    let port = advertised
        .and_then(|a| a.port)
        .or(listener.map(|a| a.port()))
        .unwrap_or(transport.default_port());
    if let Some(a) = advertised {
        return (a.host.clone(), port);
    }
    if let Some(l) = listener
        && !l.ip().is_unspecified()
    {
        return (ip_host(l.ip()), port);
    }
    let ip = route_source(dest)
        .or_else(|| core.local_addrs().iter().map(|(_, a)| a.ip()).find(|ip| !ip.is_unspecified()))
        .unwrap_or(match dest {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    (ip_host(ip), port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_and_port_forms() {
        let a = AdvertisedAddress::parse("203.0.113.7").unwrap();
        assert_eq!((a.host.to_string(), a.port), ("203.0.113.7".into(), None));
        let a = AdvertisedAddress::parse("pbx.example.com:5080").unwrap();
        assert_eq!((a.host.to_string(), a.port), ("pbx.example.com".into(), Some(5080)));
        let a = AdvertisedAddress::parse("[2001:db8::1]:5060").unwrap();
        assert_eq!(a.to_string(), "[2001:db8::1]:5060");
        assert_eq!(AdvertisedAddress::parse("[2001:db8::1]").unwrap().port, None);
        for bad in [
            "",
            "0.0.0.0",
            "[::]:5060",
            "2001:db8::1",
            "host:0",
            "host:70000",
            "host:",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "bad host",
        ] {
            assert!(AdvertisedAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_route_to_a_loopback_peer_starts_at_loopback() {
        let ip = route_source("127.0.0.2:5060".parse().unwrap()).unwrap();
        assert!(ip.is_loopback() && !ip.is_unspecified(), "{ip}");
    }
}
