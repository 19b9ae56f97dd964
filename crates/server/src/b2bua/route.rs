//! Routes out of the system: where the [`crate::b2bua::CallGate`] sends a call that leaves
//! for the phone network (a SIP trunk), and how the B2BUA authenticates to it.

use std::fmt;

use ringfence_sip_proto::transaction::Peer;
use ringfence_sip_types::Uri;

/// Digest credentials for a trunk that challenges our INVITEs (401/407).
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkCredentials {
    /// The username the carrier gave us.
    pub username: String,
    /// Its password.
    pub password: String,
}

impl fmt::Debug for TrunkCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrunkCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where a call that leaves the system goes: one INVITE to a trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRoute {
    /// The trunk's name (logs and records).
    pub trunk: String,
    /// The Request-URI (`sip:+4930123456@carrier.example`).
    pub target: Uri,
    /// Where to send it.
    pub peer: Peer,
    /// Where to send it next when `peer` fails (transport error, timeout, 503), in order
    /// (RFC 3263 §4.3).
    pub alternates: Vec<Peer>,
    /// The user part of our From (the caller ID presented to the carrier).
    pub from_user: String,
    /// The host part of our From and To (the trunk's domain).
    pub domain: String,
    /// The number called, in E.164: the To user and the record's callee.
    pub to_user: String,
    /// Answer the trunk's digest challenges with these, once per INVITE.
    pub credentials: Option<TrunkCredentials>,
    /// For servers reached over TLS: who they must prove to be (the trunk's domain, under
    /// its trust anchors). A server that does not is not sent the call.
    pub tls: Option<crate::transport::tls::TlsPeer>,
    /// The address to name in our Via and Contact towards the trunk (configured, or
    /// learned from its registrar); `None`: `[sip.calls] advertised_host`, else the
    /// listener's address, else the local address of the route to the trunk
    /// ([`crate::advertise::local_for`]).
    pub advertise: Option<crate::advertise::AdvertisedAddress>,
}

/// Where a call from a trunk goes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum InboundDecision {
    /// Ring `extension` of `tenant`, the owner of the number called.
    Ring {
        /// The tenant.
        tenant: std::sync::Arc<ringfence_store::Tenant>,
        /// The extension the number is routed to.
        extension: ringfence_store::Extension,
        /// The number called (E.164), for the record.
        number: String,
        /// The caller's number as presented, for the record.
        caller: String,
    },
    /// Answer the caller `status` with `phrase` without ringing anyone (a blocked caller
    /// ID, a number nobody owns). With a tenant, the call is recorded for it with
    /// `reason`.
    Refuse {
        /// The number's tenant and extension, when the number is someone's.
        owner: Option<(std::sync::Arc<ringfence_store::Tenant>, ringfence_store::Extension)>,
        /// The number called.
        number: String,
        /// The caller's number as presented.
        caller: String,
        /// SIP status (403, 404, 433, 603).
        status: u16,
        /// Reason phrase.
        phrase: String,
        /// Why, for the record.
        reason: String,
    },
}
