//! Deterministic simulation of transaction layers talking over a lossy network (feature
//! `sim`).
//!
//! A virtual clock, a [`SimNetwork`] with seeded loss, duplication, delay and jitter,
//! and [`Node`]s that each own a [`TransactionLayer`] and a scripted TU ([`Tu`]). The
//! run loop jumps from one deadline to the next (packet arrival, layer timer, TU timer),
//! so minutes of protocol time take microseconds, and a seed fully determines a run.
//!
//! While running, the harness checks that no transaction retransmits outside the states
//! that allow it (RFC 3261 §17: client INVITE in Calling, or resending the ACK in
//! Completed; client non-INVITE in Trying/Proceeding; server INVITE in Proceeding,
//! Completed or Accepted; server non-INVITE in Proceeding or Completed) and records any
//! breach in [`Sim::violations`]. Scenario tests check the rest: one final response per
//! client transaction, no leaked transactions, 487 after CANCEL, and so on.
//!
//! Ready-made user agents for the usual call flows are in [`ua`].

mod net;
mod rng;
pub mod ua;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use net::{NetConfig, Packet, SimNetwork};
pub use rng::SimRng;

use crate::transaction::{Config, Event, Peer, TransactionLayer, Transmit, TxId, TxKind, TxState};
use ringfence_sip_types::Message;

/// A scripted transaction user driven by the simulation.
pub trait Tu {
    /// Called once when the simulation starts.
    fn start(&mut self, now: Instant, layer: &mut TransactionLayer);
    /// An event from this node's transaction layer.
    fn on_event(&mut self, now: Instant, layer: &mut TransactionLayer, event: Event);
    /// The TU's next timer, if any.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Called when `poll_timeout` has passed.
    fn on_timeout(&mut self, now: Instant, layer: &mut TransactionLayer);
}

/// One simulated endpoint.
#[derive(Debug)]
pub struct Node<T> {
    /// Its address.
    pub addr: SocketAddr,
    /// Its transaction layer.
    pub layer: TransactionLayer,
    /// Its TU.
    pub tu: T,
}

/// Whether a trace line records a send or a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Handed to the network by `node`.
    Sent,
    /// Delivered to `node`.
    Delivered,
}

/// One line of the run's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Virtual time since the start.
    pub at: Duration,
    /// The node that sent or received.
    pub node: usize,
    /// Send or delivery.
    pub direction: Direction,
    /// For sends: marked as a retransmission.
    pub retransmission: bool,
    /// Start line and CSeq, e.g. `SIP/2.0 200 OK | 1 CANCEL`.
    pub summary: String,
}

/// The life of one transaction as the harness saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLife {
    /// The node it belongs to.
    pub node: usize,
    /// Its id.
    pub tx: TxId,
    /// Its kind, if the harness saw it alive.
    pub kind: Option<TxKind>,
    /// When it was first seen (first send, or the request event), since the start.
    pub created: Duration,
    /// When it was found removed from its layer.
    pub ended: Option<Duration>,
}

/// The simulation: clock, network, nodes, trace and invariant violations.
#[derive(Debug)]
pub struct Sim<T> {
    /// The virtual time origin.
    pub start: Instant,
    /// The current virtual time.
    pub now: Instant,
    /// The network.
    pub net: SimNetwork,
    /// The endpoints.
    pub nodes: Vec<Node<T>>,
    /// Every send and delivery.
    pub trace: Vec<TraceEntry>,
    /// Broken invariants found while running (empty in a correct run).
    pub violations: Vec<String>,
    /// Every transaction seen, with its lifetime.
    pub lives: Vec<TxLife>,
    index: HashMap<(usize, TxId), usize>,
    open: Vec<usize>,
    started: bool,
}

/// `METHOD uri` or `SIP/2.0 code reason`, then `| CSeq`.
pub fn summarize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let cseq = lines.find_map(|l| l.strip_prefix("CSeq:")).map(str::trim).unwrap_or_default();
    format!("{first} | {cseq}")
}

/// RFC 3261 §17 states in which a transaction may retransmit.
fn may_retransmit(kind: TxKind, state: TxState) -> bool {
    matches!(
        (kind, state),
        (TxKind::ClientInvite, TxState::Calling | TxState::Completed)
            | (TxKind::ClientNonInvite, TxState::Trying | TxState::Proceeding)
            | (TxKind::ServerInvite, TxState::Proceeding | TxState::Completed | TxState::Accepted)
            | (TxKind::ServerNonInvite, TxState::Proceeding | TxState::Completed)
    )
}

impl<T: Tu> Sim<T> {
    /// An empty simulation whose network draws from `seed`.
    pub fn new(seed: u64, net: NetConfig) -> Sim<T> {
        let start = Instant::now();
        Sim {
            start,
            now: start,
            net: SimNetwork::new(net, SimRng::new(seed ^ 0x005E_ED0F_5EED)),
            nodes: Vec::new(),
            trace: Vec::new(),
            violations: Vec::new(),
            lives: Vec::new(),
            index: HashMap::new(),
            open: Vec::new(),
            started: false,
        }
    }

    /// Adds an endpoint; returns its index.
    pub fn add_node(&mut self, addr: SocketAddr, config: Config, tu: T) -> usize {
        self.nodes.push(Node { addr, layer: TransactionLayer::new(config), tu });
        self.nodes.len() - 1
    }

