//! The output queues shared by the state machines and the layer.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use super::timers::Timers;
use super::types::{Event, Peer, Stats, Transmit, TxId};

/// Queued transmits and events, plus counters.
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) stats: Stats,
}

impl Outputs {
    pub(crate) fn send(
        &mut self,
        tx: Option<TxId>,
        dest: Peer,
        bytes: Bytes,
        retransmission: bool,
    ) {
        if retransmission {
            self.stats.retransmissions += 1;
        }
        self.transmits.push_back(Transmit { dest, bytes, tx, retransmission });
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.events.push_back(e);
    }
}

/// What a state machine needs from its surroundings for one step.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) timers: &'a Timers,
    pub(crate) out: &'a mut Outputs,
    /// The transaction is the layer's own (a CANCEL it sent, a 482 or a CANCEL it
    /// answered): its events are not passed to the TU.
    pub(crate) quiet: bool,
}

impl Ctx<'_> {
    pub(crate) fn event(&mut self, e: Event) {
        if !self.quiet {
            self.out.event(e);
        }
    }
}

/// The wire form of a message the transaction keeps (to retransmit it, or to answer
/// retransmissions with it), in an allocation of exactly its size: printing grows the
/// buffer by doubling, and a finished server transaction keeps its final response for
/// Timer J (32 s over UDP), so the slack would be held by every one of them.
pub(crate) fn kept(mut wire: Vec<u8>) -> Bytes {
    wire.shrink_to_fit();
    Bytes::from(wire)
}

/// True when `deadline` is set and has passed.
pub(crate) fn due(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_some_and(|d| d <= now)
}

/// The earliest of several optional deadlines.
pub(crate) fn earliest(deadlines: impl IntoIterator<Item = Option<Instant>>) -> Option<Instant> {
    deadlines.into_iter().flatten().min()
}
