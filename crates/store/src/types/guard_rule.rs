//! Permanent allow and deny entries of the perimeter guard, as administrators set them.
//!
//! A global entry (no tenant, super admins) allows a network past the flood meters and
//! address bans (a trunk provider, a monitoring probe) or drops everything it sends. A
//! tenant's entry (its admins) raises the flood budget of the tenant's office network or
//! refuses the tenant's registrations and calls from a network. The running guard is given
//! every entry at start-up and after each change (`ringfence_guard::StaticRules`, where a
//! tenant is named by its SIP domain).

use std::fmt;

use ipnet::IpNet;
use serde::Serialize;
use time::OffsetDateTime;

use super::{GuardRuleId, TenantId};
use crate::error::{Result, StoreError};

/// Most entries one tenant may have.
pub const MAX_TENANT_GUARD_RULES: usize = 256;
/// Most entries in total (global and all tenants'): the guard's default cap on static rules.
pub const MAX_GUARD_RULES: usize = 10_000;
/// Longest note, in characters.
pub const MAX_GUARD_NOTE: usize = 200;

/// What an entry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardAction {
    /// Global: never flood-banned or address-banned. Tenant: a larger flood budget.
    Allow,
    /// Global: every packet dropped. Tenant: the tenant's users may not register or call.
    Deny,
}

impl GuardAction {
    /// `allow` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardAction::Allow => "allow",
            GuardAction::Deny => "deny",
        }
    }

    /// Parses [`GuardAction::as_str`].
    pub fn parse(s: &str) -> Result<GuardAction> {
        match s {
            "allow" => Ok(GuardAction::Allow),
            "deny" => Ok(GuardAction::Deny),
            _ => Err(StoreError::invalid("action", "must be allow or deny")),
        }
    }
}

impl fmt::Display for GuardAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GuardRule {
    /// Record id.
    pub id: GuardRuleId,
    /// The tenant whose entry it is; `None` for a global entry.
    pub tenant_id: Option<TenantId>,
    /// Allow or deny.
    pub action: GuardAction,
    /// The network (host bits cleared).
    pub network: IpNet,
    /// Why it exists (free text for administrators, may be empty).
    pub note: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Input for a new entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGuardRule {
    /// The tenant; `None` for a global entry.
    pub tenant_id: Option<TenantId>,
    /// Allow or deny.
    pub action: GuardAction,
    /// The network; host bits are cleared before it is stored.
    pub network: IpNet,
    /// Why it exists.
    pub note: String,
}

impl NewGuardRule {
    /// Checks the entry and returns it with its network truncated. Rules:
    /// - IPv4 networks are written as IPv4 (an IPv4-mapped IPv6 network is refused, so one
    ///   network has one spelling and one entry);
    /// - a tenant's allow entry is at most a /16 (IPv4) or /32 (IPv6): it raises the flood
    ///   budget before anyone knows which tenant a packet is for, so a tenant must not be
    ///   able to widen it for the whole internet;
    /// - the note has at most [`MAX_GUARD_NOTE`] characters and no control characters.
    pub fn validated(mut self) -> Result<NewGuardRule> {
        self.network = self.network.trunc();
        if let IpNet::V6(n) = self.network
            && n.addr().to_ipv4_mapped().is_some()
            && n.prefix_len() >= 96
        {
            return Err(StoreError::invalid(
                "network",
                "write IPv4 networks as IPv4 (not IPv4-mapped IPv6)",
            ));
        }
        if self.tenant_id.is_some() && self.action == GuardAction::Allow {
            let too_wide = match self.network {
                IpNet::V4(n) => n.prefix_len() < 16,
                IpNet::V6(n) => n.prefix_len() < 32,
            };
            if too_wide {
                return Err(StoreError::invalid(
                    "network",
                    "a tenant's allow entry may be at most an IPv4 /16 or an IPv6 /32",
                ));
            }
        }
        if self.note.chars().count() > MAX_GUARD_NOTE || self.note.chars().any(char::is_control) {
            return Err(StoreError::invalid(
                "note",
                format!("at most {MAX_GUARD_NOTE} characters, no control characters"),
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(tenant: bool, action: GuardAction, net: &str) -> NewGuardRule {
        NewGuardRule {
            tenant_id: tenant.then(TenantId::random),
            action,
            network: net.parse().unwrap(),
            note: String::new(),
        }
    }

    #[test]
    fn validation() {
        let ok = new(false, GuardAction::Deny, "192.0.2.77/24").validated().unwrap();
        assert_eq!(ok.network.to_string(), "192.0.2.0/24");
        new(false, GuardAction::Allow, "0.0.0.0/0").validated().unwrap();
        new(true, GuardAction::Deny, "0.0.0.0/0").validated().unwrap();
        new(true, GuardAction::Allow, "10.1.0.0/16").validated().unwrap();
        new(true, GuardAction::Allow, "2001:db8::/32").validated().unwrap();
        for (action, net) in
            [(GuardAction::Allow, "10.0.0.0/15"), (GuardAction::Allow, "2001::/31")]
        {
            let e = new(true, action, net).validated().unwrap_err();
            assert!(matches!(e, StoreError::Invalid { field: "network", .. }), "{net}");
        }
        let e = new(false, GuardAction::Deny, "::ffff:192.0.2.0/120").validated().unwrap_err();
        assert!(matches!(e, StoreError::Invalid { field: "network", .. }));
        let mut bad = new(false, GuardAction::Deny, "192.0.2.0/24");
        bad.note = "a\nb".into();
        assert!(matches!(bad.validated(), Err(StoreError::Invalid { field: "note", .. })));
        let mut long = new(false, GuardAction::Deny, "192.0.2.0/24");
        long.note = "é".repeat(MAX_GUARD_NOTE);
        long.validated().unwrap();
        assert_eq!(GuardAction::parse("deny").unwrap(), GuardAction::Deny);
        assert!(GuardAction::parse("block").is_err());
    }
}
