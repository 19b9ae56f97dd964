//! The transport layer's error type.

use std::io;
use std::net::SocketAddr;

use super::kind::{FlowId, TransportKind};

/// What went wrong in the transport layer, and whose fault it is.
///
/// * Operator (configuration, environment): [`Bind`](Self::Bind), [`Config`](Self::Config),
///   [`TlsNotConfigured`](Self::TlsNotConfigured), [`Tls`](Self::Tls).
/// * Caller (the core asked for something impossible): [`FlowKindMismatch`](Self::FlowKindMismatch),
///   [`NoSocket`](Self::NoSocket), [`CannotConnect`](Self::CannotConnect),
///   [`ShuttingDown`](Self::ShuttingDown).
/// * Peer or network: [`FlowGone`](Self::FlowGone), [`QueueFull`](Self::QueueFull),
///   [`ConnectionLimit`](Self::ConnectionLimit), [`Io`](Self::Io).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A listener could not be bound (address in use, no permission, no such address).
    #[error("cannot bind {kind} listener on {addr}: {source}")]
    Bind {
        /// Transport of the listener.
        kind: TransportKind,
        /// Configured address.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid transport configuration: {0}")]
    Config(&'static str),
    /// TLS listeners are configured but no TLS server configuration was supplied.
    #[error("TLS listeners are configured but no TLS certificate was supplied")]
    TlsNotConfigured,
    /// Certificate or key material is unusable.
    #[error("invalid TLS material: {0}")]
    Tls(String),
    /// The flow named in an [`super::Outbound`] has closed (the peer disconnected, or it
    /// timed out). The caller decides: a response may be retried with `flow: None` (open
    /// a new connection, RFC 3261 §18.2.2); a request to a contact behind NAT fails
    /// (RFC 5626 §5.3: 430 Flow Failed).
    #[error("{0} has closed")]
    FlowGone(FlowId),
    /// The flow exists but belongs to another transport than the one requested.
    #[error("{flow} is a {actual} flow, not {requested}")]
    FlowKindMismatch {
        /// The flow named.
        flow: FlowId,
        /// Its transport.
        actual: TransportKind,
        /// The transport the caller asked for.
        requested: TransportKind,
    },
    /// No local socket of the requested transport matches the destination's address family.
    #[error("no {kind} socket can reach {dest}")]
    NoSocket {
        /// Transport requested.
        kind: TransportKind,
        /// Destination.
        dest: SocketAddr,
    },
    /// This process cannot open connections of this kind (WebSocket clients connect to
    /// us; TLS needs a client configuration).
    #[error("cannot open outgoing {0} connections")]
    CannotConnect(TransportKind),
    /// The connection's write queue was full: the peer does not read, so the connection
    /// was closed and the message dropped.
    #[error("write queue of {0} is full; the slow peer was disconnected")]
    QueueFull(FlowId),
    /// No connection slot is free for a new outgoing connection.
    #[error("connection limit reached")]
    ConnectionLimit,
    /// The operating system refused a datagram (for example a full send buffer).
    #[error("send to {dest} failed: {source}")]
    Io {
        /// Destination.
        dest: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Shutdown has begun; nothing more is sent.
    #[error("transports are shutting down")]
    ShuttingDown,
}
