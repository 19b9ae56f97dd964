//! The boundary between the transports and the transaction layer.
//!
//! The transports name transports with [`TransportKind`] and flows with their own
//! [`transport::FlowId`](crate::transport::FlowId); the sans-IO layer and the store use
//! their own enums. All list the same five transports, and a flow is the same number on
//! both sides.

use ringfence_sip_proto::transaction::{FlowId, Transport};

use crate::transport::{self, TransportKind};

/// The layer's name for a transport kind.
pub fn to_proto(kind: TransportKind) -> Transport {
    match kind {
        TransportKind::Udp => Transport::Udp,
        TransportKind::Tcp => Transport::Tcp,
        TransportKind::Tls => Transport::Tls,
        TransportKind::Ws => Transport::Ws,
        TransportKind::Wss => Transport::Wss,
    }
}

/// The transports' name for a layer transport.
pub fn to_kind(transport: Transport) -> TransportKind {
    match transport {
        Transport::Udp => TransportKind::Udp,
        Transport::Tcp => TransportKind::Tcp,
        Transport::Tls => TransportKind::Tls,
        Transport::Ws => TransportKind::Ws,
        // `Transport` is non-exhaustive; everything else is secure WebSocket today.
        _ => TransportKind::Wss,
    }
}

/// The store's name for a layer transport.
pub fn to_store(transport: Transport) -> ringfence_store::Transport {
    use ringfence_store::Transport as S;
    match transport {
        Transport::Udp => S::Udp,
        Transport::Tcp => S::Tcp,
        Transport::Tls => S::Tls,
        Transport::Ws => S::Ws,
        _ => S::Wss,
    }
}

/// The layer's name for a stored transport.
pub fn from_store(transport: ringfence_store::Transport) -> Transport {
    use ringfence_store::Transport as S;
    match transport {
        S::Udp => Transport::Udp,
        S::Tcp => Transport::Tcp,
        S::Tls => Transport::Tls,
        S::Ws => Transport::Ws,
        S::Wss => Transport::Wss,
    }
}

/// The layer's flow id for a transport flow (same number).
pub fn flow_to_proto(flow: transport::FlowId) -> FlowId {
    FlowId(flow.get())
}

/// The transport flow behind a layer flow id. Flow ids are never reused while the
/// process runs, so the number names the same flow (or one that has closed, which the
/// transports report as [`crate::transport::TransportError::FlowGone`]).
pub fn flow_to_transport(flow: FlowId) -> transport::FlowId {
    transport::FlowId(flow.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_round_trip() {
        for k in TransportKind::ALL {
            assert_eq!(to_kind(to_proto(k)), k);
            assert_eq!(from_store(to_store(to_proto(k))), to_proto(k));
            assert_eq!(to_proto(k).as_via_str(), k.via_token());
        }
        let f = transport::FlowId(42);
        assert_eq!(flow_to_transport(flow_to_proto(f)), f);
    }
}
