//! Addresses as 128-bit numbers, prefixes, and the per-tenant device-network check.
//!
//! Every address is handled in one form: IPv4 as its IPv4-mapped IPv6 address
//! (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), so a dual-stack socket's `::ffff:192.0.2.1` and a
//! plain `192.0.2.1` are the same source. IPv4 networks live in the mapped range with 96
//! added to their prefix length; a native IPv6 network never matches an IPv4 source, even
//! `::/0`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The mapped-IPv4 prefix `::ffff:0:0/96`, shifted down by 32 bits.
const MAPPED_TAG: u128 = 0xffff;

/// `ip` as 128 bits (IPv4 mapped into IPv6).
#[inline]
pub(crate) fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => (MAPPED_TAG << 32) | u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// True if `bits` is an IPv4 address (in mapped form).
#[inline]
pub(crate) fn is_v4(bits: u128) -> bool {
    bits >> 32 == MAPPED_TAG
}

/// The address behind `bits`, IPv4 when mapped.
pub(crate) fn bits_ip(bits: u128) -> IpAddr {
    if is_v4(bits) {
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(bits))
    }
}

/// `bits` with all but the first `len` (0..=128) bits cleared.
#[inline]
pub(crate) fn mask(bits: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        128.. => bits,
        l => bits & (!0u128 << (128 - u32::from(l))),
    }
}

/// A network in the guard's form: the masked bits and the prefix length in the 128-bit
/// space (IPv4 lengths plus 96), and whether it is an IPv4 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Net {
    pub(crate) bits: u128,
    pub(crate) len: u8,
}

impl Net {
    /// `net` in the guard's form. An IPv6 network written in the mapped range
    /// (`::ffff:192.0.2.0/120`) is the IPv4 network it maps.
    pub(crate) fn from_ipnet(net: &IpNet) -> Net {
        match net {
            IpNet::V4(n) => {
                let len = n.prefix_len() + 96;
                Net { bits: mask(ip_bits(IpAddr::V4(n.network())), len), len }
            }
            IpNet::V6(n) => {
                let len = n.prefix_len();
                Net { bits: mask(u128::from(n.network()), len), len }
            }
        }
    }

    /// True if the network lies in the mapped IPv4 range (so it matches IPv4 sources only).
    pub(crate) fn is_v4(self) -> bool {
        self.len >= 96 && is_v4(self.bits)
    }

    /// True if the source `bits` is inside this network.
    #[inline]
    pub(crate) fn contains(self, bits: u128) -> bool {
        self.is_v4() == is_v4(bits) && mask(bits, self.len) == self.bits
    }

    /// Back to an [`IpNet`] (IPv4 for the mapped range).
    pub(crate) fn to_ipnet(self) -> IpNet {
        if self.is_v4() {
            let net = Ipv4Net::new(Ipv4Addr::from(self.bits as u32), self.len - 96);
            IpNet::V4(net.unwrap_or_default())
        } else {
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(self.bits), self.len).unwrap_or_default())
        }
    }
}

/// The network a source's prefix meter counts: its /64 for IPv6, its /24 for IPv4.
#[inline]
pub(crate) fn meter_prefix(bits: u128) -> Net {
    let len = if is_v4(bits) { 96 + 24 } else { 64 };
    Net { bits: mask(bits, len), len }
}

/// The address that authentication failures from `bits` are counted for: the address
/// itself for IPv4, its /64 (as the network's first address) for IPv6.
#[inline]
pub(crate) fn auth_bits(bits: u128) -> u128 {
    if is_v4(bits) { bits } else { mask(bits, 64) }
}

