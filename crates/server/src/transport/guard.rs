//! The seam where the perimeter guard plugs in, ahead of any parsing.

use std::fmt;
use std::net::SocketAddr;

use super::Inbound;
use super::kind::{FlowId, TransportKind};

/// Decides, before a byte is parsed, whether a source may talk to us at all; looks at each
/// request once it is parsed; hears when a connection closes.
///
/// [`Guard::allow`] is called for every UDP datagram (keep-alives included) and for every
/// accepted TCP/TLS connection (before the TLS handshake). It runs on the receive path of
/// every packet, so it must be cheap and must not block. A closure
/// `Fn(SocketAddr, TransportKind) -> bool` is a guard that only implements `allow`.
pub trait Guard: Send + Sync + 'static {
    /// True to accept the datagram or connection from `source`; false drops it silently.
    fn allow(&self, source: SocketAddr, kind: TransportKind) -> bool;

    /// A request parsed and stamped (RFC 3581), before it is queued for the core. False
    /// drops it without an answer; on a connection, the connection is closed too.
    fn observe(&self, request: &Inbound) -> bool {
        let _ = request;
        true
    }

    /// A TCP/TLS connection (accepted or opened by us) to `remote` has closed.
    fn connection_closed(&self, kind: TransportKind, remote: SocketAddr, flow: FlowId) {
        let _ = (kind, remote, flow);
    }
}

impl<F> Guard for F
where
    F: Fn(SocketAddr, TransportKind) -> bool + Send + Sync + 'static,
{
    fn allow(&self, source: SocketAddr, kind: TransportKind) -> bool {
        self(source, kind)
    }
}

/// The default guard: allows everyone.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Guard for AllowAll {
    fn allow(&self, _source: SocketAddr, _kind: TransportKind) -> bool {
        true
    }
}

/// Wrapper so that the shared state can derive `Debug`.
pub(crate) struct DynGuard(pub(crate) Box<dyn Guard>);

impl fmt::Debug for DynGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Guard")
    }
}