    /// Virtual time elapsed.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Runs until `elapsed() == until` (or later work only remains).
    pub fn run_until(&mut self, until: Duration) {
        let end = self.start + until;
        if !self.started {
            self.started = true;
            for i in 0..self.nodes.len() {
                let now = self.now;
                let node = &mut self.nodes[i];
                node.tu.start(now, &mut node.layer);
                self.flush(i);
            }
        }
        let mut steps = 0u32;
        loop {
            steps += 1;
            if steps > 1_000_000 {
                self.violations.push("simulation does not progress (a timer never clears)".into());
                return;
            }
            let mut next = self.net.next_delivery();
            for n in &mut self.nodes {
                for t in [n.layer.poll_timeout(), n.tu.poll_timeout()].into_iter().flatten() {
                    next = Some(next.map_or(t, |x| x.min(t)));
                }
            }
            let Some(next) = next.filter(|n| *n <= end) else {
                self.now = self.now.max(end);
                return;
            };
            self.now = self.now.max(next);
            let now = self.now;
            while let Some(p) = self.net.deliver(now) {
                self.deliver(p);
            }
            for i in 0..self.nodes.len() {
                let node = &mut self.nodes[i];
                if node.layer.poll_timeout().is_some_and(|t| t <= now) {
                    node.layer.handle_timeout(now);
                }
                if node.tu.poll_timeout().is_some_and(|t| t <= now) {
                    node.tu.on_timeout(now, &mut node.layer);
                }
                self.flush(i);
            }
        }
    }

    fn deliver(&mut self, p: Packet) {
        let Some(i) = self.nodes.iter().position(|n| n.addr == p.to) else {
            return;
        };
        self.trace.push(TraceEntry {
            at: self.elapsed(),
            node: i,
            direction: Direction::Delivered,
            retransmission: false,
            summary: summarize(&p.bytes),
        });
        match Message::parse(&p.bytes) {
            Ok(msg) => {
                let source = Peer::new(p.from, p.transport);
                if let Err(e) = self.nodes[i].layer.handle_incoming(self.now, msg, source) {
                    self.violations.push(format!("node {i} rejected a message: {e}"));
                }
            }
            Err(e) => self.violations.push(format!("node {i} got unparsable bytes: {e}")),
        }
        self.flush(i);
    }

    /// Moves node `i`'s transmits to the network and its events to its TU until both
    /// queues are empty.
    fn flush(&mut self, i: usize) {
        let now = self.now;
        let elapsed = self.elapsed();
        loop {
            let mut progress = false;
            while let Some(t) = self.nodes[i].layer.poll_transmit() {
                progress = true;
                if let Some(tx) = t.tx {
                    self.seen(i, tx);
                }
                self.check_retransmission(i, &t);
                self.trace.push(TraceEntry {
                    at: elapsed,
                    node: i,
                    direction: Direction::Sent,
                    retransmission: t.retransmission,
                    summary: summarize(&t.bytes),
                });
                let from = self.nodes[i].addr;
                self.net.send(
                    now,
                    Packet { from, to: t.dest.addr, transport: t.dest.transport, bytes: t.bytes },
                );
            }
            while let Some(e) = self.nodes[i].layer.poll_event() {
                progress = true;
                if let Event::Request { tx, .. } = &e {
                    self.seen(i, *tx);
                }
                let node = &mut self.nodes[i];
                node.tu.on_event(now, &mut node.layer, e);
            }
            if !progress {
                break;
            }
        }
        // Note every transaction of this node that is gone now.
        let layer = &self.nodes[i].layer;
        let lives = &mut self.lives;
        self.open.retain(|&idx| {
            let life = &mut lives[idx];
            if life.node != i || layer.state(life.tx).is_some() {
                return true;
            }
            life.ended = Some(elapsed);
            false
        });
    }

    fn seen(&mut self, node: usize, tx: TxId) {
        if self.index.contains_key(&(node, tx)) {
            return;
        }
        let kind = self.nodes[node].layer.kind(tx);
        self.index.insert((node, tx), self.lives.len());
        self.open.push(self.lives.len());
        self.lives.push(TxLife { node, tx, kind, created: self.elapsed(), ended: None });
    }

    /// Transactions seen that have not been removed yet.
    pub fn open_transactions(&self) -> Vec<TxLife> {
        self.lives.iter().filter(|l| l.ended.is_none()).copied().collect()
    }

    fn check_retransmission(&mut self, i: usize, t: &Transmit) {
        let (true, Some(tx)) = (t.retransmission, t.tx) else { return };
        let layer = &self.nodes[i].layer;
        match (layer.kind(tx), layer.state(tx)) {
            (Some(kind), Some(state)) if may_retransmit(kind, state) => {}
            (kind, state) => self.violations.push(format!(
                "node {i} {tx} ({kind:?}) retransmitted in state {state:?}: {}",
                summarize(&t.bytes)
            )),
        }
    }

    /// Trace lines matching `pred`.
    pub fn trace_where(&self, pred: impl Fn(&TraceEntry) -> bool) -> Vec<&TraceEntry> {
        self.trace.iter().filter(|e| pred(e)).collect()
    }

    /// True when every node's layer is empty and no TU has a timer pending.
    pub fn is_quiescent(&self) -> bool {
        self.nodes.iter().all(|n| n.layer.is_empty() && n.tu.poll_timeout().is_none())
    }
}
