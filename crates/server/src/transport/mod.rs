//! SIP transports: UDP, TCP and TLS sockets in, parsed messages out (RFC 3261 §18).
//!
//! ```text
//! socket -> guard hook -> framing + parse (sip-types Limits) -> RFC 3581 Via stamp
//!        -> guard hook (each request) -> Inbound (bounded queue) -> core
//! core -> Outbound -> UDP socket | connection write queue (bounded) -> socket
//! ```
//!
//! * **Receiving.** UDP datagrams are parsed one per datagram; CRLF keep-alive datagrams
//!   are counted and ignored. Streams go through a
//!   [`StreamFramer`](ringfence_sip_types::StreamFramer): a CRLF CRLF ping is
//!   answered with a CRLF pong (RFC 5626 §3.5.1); partial input waits. Every message
//!   must carry Via, From, To, Call-ID and CSeq.
//! * **Malformed input.** A request that fails to parse is answered with
//!   `400 <reason>` (505 for another SIP version, 513 when too large) if its Via, From,
//!   To, Call-ID and CSeq lines can be recovered (RFC 3261 §8.2.6); anything else is
//!   dropped and counted. On a stream a framing error also closes that connection (it is
//!   out of sync); nothing else is affected.
//! * **NAT.** Requests get `received` and a filled `rport` on their top Via
//!   (RFC 3261 §18.2.1, RFC 3581 §4) before the core sees them.
//! * **Flows.** Every message names its [`FlowId`]. [`Outbound::response_to`] sends a
//!   response back over the connection the request came on (or from the UDP socket it
//!   arrived at, to the RFC 3581 address); requests to a contact registered behind NAT
//!   pass the flow recorded at registration. A flow that has closed is reported as
//!   [`TransportError::FlowGone`]: the core decides whether to open a new connection
//!   (send again with `flow: None`) or fail the request (RFC 5626 §5.3). With
//!   `flow: None` an existing connection to the destination is reused, else one is
//!   opened (TCP, or TLS verified against the identity registered for the destination
//!   with [`Transports::set_tls_peer`] — a trunk's domain and its trust anchors — or
//!   else against the destination IP address).
//! * **Connect failures.** A message queued on a connection still opening is sent once
//!   it opens; when the opening fails (refused, unreachable, timed out, TLS handshake
//!   failed, e.g. a certificate that does not verify) nothing queued is sent, and
//!   [`Transports::send_tracked`] hands out a [`Connecting`] that says so at once, so the
//!   transaction can end as RFC 3261 §8.1.3.1 says (a transport error, treated as 503)
//!   instead of waiting for Timer B/F.
//! * **Limits.** Global and per-IP connection caps, TLS handshake and idle timeouts,
//!   a bounded inbound queue (UDP drops when full; streams stop reading: backpressure),
//!   a bounded per-connection write queue (a peer that does not read is disconnected).
//! * **Guard.** [`Guard::allow`] sees every datagram and accepted connection before a
//!   byte is parsed, [`Guard::observe`] every parsed request (a refused request on a
//!   connection closes it), [`Guard::connection_closed`] every connection that ends.
//! * **Shutdown.** When the shutdown token fires, listeners close, connections stop
//!   reading, flush their queued writes (bounded by `shutdown_flush_timeout`) and close;
//!   [`Transports::closed`] resolves when every task has finished, and the inbound
//!   receiver then yields `None`.

mod config;
mod conn;
mod error;
mod guard;
mod ingress;
mod kind;
mod nat;
mod salvage;
mod sink;
mod stats;
mod stream;
mod table;
pub mod tls;
mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use bytes::Bytes;
use ringfence_sip_types::Message;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::TransportConfig;
pub use error::TransportError;
pub use guard::{AllowAll, Guard};
pub use kind::{FlowId, TransportKind};
pub use sink::shard_of;
pub use stats::TransportStats;

use guard::DynGuard;
use sink::InboundSink;
use stats::Stats;
use table::{ConnTable, ConnectState};
use tls::TlsPeer;

/// A message received from the network, for the core.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// Transport it arrived on.
    pub kind: TransportKind,
    /// The peer's address (after NAT: what the packets came from).
    pub source: SocketAddr,
    /// Our address it arrived at.
    pub local: SocketAddr,
    /// The flow (UDP socket or connection) it arrived on.
    pub flow: FlowId,
    /// The message. A request's top Via carries `received`/`rport` as RFC 3581 wants.
    pub message: Message,
}

