//! The seams other parts of Ringfence plug into the B2BUA through:
//!
//! - [`SdpRewriter`]: called on every SDP offer and answer relayed, in both directions.
//!   The media relay (RTP/SRTP anchoring) replaces the [`PassThrough`] default.
//! - [`CallGate`]: asked before a call's second leg is created: the egress policy and the
//!   fraud engine decide there. The default, [`InternalOnly`], allows calls between
//!   extensions of a tenant and refuses everything else.
//! - [`CallObserver`]: told when a call is answered and when it ends (with its record),
//!   for the fraud engine's running counters. [`crate::b2bua::B2buaHandle::end_call`]
//!   ends a call that has crossed a limit.

use std::fmt;
use std::time::SystemTime;

use ringfence_sip_proto::transaction::{Peer, Transport};
use ringfence_store::{
    CallingRestrictions, EncryptionRequirement, ExtensionId, NewCallRecord, Tenant, TenantId,
};

/// A call in progress, unique while the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call{}", self.0)
    }
}

/// A side of a call: the caller's leg (A) or the callee's (B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The leg to the caller, whose INVITE we received.
    Caller,
    /// The leg to the callee, whose device we sent the INVITE to.
    Callee,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Caller => Side::Callee,
            Side::Callee => Side::Caller,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Side::Caller => 0,
            Side::Callee => 1,
        }
    }
}

/// Offer or answer (RFC 3264).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    /// An offer: an INVITE or UPDATE body, or the body of a 2xx to an INVITE without one.
    Offer,
    /// An answer: the body of a response (or ACK) to an offer.
    Answer,
}

/// Where an SDP body is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdpContext {
    /// The call.
    pub call: CallRef,
    /// Its tenant.
    pub tenant: TenantId,
    /// The tenant's encryption requirement (applied per leg by the media relay).
    pub encryption: EncryptionRequirement,
    /// The side the body came from; it goes to the other one.
    pub from: Side,
    /// Offer or answer.
    pub kind: SdpKind,
    /// Transport of the leg it came from.
    pub from_transport: Transport,
    /// Transport of the leg it goes to.
    pub to_transport: Transport,
    /// The leg it goes to is one fork among several (the callee's devices, before one
    /// answers).
    pub fork: Option<usize>,
}

/// Why an SDP body cannot be relayed: the status to answer with and a Warning text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpRefusal {
    /// Status for the party that sent the body (typically 488).
    pub status: u16,
    /// Warning text (RFC 3261 §20.43).
    pub warning: String,
}

/// Rewrites SDP between the legs (media anchoring). Runs on the call's task: keep it
/// quick and non-blocking.
pub trait SdpRewriter: Send + Sync + 'static {
    /// The body to send on the other leg in place of `sdp`.
    ///
    /// # Errors
    /// An [`SdpRefusal`] when the body cannot be relayed (no media port, unacceptable
    /// offer); the B2BUA answers the sender with its status.
    fn rewrite(&self, ctx: &SdpContext, sdp: &[u8]) -> Result<Vec<u8>, SdpRefusal>;

    /// The call ended: release what was allocated for it.
    fn release(&self, call: CallRef) {
        let _ = call;
    }

    /// True when SDES keys (`a=crypto`) never cross from one leg to the other (the
    /// rewriter terminates SRTP per leg and writes keys only towards TLS legs). Then an
    /// offer carrying keys may also go to devices registered over plain transports.
    fn terminates_keys(&self) -> bool {
        false
    }
}

/// SDP goes through unchanged (media flows between the devices directly; `ringfence
/// serve` anchors it with [`crate::media_anchor::MediaAnchor`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl SdpRewriter for PassThrough {
    fn rewrite(&self, _ctx: &SdpContext, sdp: &[u8]) -> Result<Vec<u8>, SdpRefusal> {
        Ok(sdp.to_vec())
    }
}

/// How a call came to be placed (every way a call can leave goes through the gate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallOrigin {
    /// A device dialled it.
    DialledCall,
    /// Call forwarding.
    Forward,
    /// A transfer (REFER).
    Transfer,
    /// A call-back (voicemail and the like).
    CallBack,
}

/// Where a call is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destination<'a> {
    /// An extension of the caller's tenant.
    Extension {
        /// Its number.
        number: &'a str,
        /// Its id.
        id: ExtensionId,
    },
    /// Anything else, as dialled (the Request-URI's user part).
    External {
        /// The dialled string.
        dialled: &'a str,
    },
}

