//! SIP over TCP and TLS (RFC 3261 §18, §26.2): listeners, connection admission, and
//! sending over existing or new connections.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::sync::CancellationToken;

use super::conn::{self, ConnParts};
use super::error::TransportError;
use super::ingress::Origin;
use super::kind::{FlowId, TransportKind};
use super::sink::InboundSink;
use super::stats::Stats;
use super::table::{ConnInfo, ConnTable, ConnectState, Lookup, PushError, WriteQueue};
use super::{Connecting, Outbound, Sent, Shared};

/// Pending connections the kernel may queue for `accept`.
const BACKLOG: i32 = 1024;

/// Pause after a failed `accept` (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Binds a listening socket. IPv6 sockets are IPv6-only; `SO_REUSEADDR` lets a
/// restarted server bind while old connections linger in TIME_WAIT.
pub(crate) fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    #[cfg(unix)]
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    TcpListener::from_std(s.into())
}

/// A reserved connection slot. Dropping it releases the slot and forgets the flow.
#[derive(Debug)]
pub(crate) struct Slot {
    shared: Arc<Shared>,
    ip: IpAddr,
    inbound: bool,
    flow: Option<FlowId>,
}

impl Slot {
    /// Reserves a slot for a connection accepted from `ip`, if the caps allow.
    fn admit_inbound(shared: &Arc<Shared>, ip: IpAddr) -> Option<Slot> {
        let c = &shared.config;
        let admitted = shared.table().admit(ip, true, c.max_connections, c.max_connections_per_ip);
        admitted.then(|| Slot::reserved(shared, ip, true))
    }

    /// Wraps a slot already admitted in the table.
    fn reserved(shared: &Arc<Shared>, ip: IpAddr, inbound: bool) -> Slot {
        Stats::inc(&shared.stats.connections_open);
        if inbound {
            Stats::inc(&shared.stats.connections_accepted);
        }
        Slot { shared: shared.clone(), ip, inbound, flow: None }
    }

    /// Makes the connection reachable for sending and returns its parts.
    fn register(&mut self, kind: TransportKind, remote: SocketAddr) -> (FlowId, ConnParts) {
        let shared = self.shared.clone();
        self.register_in(&mut shared.table(), kind, remote)
    }

    /// [`Slot::register`] with the table already locked.
    fn register_in(
        &mut self,
        table: &mut ConnTable,
        kind: TransportKind,
        remote: SocketAddr,
    ) -> (FlowId, ConnParts) {
        self.register_with(table, kind, remote, None, None)
    }

    /// [`Slot::register_in`] for a connection we open: how its opening goes, and the name
    /// a TLS peer's certificate is verified for.
    fn register_with(
        &mut self,
        table: &mut ConnTable,
        kind: TransportKind,
        remote: SocketAddr,
        state: Option<watch::Receiver<ConnectState>>,
        verified: Option<ServerName<'static>>,
    ) -> (FlowId, ConnParts) {
        let flow = self.shared.new_flow();
        let kill = CancellationToken::new();
        let (queue, rx) = WriteQueue::new(self.shared.config.write_queue_bytes, kill.clone());
        let mut info = ConnInfo::accepted(kind, remote, queue.clone());
        info.state = state;
        info.verified = verified;
        table.insert(flow, info);
        self.flow = Some(flow);
        (flow, ConnParts { queue, rx, kill })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.shared.table();
        if let Some(flow) = self.flow {
            table.remove(flow);
        }
        table.release(self.ip, self.inbound);
        drop(table);
        Stats::dec(&self.shared.stats.connections_open);
    }
}

/// Accepts connections until shutdown; the listener closes when this returns.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    kind: TransportKind,
    local: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    tx: InboundSink,
) {
    let stats = &shared.stats;
    loop {
        let accepted = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, remote) = match accepted {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("{kind} accept on {local} failed: {e}");
                tokio::select! {
                    () = shared.shutdown.cancelled() => break,
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                }
            }
        };
        if !shared.guard.0.allow(remote, kind) {
            Stats::inc(&stats.guard_dropped);
            continue;
        }
        let Some(slot) = Slot::admit_inbound(&shared, remote.ip()) else {
            Stats::inc(&stats.connections_refused);
            tracing::debug!("{kind} connection from {remote} refused: connection limit");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let task = serve(shared.clone(), stream, kind, remote, acceptor.clone(), slot, tx.clone());
        shared.tracker.spawn(task);
    }
    tracing::debug!("{kind} listener on {local} closed");
}