impl Inbound {
    /// Where a response to this request goes (RFC 3261 §18.2.2, RFC 3581 §4): the
    /// source address over reliable transports (the same connection); over UDP the
    /// `received` address and the `rport` port, or the sent-by port if the client did not
    /// ask for `rport`.
    pub fn response_target(&self) -> SocketAddr {
        if self.kind.is_reliable() {
            return self.source;
        }
        match self.message.headers().via_top() {
            Ok(top) => nat::udp_response_target(&top, self.source),
            Err(_) => self.source,
        }
    }
}

/// A message for the network, from the core.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Transport to use.
    pub kind: TransportKind,
    /// Destination. Ignored for a connection named by `flow` (its peer is the destination).
    pub dest: SocketAddr,
    /// Send over this flow: a connection (which must still be open), or for UDP the
    /// local socket to send from. `None`: any UDP socket of the right address family, or
    /// an existing connection to `dest`, or a new one.
    pub flow: Option<FlowId>,
    /// The wire form of the message.
    pub bytes: Bytes,
}

impl Outbound {
    /// A message to `dest` over `kind`, reusing or opening a connection as needed.
    pub fn new(kind: TransportKind, dest: SocketAddr, bytes: impl Into<Bytes>) -> Outbound {
        Outbound { kind, dest, flow: None, bytes: bytes.into() }
    }

    /// The response to `request`: over the same flow, to
    /// [`Inbound::response_target`].
    pub fn response_to(request: &Inbound, bytes: impl Into<Bytes>) -> Outbound {
        Outbound {
            kind: request.kind,
            dest: request.response_target(),
            flow: Some(request.flow),
            bytes: bytes.into(),
        }
    }

    /// Sends over `flow` (e.g. the flow a contact registered over, RFC 5626).
    pub fn on_flow(mut self, flow: FlowId) -> Outbound {
        self.flow = Some(flow);
        self
    }
}

/// A message handed to the transports: the flow it went on, and whether that flow is a
/// connection still opening.
#[derive(Debug)]
pub struct Sent {
    /// The flow (UDP socket or connection).
    pub flow: FlowId,
    /// Set when the message waits in the queue of a connection still opening.
    pub connecting: Option<Connecting>,
}

/// A connection being opened, with a message of ours queued on it.
#[derive(Debug, Clone)]
pub struct Connecting(watch::Receiver<ConnectState>);

impl Connecting {
    /// Waits until the connection is open (`None`) or failed to open: then why (nothing
    /// queued on it was sent).
    pub async fn failure(mut self) -> Option<String> {
        let outcome = self.0.wait_for(|s| *s != ConnectState::Connecting).await;
        match outcome.as_deref() {
            Ok(ConnectState::Failed(why)) => Some(why.to_string()),
            Ok(_) => None,
            // Abandoned while opening (shutdown).
            Err(_) => Some("connection abandoned".into()),
        }
    }
}

/// One bound UDP address: its sockets (several with `SO_REUSEPORT`) share one flow id.
#[derive(Debug)]
struct UdpGroup {
    flow: FlowId,
    local: SocketAddr,
    sockets: Vec<Arc<tokio::net::UdpSocket>>,
}

/// State shared by the handle and every transport task.
#[derive(Debug)]
struct Shared {
    config: TransportConfig,
    stats: Stats,
    guard: DynGuard,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    runtime: tokio::runtime::Handle,
    table: Mutex<ConnTable>,
    udp: RwLock<Vec<UdpGroup>>,
    next_flow: AtomicU64,
    tls_client: Option<Arc<rustls::ClientConfig>>,
    /// The identity new TLS connections to an address must prove.
    tls_peers: RwLock<HashMap<SocketAddr, TlsPeer>>,
    inbound: Mutex<Option<InboundSink>>,
    locals: Vec<(TransportKind, SocketAddr)>,
}

impl Shared {
    fn new_flow(&self) -> FlowId {
        FlowId(self.next_flow.fetch_add(1, Ordering::Relaxed))
    }

