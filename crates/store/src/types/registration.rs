//! Registrar bindings (RFC 3261 §10), stored so that a restart loses none.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ExtensionId, TenantId, Transport};
use crate::error::{Result, StoreError};

/// One contact bound to an extension. The key is `(extension_id, contact_uri)`: storing a
/// binding with the same key replaces the old one (a refresh).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationBinding {
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The registered extension (address of record).
    pub extension_id: ExtensionId,
    /// Contact URI as registered (at most 1024 bytes).
    pub contact_uri: String,
    /// Where the REGISTER came from (for NAT traversal and connection reuse).
    pub source: SocketAddr,
    /// Transport the REGISTER came over.
    pub transport: Transport,
    /// When the binding lapses.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Call-ID of the REGISTER (RFC 3261 §10.3 step 7; at most 256 bytes).
    pub call_id: String,
    /// CSeq number of the REGISTER.
    pub cseq: u32,
    /// `+sip.instance` (RFC 5626), if given (at most 256 bytes).
    pub instance_id: Option<String>,
    /// `reg-id` (RFC 5626), if given.
    pub reg_id: Option<u32>,
    /// User-Agent header, if given (at most 256 bytes).
    pub user_agent: Option<String>,
    /// Path header values (RFC 3327), in order (at most 8, 1024 bytes each).
    pub path: Vec<String>,
}

/// One change to the stored bindings, for [`RegistrationRepo::apply_binding_changes`](crate::RegistrationRepo::apply_binding_changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindingChange {
    /// Add or refresh this binding (key: extension and contact URI).
    Upsert(RegistrationBinding),
    /// Remove the binding `contact_uri` of an extension.
    Remove {
        /// The tenant.
        tenant: TenantId,
        /// The extension.
        extension: ExtensionId,
        /// The binding's key.
        contact_uri: String,
    },
}

impl RegistrationBinding {
    pub(crate) fn validate(&self) -> Result<()> {
        let long = |v: &str, max: usize| v.len() > max || v.chars().any(char::is_control);
        if self.contact_uri.is_empty() || long(&self.contact_uri, 1024) {
            return Err(StoreError::invalid(
                "contact_uri",
                "1 to 1024 bytes, no control characters",
            ));
        }
        if long(&self.call_id, 256) {
            return Err(StoreError::invalid("call_id", "at most 256 bytes"));
        }
        if self.instance_id.as_deref().is_some_and(|v| long(v, 256)) {
            return Err(StoreError::invalid("instance_id", "at most 256 bytes"));
        }
        if self.user_agent.as_deref().is_some_and(|v| long(v, 256)) {
            return Err(StoreError::invalid("user_agent", "at most 256 bytes"));
        }
        if self.path.len() > 8 || self.path.iter().any(|p| long(p, 1024)) {
            return Err(StoreError::invalid("path", "at most 8 entries of 1024 bytes"));
        }
        Ok(())
    }
}