/// Runs one accepted connection (TLS handshake first, if any).
async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    kind: TransportKind,
    remote: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    mut slot: Slot,
    tx: InboundSink,
) {
    let local = match stream.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    match acceptor {
        None => {
            let (flow, parts) = slot.register(kind, remote);
            let origin = Origin { kind, source: remote, local, flow };
            conn::run(shared.clone(), stream, origin, parts, tx).await;
        }
        Some(acceptor) => {
            let handshake = tokio::select! {
                biased;
                () = shared.shutdown.cancelled() => return,
                r = tokio::time::timeout(
                    shared.config.tls_handshake_timeout,
                    acceptor.accept(stream),
                ) => r,
            };
            let stream = match handshake {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    Stats::inc(&shared.stats.tls_handshake_failures);
                    tracing::debug!("TLS handshake with {remote} failed: {e}");
                    return;
                }
                Err(_) => {
                    Stats::inc(&shared.stats.tls_handshake_failures);
                    tracing::debug!("TLS handshake with {remote} timed out");
                    return;
                }
            };
            let (flow, parts) = slot.register(kind, remote);
            let origin = Origin { kind, source: remote, local, flow };
            conn::run(shared.clone(), stream, origin, parts, tx).await;
        }
    }
    drop(slot);
}

fn push(
    shared: &Shared,
    flow: FlowId,
    queue: &WriteQueue,
    out: Outbound,
) -> Result<FlowId, TransportError> {
    match queue.push(out.bytes) {
        Ok(()) => Ok(flow),
        Err(PushError::Full { first }) => {
            if first {
                Stats::inc(&shared.stats.connections_slow_closed);
                tracing::debug!("{flow} to {} disconnected: write queue full", out.dest);
            }
            Err(TransportError::QueueFull(flow))
        }
        Err(PushError::Closed) => Err(TransportError::FlowGone(flow)),
    }
}

/// The opening of a connection still under way when a message was queued on it.
fn still_connecting(state: Option<&watch::Receiver<ConnectState>>) -> Option<Connecting> {
    let state = state?;
    (*state.borrow() == ConnectState::Connecting).then(|| Connecting(state.clone()))
}

/// Queues a message on the flow named, on an existing connection to the destination,
/// or on a new connection. A new TLS connection proves the identity registered for the
/// destination ([`super::Transports::set_tls_peer`]), else the destination's IP address
/// under the transports' client configuration; an existing TLS connection is reused only
/// when it proved that same identity.
pub(crate) fn send(shared: &Arc<Shared>, out: Outbound) -> Result<Sent, TransportError> {
    let tls_peer = match (out.kind, out.flow) {
        (TransportKind::Tls, None) => shared
            .tls_peers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&out.dest)
            .cloned(),
        _ => None,
    };
    let mut table = shared.table();
    let lookup = match out.flow {
        Some(flow) => table.by_flow(flow),
        None => match table.by_remote(out.kind, out.dest) {
            // A connection that proved another identity (or none: one the peer opened)
            // is not the server this identity names.
            Lookup::Found(_, c)
                if tls_peer.as_ref().is_some_and(|p| c.verified.as_ref() != Some(p.name())) =>
            {
                Lookup::Missing
            }
            found => found,
        },
    };
    match lookup {
        Lookup::Found(flow, conn) => {
            drop(table);
            if conn.kind != out.kind {
                return Err(TransportError::FlowKindMismatch {
                    flow,
                    actual: conn.kind,
                    requested: out.kind,
                });
            }
            let connecting = still_connecting(conn.state.as_ref());
            push(shared, flow, &conn.queue, out).map(|flow| Sent { flow, connecting })
        }
        Lookup::Missing => {
            if let Some(flow) = out.flow {
                drop(table);
                return match shared.udp.read().map(|g| g.iter().any(|g| g.flow == flow)) {
                    Ok(true) => Err(TransportError::FlowKindMismatch {
                        flow,
                        actual: TransportKind::Udp,
                        requested: out.kind,
                    }),
                    _ => Err(TransportError::FlowGone(flow)),
                };
            }
            let tls = match out.kind {
                TransportKind::Tcp => None,
                TransportKind::Tls => match (&tls_peer, &shared.tls_client) {
                    (Some(p), _) => {
                        Some((TlsConnector::from(p.config().clone()), p.name().clone()))
                    }
                    (None, Some(c)) => Some((
                        TlsConnector::from(c.clone()),
                        ServerName::IpAddress(out.dest.ip().into()),
                    )),
                    (None, None) => return Err(TransportError::CannotConnect(out.kind)),
                },
                _ => return Err(TransportError::CannotConnect(out.kind)),
            };
            let Some(tx) = shared.inbound.lock().ok().and_then(|g| g.clone()) else {
                return Err(TransportError::ShuttingDown);
            };
            let c = &shared.config;
            if !table.admit(out.dest.ip(), false, c.max_connections, c.max_connections_per_ip) {
                return Err(TransportError::ConnectionLimit);
            }
            // Registered before connecting and under the same lock as the lookup, so
            // that further sends to this destination queue behind this one.
            let (state_tx, state_rx) = watch::channel(ConnectState::Connecting);
            let mut slot = Slot::reserved(shared, out.dest.ip(), false);
            let verified = tls.as_ref().map(|(_, name)| name.clone());
            let (flow, parts) = slot.register_with(
                &mut table,
                out.kind,
                out.dest,
                Some(state_rx.clone()),
                verified,
            );
            drop(table);
            push(shared, flow, &parts.queue, out.clone())?;
            let opening = Opening { kind: out.kind, dest: out.dest, tls, state: state_tx };
            let task = connect(shared.clone(), opening, slot, flow, parts, tx);
            shared.tracker.spawn_on(task, &shared.runtime);
            Ok(Sent { flow, connecting: Some(Connecting(state_rx)) })
        }
    }
}