    fn table(&self) -> MutexGuard<'_, ConnTable> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Configures and binds the transports; see [`Transports::builder`].
#[derive(Debug)]
pub struct TransportsBuilder {
    config: TransportConfig,
    tls_server: Option<Arc<rustls::ServerConfig>>,
    tls_client: Option<Arc<rustls::ClientConfig>>,
    guard: DynGuard,
}

impl TransportsBuilder {
    /// The TLS server configuration, required when `config.tls` lists addresses
    /// (see [`tls::server_config`]).
    pub fn tls_server(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls_server = Some(config);
        self
    }

    /// The TLS client configuration for outgoing TLS connections (see
    /// [`tls::client_config`]). Without it, sending over TLS needs an open connection.
    pub fn tls_client(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls_client = Some(config);
        self
    }

    /// The hook asked before parsing each datagram and before accepting each connection.
    /// Default: [`AllowAll`].
    pub fn guard(mut self, guard: impl Guard) -> Self {
        self.guard = DynGuard(Box::new(guard));
        self
    }

    /// Binds every configured listener and starts the receive tasks. Returns the handle
    /// and the receiver of inbound messages (capacity `config.inbound_queue`). The
    /// tasks stop when `shutdown` is cancelled.
    pub async fn bind(
        self,
        shutdown: CancellationToken,
    ) -> Result<(Transports, mpsc::Receiver<Inbound>), TransportError> {
        let (transports, mut queues) = self.bind_sharded(shutdown, 1).await?;
        let rx = queues.pop().expect("one queue per shard");
        Ok((transports, rx))
    }

    /// Like [`TransportsBuilder::bind`], with one inbound queue per core shard (each of
    /// capacity `config.inbound_queue`): a message goes to queue
    /// [`shard_of`]`(its Call-ID, shards)`.
    pub async fn bind_sharded(
        self,
        shutdown: CancellationToken,
        shards: usize,
    ) -> Result<(Transports, Vec<mpsc::Receiver<Inbound>>), TransportError> {
        let config = self.config;
        config.validate()?;
        if !config.tls.is_empty() && self.tls_server.is_none() {
            return Err(TransportError::TlsNotConfigured);
        }
        let bind_err = |kind, addr| move |source| TransportError::Bind { kind, addr, source };
        let mut udp_bound = Vec::new();
        for &addr in &config.udp {
            let sockets = udp::bind(addr, config.udp_sockets_per_addr, config.udp_buffer_bytes)
                .map_err(bind_err(TransportKind::Udp, addr))?;
            udp_bound.push(sockets);
        }
        let mut listeners = Vec::new();
        for (kind, addrs) in [(TransportKind::Tcp, &config.tcp), (TransportKind::Tls, &config.tls)]
        {
            for &addr in addrs {
                let l = stream::bind_listener(addr).map_err(bind_err(kind, addr))?;
                let local = l.local_addr().map_err(bind_err(kind, addr))?;
                listeners.push((kind, local, l));
            }
        }

        let (tx, rx) = InboundSink::new(shards, config.inbound_queue);
        let next_flow = AtomicU64::new(1);
        let mut groups = Vec::new();
        let mut locals = Vec::new();
        for sockets in udp_bound {
            let local = sockets[0].local_addr().map_err(|e| TransportError::Bind {
                kind: TransportKind::Udp,
                addr: SocketAddr::from(([0, 0, 0, 0], 0)),
                source: e,
            })?;
            let flow = FlowId(next_flow.fetch_add(1, Ordering::Relaxed));
            locals.push((TransportKind::Udp, local));
            groups.push(UdpGroup {
                flow,
                local,
                sockets: sockets.into_iter().map(Arc::new).collect(),
            });
        }
        locals.extend(listeners.iter().map(|(k, a, _)| (*k, *a)));

        let shared = Arc::new(Shared {
            stats: Stats::default(),
            guard: self.guard,
            shutdown: shutdown.clone(),
            tracker: TaskTracker::new(),
            runtime: tokio::runtime::Handle::current(),
            table: Mutex::new(ConnTable::default()),
            udp: RwLock::new(Vec::new()),
            next_flow,
            tls_client: self.tls_client,
            tls_peers: RwLock::new(HashMap::new()),
            inbound: Mutex::new(Some(tx.clone())),
            locals,
            config,
        });

        for g in &groups {
            for socket in &g.sockets {
                let task =
                    udp::recv_loop(shared.clone(), socket.clone(), g.local, g.flow, tx.clone());
                shared.tracker.spawn(task);
            }
            tracing::info!("SIP listening on udp {}", g.local);
        }
        *shared.udp.write().unwrap_or_else(PoisonError::into_inner) = groups;
        for (kind, local, listener) in listeners {
            let acceptor = match kind {
                TransportKind::Tls => self.tls_server.clone().map(tokio_rustls::TlsAcceptor::from),
                _ => None,
            };
            let task =
                stream::accept_loop(shared.clone(), listener, kind, local, acceptor, tx.clone());
            shared.tracker.spawn(task);
            tracing::info!("SIP listening on {kind} {local}");
        }
        drop(tx);
        let closer = shared.clone();
        shared.tracker.spawn(async move {
            closer.shutdown.cancelled().await;
            closer.udp.write().unwrap_or_else(PoisonError::into_inner).clear();
            closer.inbound.lock().unwrap_or_else(PoisonError::into_inner).take();
        });
        shared.tracker.close();
        Ok((Transports { shared }, rx))
    }
}

/// Handle to the running transports. Cheap to clone; every clone sends through the same
/// sockets and connections.
#[derive(Debug, Clone)]
pub struct Transports {
    shared: Arc<Shared>,
}

impl Transports {
    /// Starts configuring transports with `config`.
    pub fn builder(config: TransportConfig) -> TransportsBuilder {
        TransportsBuilder {
            config,
            tls_server: None,
            tls_client: None,
            guard: DynGuard(Box::new(AllowAll)),
        }
    }

