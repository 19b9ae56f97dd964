//! Phone numbers (DIDs) owned by a tenant and routed to an extension.

use serde::Serialize;
use time::OffsetDateTime;

use super::{E164, ExtensionId, PhoneNumberId, TenantId};

/// A public phone number of a tenant, unique across the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhoneNumber {
    /// Record id.
    pub id: PhoneNumberId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The number.
    pub e164: E164,
    /// Where inbound calls ring; `None`: unassigned.
    pub extension_id: Option<ExtensionId>,
    /// When the number was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
