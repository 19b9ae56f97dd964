//! Values the transaction layer exchanges with its driver and its TU.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use ringfence_sip_types::{Request, Response};

/// The transport a message travels on (RFC 3261 §18, RFC 7118 for WebSocket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// UDP: unreliable, so the transaction layer retransmits.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// True for every transport but UDP: Timers A, E and G are not used and
    /// D, I, J and K are zero (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// True for TLS and WSS (the `secure` flag of a dialog, RFC 3261 §12.1).
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    /// The token used in a Via header (`UDP`, `TCP`, `TLS`, `WS`, `WSS`).
    pub fn as_via_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Parses a Via transport token (case-insensitive).
    pub fn from_via_str(s: &str) -> Option<Transport> {
        [Transport::Udp, Transport::Tcp, Transport::Tls, Transport::Ws, Transport::Wss]
            .into_iter()
            .find(|t| t.as_via_str().eq_ignore_ascii_case(s))
    }

    /// The port a Via sent-by without port implies (RFC 3261 §18.2.2: 5060, or 5061 for
    /// TLS; RFC 7118 WebSocket uses the HTTP ports).
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => 5060,
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_via_str())
    }
}

/// An opaque connection (or local socket) id chosen by the driver, so that responses and
/// requests can reuse a TCP/TLS/WebSocket connection (RFC 3261 §18.2.2, RFC 5626).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

/// Where a message came from or goes to.
///
/// For an outgoing message on a reliable transport the driver uses `flow` when that
/// connection is still open and otherwise opens a new connection to `addr`
/// (RFC 3261 §18.2.2). On UDP `flow` may name the local socket to send from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Remote address.
    pub addr: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// The connection or flow, if the driver tracks one.
    pub flow: Option<FlowId>,
}

impl Peer {
    /// A peer with no flow.
    pub fn new(addr: SocketAddr, transport: Transport) -> Peer {
        Peer { addr, transport, flow: None }
    }

    /// The same peer on a given flow.
    pub fn with_flow(mut self, flow: FlowId) -> Peer {
        self.flow = Some(flow);
        self
    }
}

/// A transaction's id within one [`crate::transaction::TransactionLayer`]; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub(crate) u64);

impl TxId {
    /// The number behind the id (for logs and maps).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// The four transaction kinds of RFC 3261 §17.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// §17.1.1, figure 5 (with the RFC 6026 Accepted state).
    ClientInvite,
    /// §17.1.2, figure 6.
    ClientNonInvite,
    /// §17.2.1, figure 7 (with the RFC 6026 Accepted state).
    ServerInvite,
    /// §17.2.2, figure 8.
    ServerNonInvite,
}

impl TxKind {
    /// True for client transactions.
    pub fn is_client(self) -> bool {
        matches!(self, TxKind::ClientInvite | TxKind::ClientNonInvite)
    }
}

impl fmt::Display for TxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TxKind::ClientInvite => "client INVITE",
            TxKind::ClientNonInvite => "client non-INVITE",
            TxKind::ServerInvite => "server INVITE",
            TxKind::ServerNonInvite => "server non-INVITE",
        })
    }
}

/// Transaction states of RFC 3261 §17 and RFC 6026 (each kind uses a subset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxState {
    /// Client INVITE: request sent, nothing received.
    Calling,
    /// Client or server non-INVITE: request sent or received, no response yet.
    Trying,
    /// A provisional response was received or sent.
    Proceeding,
    /// RFC 6026: a 2xx to an INVITE was received or sent.
    Accepted,
    /// A non-2xx final response was received or sent (non-INVITE: any final).
    Completed,
    /// Server INVITE: the ACK for a non-2xx final arrived.
    Confirmed,
    /// Done; the layer removes the transaction.
    Terminated,
}

/// A message for the driver to put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub dest: Peer,
    /// The message in wire form.
    pub bytes: Bytes,
    /// The transaction that sent it (`None` for stateless sends). A send failure should be
    /// reported with [`crate::transaction::TransactionLayer::handle_transport_error`].
    pub tx: Option<TxId>,
    /// True when this repeats a message sent before (timer-driven retransmission, a
    /// response resent for a retransmitted request, an ACK resent for a repeated final
    /// response, or a 2xx the TU resends).
    pub retransmission: bool,
}

