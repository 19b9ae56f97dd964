//! The crate's error type.

use ipnet::IpNet;

use crate::ban::BanKey;

/// What went wrong. Every variant is the caller's fault (a bad configuration, bad rules
/// from the admin API, or a request about a ban that does not exist); the packet path
/// never fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// A configuration value is out of range.
    #[error("invalid guard configuration: {0}")]
    InvalidConfig(String),
    /// More permanent entries than the configuration allows.
    #[error("too many static rules: {count} (at most {max})")]
    TooManyRules {
        /// Entries given.
        count: usize,
        /// The limit ([`crate::GuardConfig::max_static_rules`]).
        max: usize,
    },
    /// A tenant allow entry wider than a tenant may set (IPv4 /16, IPv6 /32).
    #[error("tenant {tenant}: allow entry {net} is too wide (IPv4 at most /16, IPv6 at most /32)")]
    TenantNetworkTooWide {
        /// The tenant.
        tenant: String,
        /// The entry.
        net: IpNet,
    },
    /// A tenant name that is empty or longer than a domain name can be.
    #[error("invalid tenant name {0:?}")]
    InvalidTenant(String),
    /// Text that is not a ban key (`ip`, `net/len`, `ip:port`, `user@tenant@ip`).
    #[error("not a ban key: {0:?}")]
    InvalidBanKey(String),
    /// Nothing is banned under this key right now.
    #[error("no active ban for {0}")]
    NotBanned(BanKey),
    /// The key is a permanent deny entry: change the static rules instead.
    #[error("{0} is a static deny entry; remove it from the static rules instead")]
    StaticRule(BanKey),
}
