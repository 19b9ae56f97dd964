//! Permanent allow and deny entries set by administrators.
//!
//! - **Global** entries (super admin): a deny entry drops every packet from the network
//!   before anything else; an allow entry exempts the network from flood meters and from
//!   address-wide bans (a trunk provider, a monitoring probe). Authentication failures are
//!   still counted per user, so a brute force from an allowed network still blocks that user.
//! - **Tenant** entries (tenant admin, for their tenant only): a deny entry refuses that
//!   tenant's registrations and calls from the network ([`crate::Guard::check_auth`]); an
//!   allow entry multiplies the flood budget of the network by
//!   [`crate::GuardConfig::tenant_allow_factor`]. It does not switch the meter off: the
//!   packet check runs before anyone knows which tenant a packet is for, so a tenant
//!   admin's word must not be able to open the whole system to a network of their choice.
//!   For the same reason a tenant allow entry must be a /16 or narrower (IPv4), a /32 or
//!   narrower (IPv6).
//!
//! Matching is longest-prefix among the global entries (a super admin may deny a /16 and
//! allow one /24 inside it); a global deny always beats a tenant allow.

use std::collections::HashMap;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::GuardError;
use crate::hash::Seeds;
use crate::net::{Net, is_v4, mask};

/// Longest tenant name accepted (a DNS name).
const MAX_TENANT_LEN: usize = 253;

/// Every permanent entry, replaced as a whole by [`crate::Guard::set_static_rules`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaticRules {
    /// Networks that are never flood-banned or address-banned (super admin).
    pub global_allow: Vec<IpNet>,
    /// Networks whose packets are always dropped (super admin).
    pub global_deny: Vec<IpNet>,
    /// Per-tenant entries (tenant admins).
    pub tenants: Vec<TenantRules>,
}

/// One tenant's permanent entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantRules {
    /// The tenant: its SIP domain (the digest realm), as the authenticator names it.
    pub tenant: String,
    /// Networks whose flood budget is raised (the office).
    pub allow: Vec<IpNet>,
    /// Networks from which this tenant's users may not register or call.
    pub deny: Vec<IpNet>,
}

impl StaticRules {
    fn count(&self) -> usize {
        self.global_allow.len()
            + self.global_deny.len()
            + self.tenants.iter().map(|t| t.allow.len() + t.deny.len()).sum::<usize>()
    }
}

/// What the permanent entries say about one source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Class {
    /// Nothing: the ordinary rules apply.
    #[default]
    None,
    /// Inside a tenant's allow entry: a larger flood budget.
    TenantAllow,
    /// Inside a global allow entry: no flood meter, no address-wide ban.
    GlobalAllow,
    /// Inside a global deny entry: dropped.
    GlobalDeny,
}

#[derive(Debug, Clone, Copy, Default)]
struct Hit {
    /// The global entry at this exact network: Some(true) allow, Some(false) deny.
    global: Option<bool>,
    tenant_allow: bool,
}

/// One prefix length's entries.
#[derive(Debug)]
struct Level {
    len: u8,
    nets: HashMap<u128, Hit, Seeds>,
}

/// The entries in lookup form.
#[derive(Debug)]
pub(crate) struct Compiled {
    /// For IPv4 sources, longest prefix first.
    v4: Vec<Level>,
    /// For IPv6 sources, longest prefix first.
    v6: Vec<Level>,
    tenant_deny: HashMap<String, Vec<Net>>,
    pub(crate) source: StaticRules,
}

impl Compiled {
    pub(crate) fn empty(seeds: Seeds) -> Compiled {
        Compiled::build(StaticRules::default(), 0, seeds).unwrap_or_else(|_| Compiled {
            v4: Vec::new(),
            v6: Vec::new(),
            tenant_deny: HashMap::new(),
            source: StaticRules::default(),
        })
    }

