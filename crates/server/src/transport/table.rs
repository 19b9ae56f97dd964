//! The connection table: flow id -> write queue, (transport, remote address) -> flow id,
//! and the connection counts the limits are enforced on. An outgoing connection also
//! records how far its opening got ([`ConnectState`]) and, over TLS, the name its peer's
//! certificate was verified for.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use rustls::pki_types::ServerName;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::kind::{FlowId, TransportKind};

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The byte budget was exceeded; the connection has been told to close. `first` is
    /// true for the push that triggered the close.
    Full {
        /// True for the push that triggered the close.
        first: bool,
    },
    /// The connection's writer has finished.
    Closed,
}

/// The sending side of a connection's write queue, bounded in bytes.
#[derive(Debug, Clone)]
pub(crate) struct WriteQueue {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
    max: usize,
    kill: CancellationToken,
}

/// The receiving side, owned by the connection's writer.
#[derive(Debug)]
pub(crate) struct WriteRx {
    rx: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

impl WriteQueue {
    /// A queue holding at most `max` bytes; overflowing it cancels `kill`.
    pub(crate) fn new(max: usize, kill: CancellationToken) -> (WriteQueue, WriteRx) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        (WriteQueue { tx, queued: queued.clone(), max, kill }, WriteRx { rx, queued })
    }

    /// Queues `bytes` without waiting. A slow reader whose queue is full is disconnected
    /// rather than allowed to grow memory.
    pub(crate) fn push(&self, bytes: Bytes) -> Result<(), PushError> {
        let len = bytes.len();
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before + len > self.max {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            let first = !self.kill.is_cancelled();
            self.kill.cancel();
            return Err(PushError::Full { first });
        }
        self.tx.send(bytes).map_err(|_| {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            PushError::Closed
        })
    }
}

impl WriteRx {
    /// The next queued message, or `None` once every sender is gone and the queue is empty.
    pub(crate) async fn recv(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }

    /// The next queued message if one is ready.
    pub(crate) fn try_recv(&mut self) -> Option<Bytes> {
        self.rx.try_recv().ok()
    }

    /// Releases `len` bytes of budget after they were written.
    pub(crate) fn written(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::AcqRel);
    }
}

/// How far the opening of an outgoing connection got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectState {
    /// TCP connect or TLS handshake under way; messages wait in the write queue.
    Connecting,
    /// Open: queued messages are being written.
    Open,
    /// Connecting failed (refused, unreachable, timed out, TLS handshake failed): nothing
    /// queued was sent.
    Failed(Arc<str>),
}

/// What the table keeps about one connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    /// Its transport.
    pub(crate) kind: TransportKind,
    /// The peer's address.
    pub(crate) remote: SocketAddr,
    /// Its write queue.
    pub(crate) queue: WriteQueue,
    /// For a connection we opened: how far the opening got.
    pub(crate) state: Option<watch::Receiver<ConnectState>>,
    /// For a TLS connection we opened: the name the peer's certificate was verified for.
    pub(crate) verified: Option<ServerName<'static>>,
}

impl ConnInfo {
    /// An accepted connection (or one whose opening is not tracked).
    pub(crate) fn accepted(kind: TransportKind, remote: SocketAddr, queue: WriteQueue) -> Self {
        ConnInfo { kind, remote, queue, state: None, verified: None }
    }
}

/// What a lookup for an outgoing message found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The flow and what the table knows about it.
    Found(FlowId, ConnInfo),
    /// No such flow.
    Missing,
}

/// Connections and their counts. Guarded by a mutex held only for map operations.
#[derive(Debug, Default)]
pub(crate) struct ConnTable {
    by_flow: HashMap<FlowId, ConnInfo>,
    by_remote: HashMap<(TransportKind, SocketAddr), FlowId>,
    per_ip: HashMap<IpAddr, usize>,
    total: usize,
}

impl ConnTable {
    /// Reserves a connection slot: always subject to `max_total`; `max_per_ip` applies to
    /// accepted (inbound) connections only.
    pub(crate) fn admit(
        &mut self,
        ip: IpAddr,
        inbound: bool,
        max_total: usize,
        max_per_ip: usize,
    ) -> bool {
        if self.total >= max_total {
            return false;
        }
        if inbound {
            let n = self.per_ip.entry(ip.to_canonical()).or_insert(0);
            if *n >= max_per_ip {
                return false;
            }
            *n += 1;
        }
        self.total += 1;
        true
    }

