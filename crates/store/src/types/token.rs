//! API tokens for automation. Only the SHA-256 of a token is stored; the token is shown once.

use ring::rand::SecureRandom as _;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Role, TenantId, TokenId};
use crate::error::{Result, StoreError};

/// A scoped API token (its hash is not part of this view).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Record id.
    pub id: TokenId,
    /// Tenant the token acts in; `None` for super-admin tokens.
    pub tenant_id: Option<TenantId>,
    /// Powers of the token.
    pub role: Role,
    /// Label given at creation (1..=100 characters).
    pub name: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last time it authenticated a request.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked; a revoked token authenticates nothing.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiToken {
    /// Whether the token was revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// Input for creating a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiToken {
    /// Tenant scope; `None` exactly for [`Role::SuperAdmin`].
    pub tenant_id: Option<TenantId>,
    /// Powers.
    pub role: Role,
    /// Label.
    pub name: String,
    /// [`token_hash`] of the secret token.
    pub token_hash: [u8; 32],
}

/// Prefix of generated tokens, so that leaked ones are easy to recognise in scans.
pub const TOKEN_PREFIX: &str = "rft_";

/// A fresh token (`rft_` + 43 base64url characters of 32 random bytes) and its hash.
pub fn generate_token() -> Result<(zeroize::Zeroizing<String>, [u8; 32])> {
    use base64::Engine as _;
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    ring::rand::SystemRandom::new()
        .fill(raw.as_mut())
        .map_err(|_| StoreError::Crypto("system random generator failed".into()))?;
    let token = zeroize::Zeroizing::new(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_ref())
    ));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// SHA-256 of a presented token. Tokens carry 256 random bits, so a fast hash is enough.
pub fn token_hash(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub(crate) fn validate_token_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if n == 0 || n > 100 || name.chars().any(char::is_control) {
        return Err(StoreError::invalid("name", "must be 1 to 100 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_distinct_and_hash_consistently() {
        let (a, ha) = generate_token().unwrap();
        let (b, hb) = generate_token().unwrap();
        assert_ne!(*a, *b);
        assert_ne!(ha, hb);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), 4 + 43);
        assert_eq!(token_hash(&a), ha);
    }
}