/// A connection to open.
struct Opening {
    kind: TransportKind,
    dest: SocketAddr,
    /// For TLS: the connector and the name the server's certificate must be valid for.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// Told how the opening went.
    state: watch::Sender<ConnectState>,
}

/// Opens an outgoing connection and runs it; queued messages are written once connected.
/// A failure to connect is published on `opening.state` (and so reaches the transactions
/// whose messages were queued on it).
async fn connect(
    shared: Arc<Shared>,
    opening: Opening,
    slot: Slot,
    flow: FlowId,
    parts: ConnParts,
    tx: InboundSink,
) {
    let Opening { kind, dest, tls, state } = opening;
    let c = &shared.config;
    let connected = tokio::select! {
        biased;
        () = shared.shutdown.cancelled() => return,
        r = tokio::time::timeout(c.connect_timeout, TcpStream::connect(dest)) => r,
    };
    let stream = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return connect_failed(&shared, kind, dest, &e.to_string(), &state),
        Err(_) => return connect_failed(&shared, kind, dest, "connect timed out", &state),
    };
    let _ = stream.set_nodelay(true);
    let Ok(local) = stream.local_addr() else {
        return connect_failed(&shared, kind, dest, "socket has no local address", &state);
    };
    let origin = Origin { kind, source: dest, local, flow };
    match tls {
        None => {
            state.send_replace(ConnectState::Open);
            conn::run(shared.clone(), stream, origin, parts, tx).await;
        }
        Some((connector, name)) => {
            let handshake = tokio::select! {
                biased;
                () = shared.shutdown.cancelled() => return,
                r = tokio::time::timeout(c.tls_handshake_timeout, connector.connect(name.clone(), stream)) => r,
            };
            match handshake {
                Ok(Ok(s)) => {
                    state.send_replace(ConnectState::Open);
                    conn::run(shared.clone(), s, origin, parts, tx).await;
                }
                Ok(Err(e)) => {
                    Stats::inc(&shared.stats.tls_handshake_failures);
                    let why = format!("TLS handshake with {} failed: {e}", name.to_str());
                    connect_failed(&shared, kind, dest, &why, &state);
                }
                Err(_) => {
                    Stats::inc(&shared.stats.tls_handshake_failures);
                    connect_failed(&shared, kind, dest, "TLS handshake timed out", &state);
                }
            }
        }
    }
    drop(slot);
}

fn connect_failed(
    shared: &Shared,
    kind: TransportKind,
    dest: SocketAddr,
    why: &str,
    state: &watch::Sender<ConnectState>,
) {
    Stats::inc(&shared.stats.connect_failures);
    tracing::info!("{kind} connection to {dest} failed: {why}");
    state.send_replace(ConnectState::Failed(why.into()));
}
