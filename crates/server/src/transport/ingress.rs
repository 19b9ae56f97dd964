//! What happens to a message once framed: validation, RFC 3581 stamping, the guard's look
//! at each request, or an error response for a malformed request. Shared by the UDP and
//! stream receive paths.

use std::net::SocketAddr;

use ringfence_sip_types::{Message, ParseError};

use super::kind::{FlowId, TransportKind};
use super::stats::Stats;
use super::{Inbound, Shared, nat, salvage};

/// Where a message came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    pub(crate) kind: TransportKind,
    pub(crate) source: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) flow: FlowId,
}

/// What to do with a received message.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Hand it to the core.
    Deliver(Inbound),
    /// Send this error response back to the peer.
    Answer(Vec<u8>),
    /// Drop it (already counted).
    Dropped,
    /// The guard refused the request: drop it without an answer and, on a connection,
    /// close the connection (counted).
    Refused,
}

/// A message that parsed: check the headers every element needs, stamp the top Via.
pub(crate) fn on_message(shared: &Shared, origin: &Origin, mut message: Message) -> Outcome {
    if let Err(e) = message.check_required_headers() {
        return on_error(shared, origin, &message.to_bytes(), &e);
    }
    let is_request = if let Message::Request(req) = &mut message {
        nat::stamp_top_via(req, origin.source);
        true
    } else {
        false
    };
    let inbound = Inbound {
        kind: origin.kind,
        source: origin.source,
        local: origin.local,
        flow: origin.flow,
        message,
    };
    if is_request && !shared.guard.0.observe(&inbound) {
        Stats::inc(&shared.stats.guard_dropped);
        return Outcome::Refused;
    }
    Outcome::Deliver(inbound)
}

/// A message that did not parse: answer it if it is a request with enough headers left.
pub(crate) fn on_error(shared: &Shared, origin: &Origin, raw: &[u8], err: &ParseError) -> Outcome {
    let stats = &shared.stats;
    Stats::inc(&stats.parse_errors);
    match salvage::error_response(raw, err, &shared.config.limits) {
        Some(resp) => {
            Stats::inc(&stats.bad_requests_answered);
            tracing::debug!(
                "malformed request from {} over {}: {err}; answered",
                origin.source,
                origin.kind
            );
            Outcome::Answer(resp)
        }
        None => {
            Stats::inc(&stats.malformed_dropped);
            tracing::debug!(
                "malformed message from {} over {}: {err}; dropped",
                origin.source,
                origin.kind
            );
            Outcome::Dropped
        }
    }
}