    /// Every bound listener with its actual address (ports chosen by the system for
    /// `:0` are filled in), in configuration order: UDP, TCP, TLS.
    pub fn local_addrs(&self) -> Vec<(TransportKind, SocketAddr)> {
        self.shared.locals.clone()
    }

    /// The first bound address of `kind`, if any.
    pub fn local_addr(&self, kind: TransportKind) -> Option<SocketAddr> {
        self.shared.locals.iter().find(|(k, _)| *k == kind).map(|(_, a)| *a)
    }

    /// Sends a message without waiting. Over UDP the datagram is handed to the socket;
    /// over TCP/TLS it is queued on the connection (opening one first if needed: the
    /// returned flow is then the new connection, and a failure to connect is counted in
    /// [`TransportStats::connect_failures`]; [`Transports::send_tracked`] reports it).
    pub fn send(&self, out: Outbound) -> Result<FlowId, TransportError> {
        self.send_tracked(out).map(|s| s.flow)
    }

    /// [`Transports::send`], also telling when the message waits on a connection still
    /// opening ([`Sent::connecting`]), whose failure to open the caller can then learn.
    pub fn send_tracked(&self, out: Outbound) -> Result<Sent, TransportError> {
        let s = &self.shared;
        let result = if s.shutdown.is_cancelled() {
            Err(TransportError::ShuttingDown)
        } else if out.kind == TransportKind::Udp {
            udp::send(s, out).map(|flow| Sent { flow, connecting: None })
        } else {
            stream::send(s, out)
        };
        match &result {
            Ok(_) => Stats::inc(&s.stats.sent),
            Err(e) => {
                Stats::inc(&s.stats.send_failures);
                tracing::debug!("send failed: {e}");
            }
        }
        result
    }

    /// New TLS connections to `dest` (sent to with no flow named) must prove `peer`'s
    /// identity: a certificate for its name under its trust anchors. Existing connections
    /// to `dest` are reused only if they proved the same name. Replaces what was set for
    /// `dest` before.
    pub fn set_tls_peer(&self, dest: SocketAddr, peer: TlsPeer) {
        let s = &self.shared;
        if s.tls_peers.read().unwrap_or_else(PoisonError::into_inner).get(&dest) == Some(&peer) {
            return;
        }
        s.tls_peers.write().unwrap_or_else(PoisonError::into_inner).insert(dest, peer);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> TransportStats {
        self.shared.stats.snapshot()
    }

    /// Resolves when shutdown has completed: listeners closed, connections flushed and
    /// closed, every task finished.
    pub async fn closed(&self) {
        self.shared.tracker.wait().await;
    }
}