/// A call about to be placed, as the gate sees it.
#[derive(Debug, Clone, Copy)]
pub struct CallAttempt<'a> {
    /// The call.
    pub call: CallRef,
    /// The caller's tenant (with its settings: international calling, limits, ...).
    pub tenant: &'a Tenant,
    /// The calling extension's number.
    pub caller: &'a str,
    /// The calling extension.
    pub caller_id: ExtensionId,
    /// Where the call goes.
    pub destination: Destination<'a>,
    /// How it came about.
    pub origin: CallOrigin,
    /// Where the caller's request came from.
    pub source: Peer,
    /// The restrictions of the extension on whose behalf the call leaves (the caller for
    /// dialled calls, the forwarding extension for forwards, the transferring one for
    /// transfers).
    pub restrictions: &'a CallingRestrictions,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateDecision {
    /// Place the call.
    Allow,
    /// Refuse it with `status` (403, 503, ...); `reason` goes into the call record (and
    /// the logs), never to the caller.
    Deny {
        /// SIP status for the caller.
        status: u16,
        /// Why, for the record.
        reason: String,
    },
    /// Refuse it with `status` and the reason phrase `phrase` (which the caller sees, e.g.
    /// "Premium Rate Blocked"); `reason` goes into the call record.
    Refuse {
        /// SIP status for the caller.
        status: u16,
        /// SIP reason phrase for the caller.
        phrase: String,
        /// Why, for the record.
        reason: String,
    },
    /// Place the call to the phone network through a trunk.
    Route(crate::b2bua::route::ExternalRoute),
}

/// Decides whether a call may be placed: egress policy and fraud limits. Runs on the
/// call's task before the second leg exists: keep it quick (microseconds).
pub trait CallGate: Send + Sync + 'static {
    /// The decision for `attempt`.
    fn check(&self, attempt: &CallAttempt<'_>) -> GateDecision;

    /// For an INVITE from a trunk (known by `source`): where it goes, decided by the
    /// future (the number called, the tenant's caller-ID blocks). `None` for anything
    /// that is not from a trunk: it is authenticated as an extension's call.
    fn inbound<'a>(
        &'a self,
        invite: &'a ringfence_sip_types::Request,
        source: Peer,
    ) -> Option<crate::auth::BoxFuture<'a, crate::b2bua::route::InboundDecision>> {
        let _ = (invite, source);
        None
    }
}

/// Allows calls to extensions of the caller's tenant; refuses the rest with 403 (no route
/// to the phone network: `ringfence serve` uses [`crate::egress::EgressGate`] instead).
#[derive(Debug, Clone, Copy, Default)]
pub struct InternalOnly;

impl CallGate for InternalOnly {
    fn check(&self, attempt: &CallAttempt<'_>) -> GateDecision {
        match attempt.destination {
            Destination::Extension { .. } => GateDecision::Allow,
            Destination::External { .. } => GateDecision::Deny {
                status: 403,
                reason: "calls outside the tenant are not enabled".into(),
            },
        }
    }
}

/// A call as the observer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The call.
    pub call: CallRef,
    /// Its tenant.
    pub tenant: TenantId,
    /// The calling extension.
    pub caller_id: ExtensionId,
    /// The calling extension's number.
    pub caller: String,
    /// The called extension, when the destination is one.
    pub callee_id: Option<ExtensionId>,
    /// The destination as dialled.
    pub callee: String,
    /// When the call was answered, if it was.
    pub answered_at: Option<SystemTime>,
}

/// Hears about calls (the fraud engine's running counters). Runs on the call's task:
/// return quickly.
pub trait CallObserver: Send + Sync + 'static {
    /// The callee answered.
    fn call_answered(&self, info: &CallInfo) {
        let _ = info;
    }

    /// The call ended (or was refused after authentication); `record` is what is stored.
    fn call_ended(&self, info: &CallInfo, record: &NewCallRecord) {
        let _ = (info, record);
    }
}

/// Hears nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCallObserver;

impl CallObserver for NoCallObserver {}

#[cfg(test)]
mod tests {
    use super::*;
    use ringfence_store::{CountryCode, SipDomain, TenantSettings};

    #[test]
    fn internal_only_allows_extensions_and_refuses_the_rest() {
        let tenant = Tenant {
            id: TenantId::random(),
            name: "t".into(),
            domain: SipDomain::parse("t.example").unwrap(),
            settings: TenantSettings::new(CountryCode::parse("DE").unwrap()),
            overrides: Default::default(),
            created_at: ringfence_store::now(),
            updated_at: ringfence_store::now(),
        };
        let mut attempt = CallAttempt {
            call: CallRef(1),
            tenant: &tenant,
            caller: "100",
            caller_id: ExtensionId::random(),
            destination: Destination::Extension { number: "101", id: ExtensionId::random() },
            origin: CallOrigin::DialledCall,
            source: Peer::new("192.0.2.1:5060".parse().unwrap(), Transport::Udp),
            restrictions: &CallingRestrictions::default(),
        };
        assert_eq!(InternalOnly.check(&attempt), GateDecision::Allow);
        attempt.destination = Destination::External { dialled: "+4930123456" };
        assert!(matches!(InternalOnly.check(&attempt), GateDecision::Deny { status: 403, .. }));
    }

    #[test]
    fn pass_through_keeps_the_body() {
        let ctx = SdpContext {
            call: CallRef(7),
            tenant: TenantId::random(),
            encryption: EncryptionRequirement::Required,
            from: Side::Caller,
            kind: SdpKind::Offer,
            from_transport: Transport::Tls,
            to_transport: Transport::Tls,
            fork: Some(0),
        };
        assert_eq!(PassThrough.rewrite(&ctx, b"v=0\r\n").unwrap(), b"v=0\r\n");
        assert_eq!(Side::Caller.other(), Side::Callee);
        assert_eq!(CallRef(7).to_string(), "call7");
    }
}
