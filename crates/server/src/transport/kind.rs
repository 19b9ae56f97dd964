//! Transport kinds and flow identifiers.
//!
//! ```text
//! transport  =  "UDP" / "TCP" / "TLS" / "SCTP" / other-transport   ; RFC 3261 §20.42
//! transport  =/ "WS" / "WSS"                                       ; RFC 7118 §5.1
//! ```

use std::fmt;

/// The transport a message arrived on or is to be sent over.
///
/// `Ws` and `Wss` (RFC 7118) exist so the core can name them in Via headers and routing;
/// WebSocket connections are only ever opened by clients, so [`super::Transports::send`]
/// can reuse but never open them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// SIP over UDP (RFC 3261 §18).
    Udp,
    /// SIP over TCP (RFC 3261 §18).
    Tcp,
    /// SIP over TLS over TCP (RFC 3261 §26.2, RFC 5630).
    Tls,
    /// SIP over WebSocket (RFC 7118).
    Ws,
    /// SIP over secure WebSocket (RFC 7118).
    Wss,
}

impl TransportKind {
    /// Every kind, in declaration order.
    pub const ALL: [TransportKind; 5] = [
        TransportKind::Udp,
        TransportKind::Tcp,
        TransportKind::Tls,
        TransportKind::Ws,
        TransportKind::Wss,
    ];

    /// True for connection-oriented transports (everything but UDP): no retransmissions
    /// by the transaction layer (RFC 3261 §17.1.1.2), responses over the same connection.
    pub fn is_reliable(self) -> bool {
        self != TransportKind::Udp
    }

    /// True when the transport is encrypted (TLS, WSS).
    pub fn is_secure(self) -> bool {
        matches!(self, TransportKind::Tls | TransportKind::Wss)
    }

    /// The token in a Via header's sent-protocol, e.g. `UDP` in `SIP/2.0/UDP`.
    pub fn via_token(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
            TransportKind::Ws => "WS",
            TransportKind::Wss => "WSS",
        }
    }

    /// Parses a Via transport token or a URI `transport` parameter (case-insensitive).
    pub fn from_token(token: &str) -> Option<TransportKind> {
        TransportKind::ALL.into_iter().find(|k| k.via_token().eq_ignore_ascii_case(token))
    }

    /// Lower-case name, as used in logs and configuration (`udp`, `tls`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Udp => "udp",
            TransportKind::Tcp => "tcp",
            TransportKind::Tls => "tls",
            TransportKind::Ws => "ws",
            TransportKind::Wss => "wss",
        }
    }

    /// The port a sent-by without port implies (RFC 3261 §18.2.2, §19.1.2; RFC 7118 §5.2).
    pub fn default_port(self) -> u16 {
        match self {
            TransportKind::Udp | TransportKind::Tcp => 5060,
            TransportKind::Tls => 5061,
            TransportKind::Ws => 80,
            TransportKind::Wss => 443,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies a flow (RFC 5626 §3.1): one local UDP socket, or one TCP/TLS connection.
///
/// Every [`super::Inbound`] names the flow it arrived on. Passing it back in an
/// [`super::Outbound`] sends over the same connection (responses, and requests to a
/// contact registered behind NAT) or from the same UDP socket (symmetric response
/// routing, RFC 3581 §4). Ids are never reused while the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub(crate) u64);

impl FlowId {
    /// The numeric id (for logs and metrics).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flow {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for k in TransportKind::ALL {
            assert_eq!(TransportKind::from_token(k.via_token()), Some(k));
            assert_eq!(TransportKind::from_token(k.as_str()), Some(k));
        }
        assert_eq!(TransportKind::from_token("SCTP"), None);
        assert!(!TransportKind::Udp.is_reliable() && TransportKind::Tcp.is_reliable());
        assert!(TransportKind::Tls.is_secure() && !TransportKind::Ws.is_secure());
        assert_eq!(TransportKind::Tls.default_port(), 5061);
        assert_eq!(TransportKind::Udp.to_string(), "udp");
    }
}
