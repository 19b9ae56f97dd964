//! Extensions (SIP accounts) and their digest credentials.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{ExtensionId, ExtensionNumber, SipDomain, TenantId, UserId};
use crate::error::{Result, StoreError};

/// A phone line of a tenant. Its number is the digest username; its realm is the tenant's
/// domain. The SIP secret itself is never stored, only its HA1s (encrypted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Extension {
    /// Record id.
    pub id: ExtensionId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Extension number, unique in the tenant.
    pub number: ExtensionNumber,
    /// Caller name shown to others (0..=100 characters).
    pub display_name: String,
    /// The user this line belongs to (same tenant).
    pub owner_user_id: Option<UserId>,
    /// Disabled extensions cannot register or call.
    pub enabled: bool,
    /// SIP credentials are set.
    pub has_sip_credentials: bool,
    /// When the SIP secret was last set.
    #[serde(with = "time::serde::rfc3339::option")]
    pub secret_set_at: Option<OffsetDateTime>,
    /// Argon2id PHC hash of the voicemail PIN. Never serialized.
    #[serde(skip_serializing)]
    pub pin_hash: Option<String>,
    /// When the PIN was last set.
    #[serde(with = "time::serde::rfc3339::option")]
    pub pin_set_at: Option<OffsetDateTime>,
    /// When the extension was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// What this extension may not call, within the tenant's policy.
    pub restrictions: super::CallingRestrictions,
    /// Its call forwarding.
    pub forwarding: super::CallForwarding,
}

/// Input for creating an extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewExtension {
    /// Extension number (unique in the tenant).
    pub number: ExtensionNumber,
    /// Caller name.
    pub display_name: String,
    /// Owner (must be a user of the same tenant).
    pub owner_user_id: Option<UserId>,
    /// Enabled from the start?
    pub enabled: bool,
    /// Digest credentials for the tenant's realm.
    pub sip_credentials: Option<SipCredentials>,
    /// Argon2id PHC hash of the voicemail PIN.
    pub pin_hash: Option<String>,
}

/// A partial update of an extension; `None` fields are left as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ExtensionUpdate {
    /// New caller name.
    pub display_name: Option<String>,
    /// New owner; `Some(None)` removes the owner.
    pub owner_user_id: Option<Option<UserId>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// Checks an extension display name: 0..=100 characters, no control characters.
pub(crate) fn validate_display_name(name: &str) -> Result<()> {
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "display_name",
            "must be at most 100 characters without control characters",
        ));
    }
    Ok(())
}

/// Digest HA1 values of an extension for one realm (RFC 7616 §3.4.2:
/// `HA1 = H(username ":" realm ":" password)`), for the MD5 and SHA-256 algorithms
/// (RFC 8760). Zeroized on drop; `Debug` prints the realm only.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SipCredentials {
    realm: String,
    md5: [u8; 16],
    sha256: [u8; 32],
}

impl SipCredentials {
    /// Credentials for `realm` (must equal the tenant's domain when stored).
    pub fn new(realm: &SipDomain, md5_ha1: [u8; 16], sha256_ha1: [u8; 32]) -> Self {
        Self { realm: realm.as_str().to_owned(), md5: md5_ha1, sha256: sha256_ha1 }
    }

    /// Credentials from lowercase or uppercase hex HA1 strings.
    pub fn from_hex(realm: &SipDomain, md5_hex: &str, sha256_hex: &str) -> Result<Self> {
        let mut md5 = [0u8; 16];
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(md5_hex, &mut md5)
            .map_err(|_| StoreError::invalid("ha1_md5", "must be 32 hex digits"))?;
        hex::decode_to_slice(sha256_hex, &mut sha256)
            .map_err(|_| StoreError::invalid("ha1_sha256", "must be 64 hex digits"))?;
        Ok(Self::new(realm, md5, sha256))
    }

    /// The digest realm these HA1s were computed for.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// MD5 HA1 (16 bytes).
    pub fn md5_ha1(&self) -> &[u8; 16] {
        &self.md5
    }

    /// SHA-256 HA1 (32 bytes).
    pub fn sha256_ha1(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// Plaintext layout inside the ciphertext: format byte 1, md5 (16), sha256 (32).
    pub(crate) fn to_plaintext(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut v = Vec::with_capacity(49);
        v.push(1);
        v.extend_from_slice(&self.md5);
        v.extend_from_slice(&self.sha256);
        zeroize::Zeroizing::new(v)
    }

    pub(crate) fn from_plaintext(realm: &str, p: &[u8]) -> Result<Self> {
        if p.len() != 49 || p[0] != 1 {
            return Err(StoreError::corrupt("SIP credential plaintext has an unknown layout"));
        }
        let mut md5 = [0u8; 16];
        let mut sha256 = [0u8; 32];
        md5.copy_from_slice(&p[1..17]);
        sha256.copy_from_slice(&p[17..49]);
        Ok(Self { realm: realm.to_owned(), md5, sha256 })
    }
}

impl fmt::Debug for SipCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipCredentials").field("realm", &self.realm).finish_non_exhaustive()
    }
}

/// What the registrar and B2BUA need to authenticate a request: the extension and its
/// decrypted credentials, found by tenant domain and extension number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipAccount {
    /// The extension (check `enabled`).
    pub extension: Extension,
    /// Its credentials; `None` if none were set (authentication must fail).
    pub credentials: Option<SipCredentials>,
}