    /// Checks and compiles `rules` (at most `max` entries in all).
    pub(crate) fn build(
        rules: StaticRules,
        max: usize,
        seeds: Seeds,
    ) -> Result<Compiled, GuardError> {
        let n = rules.count();
        if n > max {
            return Err(GuardError::TooManyRules { count: n, max });
        }
        let mut v4: Vec<Level> = Vec::new();
        let mut v6: Vec<Level> = Vec::new();
        let mut put = |net: &IpNet, f: &dyn Fn(&mut Hit)| {
            let n = Net::from_ipnet(net);
            let levels = if n.is_v4() { &mut v4 } else { &mut v6 };
            let level = match levels.iter_mut().position(|l| l.len == n.len) {
                Some(i) => &mut levels[i],
                None => {
                    levels.push(Level { len: n.len, nets: HashMap::with_hasher(seeds) });
                    levels.last_mut().expect("just pushed")
                }
            };
            f(level.nets.entry(n.bits).or_default());
        };
        for net in &rules.global_allow {
            // Deny wins over allow for the very same network.
            put(net, &|h: &mut Hit| h.global = Some(h.global.unwrap_or(true)));
        }
        for net in &rules.global_deny {
            put(net, &|h: &mut Hit| h.global = Some(false));
        }
        let mut tenant_deny: HashMap<String, Vec<Net>> = HashMap::new();
        for t in &rules.tenants {
            if t.tenant.is_empty() || t.tenant.len() > MAX_TENANT_LEN {
                return Err(GuardError::InvalidTenant(t.tenant.chars().take(80).collect()));
            }
            for net in &t.allow {
                let n = Net::from_ipnet(net);
                let min = if n.is_v4() { 96 + 16 } else { 32 };
                if n.len < min {
                    return Err(GuardError::TenantNetworkTooWide {
                        tenant: t.tenant.clone(),
                        net: *net,
                    });
                }
                put(net, &|h: &mut Hit| h.tenant_allow = true);
            }
            tenant_deny
                .entry(t.tenant.clone())
                .or_default()
                .extend(t.deny.iter().map(Net::from_ipnet));
        }
        v4.sort_by_key(|l| std::cmp::Reverse(l.len));
        v6.sort_by_key(|l| std::cmp::Reverse(l.len));
        Ok(Compiled { v4, v6, tenant_deny, source: rules })
    }

