//! Portal and API users, their roles, login state and TOTP.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{Email, TenantId, UserId};
use crate::error::{Result, StoreError};

/// Permission level. A super admin belongs to no tenant; the other roles belong to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages the platform and every tenant.
    SuperAdmin,
    /// Manages one tenant.
    TenantAdmin,
    /// Uses their own extensions: own call history, voicemail, PIN and password.
    User,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SuperAdmin => "super_admin",
            Self::TenantAdmin => "tenant_admin",
            Self::User => "user",
        }
    }

    /// Parses the stored and wire name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "super_admin" => Ok(Self::SuperAdmin),
            "tenant_admin" => Ok(Self::TenantAdmin),
            "user" => Ok(Self::User),
            _ => Err(StoreError::invalid("role", "must be super_admin, tenant_admin or user")),
        }
    }

    /// Checks that a holder of this role in `tenant` is consistent: super admins have no tenant,
    /// everyone else has one.
    pub fn check_scope(self, tenant: Option<TenantId>) -> Result<()> {
        match (self, tenant) {
            (Self::SuperAdmin, None) | (Self::TenantAdmin | Self::User, Some(_)) => Ok(()),
            (Self::SuperAdmin, Some(_)) => {
                Err(StoreError::invalid("role", "a super admin belongs to no tenant"))
            }
            (_, None) => Err(StoreError::invalid("tenant_id", "this role needs a tenant")),
        }
    }
}

/// A login account. The password hash is never serialized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// Record id.
    pub id: UserId,
    /// Owning tenant; `None` for super admins.
    pub tenant_id: Option<TenantId>,
    /// Login name, unique across the platform.
    pub email: Email,
    /// Permission level.
    pub role: Role,
    /// Argon2id hash in PHC string form (`$argon2id$v=19$...`).
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// When the password was last set (drives rotation).
    #[serde(with = "time::serde::rfc3339")]
    pub password_set_at: OffsetDateTime,
    /// The password must be changed at next login (one-time or expired password).
    pub must_change_password: bool,
    /// A TOTP secret is stored (enrolled or pending confirmation).
    pub has_totp_secret: bool,
    /// TOTP enrollment was confirmed with a valid code.
    pub totp_enrolled: bool,
    /// Last TOTP time step accepted; a code for this step or an earlier one is refused.
    pub totp_last_step: Option<u64>,
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    /// Login refused until this instant.
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// Last successful login.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Input for creating a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Owning tenant; must be `None` exactly for [`Role::SuperAdmin`].
    pub tenant_id: Option<TenantId>,
    /// Login name.
    pub email: Email,
    /// Permission level.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Force a password change at first login (e.g. a generated one-time password).
    pub must_change_password: bool,
}

/// Checks that `hash` looks like an Argon2id PHC string (the store never sees passwords).
pub(crate) fn validate_password_hash(field: &'static str, hash: &str) -> Result<()> {
    if hash.starts_with("$argon2id$") && hash.len() <= 512 && hash.is_ascii() {
        Ok(())
    } else {
        Err(StoreError::invalid(field, "must be an Argon2id PHC string ($argon2id$...)"))
    }
}

/// A TOTP shared secret (raw bytes, 10..=64). Zeroized on drop; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// Wraps raw secret bytes (RFC 4226 §4 asks for at least 128 bits; 160 is usual).
    pub fn new(bytes: Vec<u8>) -> Result<Self> {
        if (10..=64).contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(StoreError::invalid("totp_secret", "must be 10 to 64 bytes"))
        }
    }

    /// The raw secret.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}
