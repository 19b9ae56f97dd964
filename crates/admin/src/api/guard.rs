//! The perimeter guard as the API shows it: running bans, permanent allow/deny entries.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use ringfence_guard::{BanInfo, BanKey, BanReason};
use ringfence_store as store;

use crate::error::{Error, Result};

/// What a ban applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BanScope {
    /// Every port of one address, except its registered devices.
    Ip,
    /// A network (an IPv6 /64), or a global deny entry.
    Prefix,
    /// One address and port.
    Source,
    /// Digest authentication of one user of one tenant from one address.
    User,
}

/// Why a ban started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BanCause {
    /// Too many requests.
    Flood,
    /// Too many failed authentications.
    AuthFailures,
    /// Scanner signals.
    Scanner,
    /// A permanent deny entry (lift it by deleting the entry).
    Static,
    /// Another cause.
    Other,
}

/// One running ban (or global deny entry).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BanView {
    /// The ban's key, as `DELETE /api/v1/guard/bans/{key}` takes it (percent-encoded):
    /// `192.0.2.7`, `2001:db8:1:2::/64`, `192.0.2.7:5060` or `1001@example.com@192.0.2.7`.
    #[schema(example = "192.0.2.7")]
    pub key: String,
    /// What it applies to.
    pub scope: BanScope,
    /// Why, in short.
    pub cause: BanCause,
    /// Why, in words.
    #[schema(example = "flood: more than 500 requests in 10 s")]
    pub reason: String,
    /// Bans of this key within the offence memory, this one included (each doubles the
    /// length); 0 for a permanent entry.
    pub offences: u32,
    /// When it started (`null` for a permanent entry).
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When it ends by itself (`null` for a permanent entry).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Seconds until it ends (`null` for a permanent entry).
    pub expires_in_secs: Option<u64>,
    /// For a user ban: the tenant's SIP domain.
    pub tenant_domain: Option<String>,
    /// For a user ban: the digest username.
    pub username: Option<String>,
}

impl BanView {
    /// The view of `b` as of `now`.
    pub fn new(b: &BanInfo, now: OffsetDateTime) -> Self {
        let scope = match &b.key {
            BanKey::Ip { .. } => BanScope::Ip,
            BanKey::Prefix { .. } => BanScope::Prefix,
            BanKey::Source { .. } => BanScope::Source,
            BanKey::User { .. } => BanScope::User,
        };
        let cause = match b.reason {
            BanReason::Flood { .. } => BanCause::Flood,
            BanReason::AuthFailures { .. } => BanCause::AuthFailures,
            BanReason::Scanner { .. } => BanCause::Scanner,
            BanReason::Static => BanCause::Static,
            _ => BanCause::Other,
        };
        let (tenant_domain, username) = match &b.key {
            BanKey::User { tenant, user, .. } => (Some(tenant.clone()), Some(user.clone())),
            _ => (None, None),
        };
        let secs = |s: u64| time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2));
        let permanent = b.expires_in_secs.is_none();
        Self {
            key: b.key.to_string(),
            scope,
            cause,
            reason: b.reason.to_string(),
            offences: b.offences,
            started_at: (!permanent).then(|| now - secs(b.started_secs_ago)),
            expires_at: b.expires_in_secs.map(|s| now + secs(s)),
            expires_in_secs: b.expires_in_secs,
            tenant_domain,
            username,
        }
    }
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuardRuleAction {
    /// Global: never flood-banned or address-banned (a trunk provider, a monitoring probe).
    /// Tenant: a larger flood budget for the office network (at most an IPv4 /16 or an
    /// IPv6 /32).
    Allow,
    /// Global: every packet from the network is dropped. Tenant: the tenant's extensions
    /// may not register or call from the network.
    Deny,
}

impl From<GuardRuleAction> for store::GuardAction {
    fn from(a: GuardRuleAction) -> Self {
        match a {
            GuardRuleAction::Allow => Self::Allow,
            GuardRuleAction::Deny => Self::Deny,
        }
    }
}

impl From<store::GuardAction> for GuardRuleAction {
    fn from(a: store::GuardAction) -> Self {
        match a {
            store::GuardAction::Allow => Self::Allow,
            store::GuardAction::Deny => Self::Deny,
        }
    }
}

/// A permanent allow or deny entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GuardRuleView {
    /// Id.
    pub id: Uuid,
    /// The tenant (`null` for a global entry).
    pub tenant_id: Option<Uuid>,
    /// Allow or deny.
    pub action: GuardRuleAction,
    /// The network (host bits cleared).
    #[schema(example = "192.0.2.0/24")]
    pub network: String,
    /// Why it exists.
    pub note: String,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&store::GuardRule> for GuardRuleView {
    fn from(r: &store::GuardRule) -> Self {
        Self {
            id: r.id.0,
            tenant_id: r.tenant_id.map(|t| t.0),
            action: r.action.into(),
            network: r.network.to_string(),
            note: r.note.clone(),
            created_at: r.created_at,
        }
    }
}

/// A new permanent entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGuardRule {
    /// Allow or deny.
    pub action: GuardRuleAction,
    /// A CIDR such as `192.0.2.0/24` or `2001:db8::/48`; a bare address means that host.
    #[schema(example = "192.0.2.0/24")]
    pub network: String,
    /// Why it exists (at most 200 characters, no control characters).
    #[serde(default)]
    pub note: Option<String>,
}

impl CreateGuardRule {
    /// The store's input for `tenant` (errors name the request field).
    pub fn into_store(self, tenant: Option<store::TenantId>) -> Result<store::NewGuardRule> {
        let net = self
            .network
            .parse::<ipnet::IpNet>()
            .or_else(|_| self.network.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| Error::invalid("network", "not a CIDR such as 192.0.2.0/24"))?;
        let new = store::NewGuardRule {
            tenant_id: tenant,
            action: self.action.into(),
            network: net,
            note: self.note.unwrap_or_default(),
        };
        Ok(new.validated()?)
    }
}