/// True if a device at `ip` may register or call for a tenant whose allowed device networks
/// are `tenant_networks`. An empty list allows every address (the tenant set no
/// restriction). IPv4-mapped IPv6 addresses (`::ffff:192.0.2.7`, as dual-stack sockets
/// report them) match IPv4 networks, and IPv4-mapped IPv6 networks match IPv4 addresses.
///
/// ```
/// use ringfence_guard::network_allowed;
/// let nets = ["192.0.2.0/24".parse().unwrap(), "2001:db8::/32".parse().unwrap()];
/// assert!(network_allowed(&nets, "192.0.2.7".parse().unwrap()));
/// assert!(network_allowed(&nets, "::ffff:192.0.2.7".parse().unwrap()));
/// assert!(!network_allowed(&nets, "198.51.100.1".parse().unwrap()));
/// assert!(network_allowed(&[], "198.51.100.1".parse().unwrap()));
/// ```
pub fn network_allowed(tenant_networks: &[IpNet], ip: IpAddr) -> bool {
    if tenant_networks.is_empty() {
        return true;
    }
    let bits = ip_bits(ip.to_canonical());
    tenant_networks.iter().any(|n| Net::from_ipnet(n).contains(bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn bits_round_trip() {
        for s in ["192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::1", "::"] {
            assert_eq!(bits_ip(ip_bits(ip(s))), ip(s));
        }
        assert!(is_v4(ip_bits(ip("10.0.0.1"))));
        assert!(!is_v4(ip_bits(ip("2001:db8::1"))));
        // A mapped IPv6 address is the IPv4 address once canonical.
        assert_eq!(ip_bits(ip("::ffff:10.0.0.1").to_canonical()), ip_bits(ip("10.0.0.1")));
    }

    #[test]
    fn masks() {
        let b = ip_bits(ip("2001:db8:1:2:3:4:5:6"));
        assert_eq!(mask(b, 128), b);
        assert_eq!(mask(b, 0), 0);
        assert_eq!(bits_ip(mask(b, 64)), ip("2001:db8:1:2::"));
        assert_eq!(bits_ip(meter_prefix(ip_bits(ip("192.0.2.77"))).bits), ip("192.0.2.0"));
        assert_eq!(meter_prefix(b).to_ipnet(), net("2001:db8:1:2::/64"));
        assert_eq!(meter_prefix(ip_bits(ip("192.0.2.77"))).to_ipnet(), net("192.0.2.0/24"));
        assert_eq!(bits_ip(auth_bits(b)), ip("2001:db8:1:2::"));
        assert_eq!(auth_bits(ip_bits(ip("192.0.2.77"))), ip_bits(ip("192.0.2.77")));
    }

    #[test]
    fn contains_keeps_families_apart() {
        let all6 = Net::from_ipnet(&net("::/0"));
        assert!(all6.contains(ip_bits(ip("2001:db8::1"))));
        assert!(!all6.contains(ip_bits(ip("192.0.2.1"))));
        let all4 = Net::from_ipnet(&net("0.0.0.0/0"));
        assert!(all4.contains(ip_bits(ip("192.0.2.1"))));
        assert!(!all4.contains(ip_bits(ip("2001:db8::1"))));
        let mapped = Net::from_ipnet(&net("::ffff:192.0.2.0/120"));
        assert_eq!(mapped, Net::from_ipnet(&net("192.0.2.0/24")));
        assert!(mapped.contains(ip_bits(ip("192.0.2.200"))));
        assert_eq!(mapped.to_ipnet(), net("192.0.2.0/24"));
    }

    #[test]
    fn network_allowed_rules() {
        let nets = [net("192.0.2.0/24"), net("2001:db8::/32")];
        assert!(network_allowed(&nets, ip("192.0.2.1")));
        assert!(network_allowed(&nets, ip("::ffff:192.0.2.1")));
        assert!(network_allowed(&nets, ip("2001:db8:ffff::1")));
        assert!(!network_allowed(&nets, ip("192.0.3.1")));
        assert!(!network_allowed(&nets, ip("2001:db9::1")));
        assert!(!network_allowed(&nets, ip("::ffff:192.0.3.1")));
        assert!(network_allowed(&[], ip("203.0.113.9")));
        // A mapped network written in IPv6 matches the IPv4 address.
        assert!(network_allowed(&[net("::ffff:198.51.100.0/120")], ip("198.51.100.9")));
        // Host routes.
        assert!(network_allowed(&[net("203.0.113.9/32")], ip("203.0.113.9")));
        assert!(!network_allowed(&[net("203.0.113.9/32")], ip("203.0.113.10")));
        // IPv6 ::/0 does not open the door to IPv4.
        assert!(!network_allowed(&[net("::/0")], ip("203.0.113.9")));
    }
}