    /// Releases a slot reserved by [`ConnTable::admit`].
    pub(crate) fn release(&mut self, ip: IpAddr, inbound: bool) {
        self.total = self.total.saturating_sub(1);
        if inbound && let Entry::Occupied(mut e) = self.per_ip.entry(ip.to_canonical()) {
            *e.get_mut() -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
    }

    /// Makes a connection reachable by flow id and by remote address.
    pub(crate) fn insert(&mut self, flow: FlowId, conn: ConnInfo) {
        self.by_remote.insert((conn.kind, conn.remote), flow);
        self.by_flow.insert(flow, conn);
    }

    /// Forgets a connection (its queue sender is dropped with it).
    pub(crate) fn remove(&mut self, flow: FlowId) {
        if let Some(c) = self.by_flow.remove(&flow)
            && self.by_remote.get(&(c.kind, c.remote)) == Some(&flow)
        {
            self.by_remote.remove(&(c.kind, c.remote));
        }
    }

    pub(crate) fn by_flow(&self, flow: FlowId) -> Lookup {
        match self.by_flow.get(&flow) {
            Some(c) => Lookup::Found(flow, c.clone()),
            None => Lookup::Missing,
        }
    }

    pub(crate) fn by_remote(&self, kind: TransportKind, remote: SocketAddr) -> Lookup {
        match self.by_remote.get(&(kind, remote)) {
            Some(&flow) => self.by_flow(flow),
            None => Lookup::Missing,
        }
    }

    /// Open connections (slots in use).
    #[cfg(test)]
    pub(crate) fn total(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_release() {
        let mut t = ConnTable::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(t.admit(a, true, 3, 2));
        assert!(t.admit(b, true, 3, 2), "mapped address counts as the same IP");
        assert!(!t.admit(a, true, 3, 2), "per-IP cap");
        assert!(t.admit(a, false, 3, 2), "outgoing connections ignore the per-IP cap");
        assert!(!t.admit("192.0.2.9".parse().unwrap(), true, 3, 2), "global cap");
        t.release(a, true);
        assert!(t.admit(a, true, 4, 2));
        assert_eq!(t.total(), 3);
    }

    #[test]
    fn lookup_and_remove() {
        let mut t = ConnTable::default();
        let (q, _rx) = WriteQueue::new(10, CancellationToken::new());
        let r: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        t.insert(FlowId(7), ConnInfo::accepted(TransportKind::Tcp, r, q.clone()));
        assert!(matches!(t.by_remote(TransportKind::Tcp, r), Lookup::Found(FlowId(7), ..)));
        assert!(matches!(t.by_remote(TransportKind::Tls, r), Lookup::Missing));
        t.insert(FlowId(8), ConnInfo::accepted(TransportKind::Tcp, r, q));
        t.remove(FlowId(7));
        assert!(matches!(t.by_remote(TransportKind::Tcp, r), Lookup::Found(FlowId(8), ..)));
        t.remove(FlowId(8));
        assert!(matches!(t.by_flow(FlowId(8)), Lookup::Missing));
    }

    #[test]
    fn write_queue_is_bounded_in_bytes() {
        let kill = CancellationToken::new();
        let (q, mut rx) = WriteQueue::new(10, kill.clone());
        q.push(Bytes::from_static(b"123456")).unwrap();
        assert_eq!(q.push(Bytes::from_static(b"12345")), Err(PushError::Full { first: true }));
        assert_eq!(q.push(Bytes::from_static(b"12345")), Err(PushError::Full { first: false }));
        assert!(kill.is_cancelled());
        let m = rx.try_recv().unwrap();
        rx.written(m.len());
        q.push(Bytes::from_static(b"1234567890")).unwrap();
        let m = rx.try_recv().unwrap();
        rx.written(m.len());
        drop(rx);
        assert_eq!(q.push(Bytes::from_static(b"x")), Err(PushError::Closed));
    }
}