    /// True if there are no entries at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty() && self.tenant_deny.is_empty()
    }

    /// The class of source `bits`.
    pub(crate) fn classify(&self, bits: u128) -> Class {
        let levels = if is_v4(bits) { &self.v4 } else { &self.v6 };
        let mut tenant_allow = false;
        for level in levels {
            if let Some(hit) = level.nets.get(&mask(bits, level.len)) {
                tenant_allow |= hit.tenant_allow;
                match hit.global {
                    Some(true) => return Class::GlobalAllow,
                    Some(false) => return Class::GlobalDeny,
                    None => {}
                }
            }
        }
        if tenant_allow { Class::TenantAllow } else { Class::None }
    }

    /// True if `tenant` denies source `bits`.
    pub(crate) fn tenant_denies(&self, tenant: &str, bits: u128) -> bool {
        self.tenant_deny.get(tenant).is_some_and(|nets| nets.iter().any(|n| n.contains(bits)))
    }

    /// The global deny networks.
    pub(crate) fn global_deny(&self) -> &[IpNet] {
        &self.source.global_deny
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ip_bits;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn bits(s: &str) -> u128 {
        ip_bits(s.parse().unwrap())
    }

    fn compile(r: StaticRules) -> Compiled {
        Compiled::build(r, 10_000, Seeds::fixed(5)).unwrap()
    }

    #[test]
    fn longest_global_prefix_wins() {
        let c = compile(StaticRules {
            global_deny: nets(&["10.0.0.0/8", "2001:db8::/32"]),
            global_allow: nets(&["10.1.0.0/16", "2001:db8:1::/48"]),
            tenants: vec![],
        });
        assert_eq!(c.classify(bits("10.2.3.4")), Class::GlobalDeny);
        assert_eq!(c.classify(bits("10.1.3.4")), Class::GlobalAllow);
        assert_eq!(c.classify(bits("11.0.0.1")), Class::None);
        assert_eq!(c.classify(bits("2001:db8:2::1")), Class::GlobalDeny);
        assert_eq!(c.classify(bits("2001:db8:1::1")), Class::GlobalAllow);
        assert_eq!(c.classify(bits("2001:db9::1")), Class::None);
    }

    #[test]
    fn deny_beats_allow_for_the_same_network_and_tenant_allow() {
        let c = compile(StaticRules {
            global_deny: nets(&["192.0.2.0/24", "198.51.100.0/24"]),
            global_allow: nets(&["192.0.2.0/24"]),
            tenants: vec![TenantRules {
                tenant: "a.example".into(),
                allow: nets(&["198.51.100.7/32", "203.0.113.0/24"]),
                deny: nets(&["203.0.113.66/32"]),
            }],
        });
        assert_eq!(c.classify(bits("192.0.2.1")), Class::GlobalDeny);
        assert_eq!(c.classify(bits("198.51.100.7")), Class::GlobalDeny);
        assert_eq!(c.classify(bits("203.0.113.5")), Class::TenantAllow);
        assert!(c.tenant_denies("a.example", bits("203.0.113.66")));
        assert!(!c.tenant_denies("a.example", bits("203.0.113.65")));
        assert!(!c.tenant_denies("b.example", bits("203.0.113.66")));
    }

    #[test]
    fn native_ipv6_entries_do_not_match_ipv4() {
        let c = compile(StaticRules { global_deny: nets(&["::/0"]), ..Default::default() });
        assert_eq!(c.classify(bits("192.0.2.1")), Class::None);
        assert_eq!(c.classify(bits("2001:db8::1")), Class::GlobalDeny);
        let c = compile(StaticRules { global_deny: nets(&["0.0.0.0/0"]), ..Default::default() });
        assert_eq!(c.classify(bits("192.0.2.1")), Class::GlobalDeny);
        assert_eq!(c.classify(bits("2001:db8::1")), Class::None);
    }

    #[test]
    fn limits_are_enforced() {
        let wide = StaticRules {
            tenants: vec![TenantRules {
                tenant: "a.example".into(),
                allow: nets(&["10.0.0.0/8"]),
                deny: vec![],
            }],
            ..Default::default()
        };
        assert!(matches!(
            Compiled::build(wide, 100, Seeds::fixed(1)),
            Err(GuardError::TenantNetworkTooWide { .. })
        ));
        let wide6 = StaticRules {
            tenants: vec![TenantRules {
                tenant: "a.example".into(),
                allow: nets(&["2001:db8::/31"]),
                deny: vec![],
            }],
            ..Default::default()
        };
        assert!(Compiled::build(wide6, 100, Seeds::fixed(1)).is_err());
        let many = StaticRules { global_deny: nets(&["192.0.2.1/32"; 11]), ..Default::default() };
        assert!(matches!(
            Compiled::build(many, 10, Seeds::fixed(1)),
            Err(GuardError::TooManyRules { count: 11, max: 10 })
        ));
        let nameless = StaticRules { tenants: vec![TenantRules::default()], ..Default::default() };
        assert!(matches!(
            Compiled::build(nameless, 10, Seeds::fixed(1)),
            Err(GuardError::InvalidTenant(_))
        ));
        assert!(Compiled::empty(Seeds::fixed(1)).is_empty());
    }

    #[test]
    fn rules_parse_from_json() {
        let r: StaticRules = serde_json::from_str(
            r#"{"global_deny":["192.0.2.0/24"],"tenants":[{"tenant":"a.example","allow":["203.0.113.0/24"]}]}"#,
        )
        .unwrap();
        assert_eq!(r.global_deny, nets(&["192.0.2.0/24"]));
        assert_eq!(r.tenants[0].allow, nets(&["203.0.113.0/24"]));
        assert!(serde_json::from_str::<StaticRules>(r#"{"bogus":[]}"#).is_err());
    }
}
