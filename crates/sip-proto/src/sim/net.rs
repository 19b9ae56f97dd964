//! A simulated network: datagrams between addresses with seeded loss, duplication,
//! delay and jitter (jitter reorders), and reliable in-order delivery for stream
//! transports.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::rng::SimRng;
use crate::transaction::Transport;

/// Impairments of the simulated network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetConfig {
    /// Probability that an unreliable datagram is lost.
    pub loss: f64,
    /// Probability that an unreliable datagram is delivered twice.
    pub duplicate: f64,
    /// Base one-way delay.
    pub delay: Duration,
    /// Extra random delay in `[0, jitter]`, drawn per datagram (reorders datagrams).
    pub jitter: Duration,
}

impl NetConfig {
    /// No loss, no duplication, 10 ms delay, no jitter.
    pub const CLEAN: NetConfig = NetConfig {
        loss: 0.0,
        duplicate: 0.0,
        delay: Duration::from_millis(10),
        jitter: Duration::ZERO,
    };

    /// Loss `loss`, 5% duplication, 20 ms delay with 200 ms jitter (enough to reorder
    /// retransmissions).
    pub fn lossy(loss: f64) -> NetConfig {
        NetConfig {
            loss,
            duplicate: 0.05,
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(200),
        }
    }
}

/// A datagram or stream segment in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Sender address.
    pub from: SocketAddr,
    /// Receiver address.
    pub to: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// Wire bytes.
    pub bytes: Bytes,
}

/// The network between simulated endpoints.
#[derive(Debug)]
pub struct SimNetwork {
    config: NetConfig,
    rng: SimRng,
    seq: u64,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    packets: HashMap<u64, Packet>,
    /// Last delivery time per (from, to) on reliable transports, to keep order.
    stream_tail: HashMap<(SocketAddr, SocketAddr), Instant>,
    /// Datagrams dropped so far.
    pub lost: u64,
    /// Datagrams duplicated so far.
    pub duplicated: u64,
}

impl SimNetwork {
    /// A network with its own PRNG stream.
    pub fn new(config: NetConfig, rng: SimRng) -> SimNetwork {
        SimNetwork {
            config,
            rng,
            seq: 0,
            queue: BinaryHeap::new(),
            packets: HashMap::new(),
            stream_tail: HashMap::new(),
            lost: 0,
            duplicated: 0,
        }
    }

    fn enqueue(&mut self, at: Instant, p: Packet) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.packets.insert(self.seq, p);
    }

    /// Sends a packet at `now`. Reliable transports are never lost, duplicated or
    /// reordered (what TCP gives the SIP layer); datagrams meet the impairments.
    pub fn send(&mut self, now: Instant, p: Packet) {
        let c = self.config;
        if p.transport.is_reliable() {
            let tail = self.stream_tail.entry((p.from, p.to)).or_insert(now);
            let at = (now + c.delay + self.rng.duration_up_to(c.jitter)).max(*tail);
            *tail = at;
            self.enqueue(at, p);
            return;
        }
        if self.rng.chance(c.loss) {
            self.lost += 1;
            return;
        }
        if self.rng.chance(c.duplicate) {
            self.duplicated += 1;
            let at = now + c.delay + self.rng.duration_up_to(c.jitter);
            self.enqueue(at, p.clone());
        }
        let at = now + c.delay + self.rng.duration_up_to(c.jitter);
        self.enqueue(at, p);
    }

    /// When the next packet arrives.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|r| r.0.0)
    }

    /// The next packet due at or before `now`.
    pub fn deliver(&mut self, now: Instant) -> Option<Packet> {
        let Reverse((at, seq)) = *self.queue.peek()?;
        if at > now {
            return None;
        }
        self.queue.pop();
        self.packets.remove(&seq)
    }

    /// Packets in flight.
    pub fn in_flight(&self) -> usize {
        self.packets.len()
    }
}