/// What the transaction layer tells its TU (transaction user: UA core, registrar, B2BUA).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new request created server transaction `tx`; answer it with
    /// [`crate::transaction::TransactionLayer::respond`]. The top Via already carries
    /// `received`/`rport` (RFC 3261 §18.2.1, RFC 3581), so responses built with
    /// `Response::from_request` route correctly.
    Request {
        /// The server transaction.
        tx: TxId,
        /// The request.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// A response for client transaction `tx`: every provisional, the final, and for an
    /// INVITE every further 2xx (retransmissions and other forks) while in Accepted.
    Response {
        /// The client transaction.
        tx: TxId,
        /// The response.
        response: Response,
    },
    /// An ACK the TU must see: the ACK for a 2xx (RFC 3261 §17.2.3 puts it outside the
    /// INVITE transaction). `tx` is the INVITE server transaction in Accepted when the
    /// ACK matched one (RFC 6026 §7.1), otherwise `None`: match it to a dialog.
    Ack {
        /// The INVITE server transaction in Accepted, if it matched one.
        tx: Option<TxId>,
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// A CANCEL matched INVITE server transaction `invite_tx`, which has not sent a
    /// final response. The layer already answered the CANCEL with 200 (RFC 3261 §9.2);
    /// the TU should answer the INVITE with 487 (Request Terminated).
    Cancel {
        /// The INVITE server transaction being cancelled.
        invite_tx: TxId,
        /// The CANCEL request.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// A 2xx to an INVITE that matched no client transaction: a 2xx retransmission or a
    /// 2xx from another fork after the INVITE transaction ended (Timer M). The UA core
    /// ACKs it (and sends BYE if it does not want that dialog). Other responses that
    /// match no transaction are dropped and counted in [`Stats::stray_responses`]
    /// (RFC 3261 §18.1.2): no TU could act on them, and passing them up would let any
    /// peer make the TU do work.
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: Peer,
    },
    /// The transaction timed out: Timer B or F for a client (treat as 408, RFC 3261
    /// §8.1.3.1), the wait after a CANCEL (§9.1) for a client INVITE, Timer H for a
    /// server INVITE (the ACK never came), or a server non-INVITE transaction the TU
    /// never answered.
    Timeout {
        /// The transaction.
        tx: TxId,
    },
    /// The driver reported a transport failure for this transaction (RFC 3261 §17.1.4,
    /// §17.2.4); it is terminated. A client treats it as 503 (§8.1.3.1).
    TransportError {
        /// The transaction.
        tx: TxId,
    },
    /// The transaction ended and was removed; its id will not be seen again.
    Terminated {
        /// The transaction.
        tx: TxId,
        /// Its kind.
        kind: TxKind,
    },
}

/// What happens to a new request when the number of live server transactions is at
/// [`crate::transaction::Config::max_server_transactions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverloadPolicy {
    /// Answer statelessly with `503 Service Unavailable` and `Retry-After` (seconds);
    /// no transaction is created, so a retransmission is answered again.
    Reject {
        /// The Retry-After value in seconds.
        retry_after: u32,
    },
    /// Drop the request silently (the client retransmits and eventually times out).
    Drop,
}

/// Counters for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Client transactions started.
    pub client_started: u64,
    /// Server transactions created.
    pub server_created: u64,
    /// Messages sent again (see [`Transmit::retransmission`]).
    pub retransmissions: u64,
    /// Incoming request retransmissions absorbed by a server transaction.
    pub request_retransmissions_absorbed: u64,
    /// Incoming responses absorbed by a client transaction (not passed up).
    pub responses_absorbed: u64,
    /// Requests answered 482 because they were merged (RFC 3261 §8.2.2.2).
    pub merged_rejected: u64,
    /// Requests answered 503 or dropped by the overload policy.
    pub overload_rejected: u64,
    /// CANCELs answered 481 because they matched no transaction.
    pub cancel_unmatched: u64,
    /// Responses that matched no client transaction.
    pub stray_responses: u64,
    /// Messages dropped because a header the layer needs was missing or broken.
    pub malformed_dropped: u64,
    /// Transactions that ended in a timeout.
    pub timeouts: u64,
}
