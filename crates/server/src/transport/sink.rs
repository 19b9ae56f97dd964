//! Where received messages go: one bounded queue per core shard, chosen by Call-ID.
//!
//! Every message of a call (the INVITE, its retransmissions, CANCEL, ACK, BYE, the
//! responses to our requests on that leg) carries the same Call-ID (RFC 3261 §8.1.1.4,
//! §9.1, §17.1.1.3), so hashing the Call-ID sends them all to the shard owning their
//! transactions and dialog. The hash is keyed per process, so no peer can choose
//! Call-IDs that pile onto one shard.

use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::Inbound;

/// The shard (of `shards`) that owns the transactions of Call-ID `call_id`.
pub fn shard_of(call_id: &str, shards: usize) -> usize {
    static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    if shards <= 1 {
        return 0;
    }
    let h = KEY.get_or_init(Default::default).hash_one(call_id.as_bytes());
    // `shards` fits in u64 and the remainder is below it, so it fits in usize.
    usize::try_from(h % shards as u64).unwrap_or(0)
}

/// Why a message was not queued (the message is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotQueued {
    /// The shard's queue is full.
    Full,
    /// The core has stopped.
    Closed,
}

/// The senders of the shards' inbound queues.
#[derive(Debug, Clone)]
pub(crate) struct InboundSink {
    shards: Arc<[mpsc::Sender<Inbound>]>,
}

impl InboundSink {
    /// `shards` queues of `capacity` messages each, and their receivers in shard order.
    pub(crate) fn new(
        shards: usize,
        capacity: usize,
    ) -> (InboundSink, Vec<mpsc::Receiver<Inbound>>) {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..shards.max(1)).map(|_| mpsc::channel(capacity)).unzip();
        (InboundSink { shards: senders.into() }, receivers)
    }

    fn index(&self, m: &Inbound) -> usize {
        let n = self.shards.len();
        // The transports deliver only messages with a Call-ID (`check_required_headers`).
        match m.message.headers().call_id() {
            Ok(c) if n > 1 => shard_of(c, n),
            _ => 0,
        }
    }

    /// Queues `m` unless its shard's queue is full (UDP: drop, as the network may).
    pub(crate) fn try_send(&self, m: Inbound) -> Result<(), NotQueued> {
        let i = self.index(&m);
        self.shards[i].try_send(m).map_err(|e| match e {
            TrySendError::Full(_) => NotQueued::Full,
            TrySendError::Closed(_) => NotQueued::Closed,
        })
    }

    /// Queues `m`, waiting while its shard's queue is full (streams: backpressure).
    pub(crate) async fn send(&self, m: Inbound) -> Result<(), NotQueued> {
        let i = self.index(&m);
        self.shards[i].send(m).await.map_err(|_| NotQueued::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_id_one_shard_and_calls_spread() {
        assert_eq!(shard_of("anything", 1), 0);
        assert_eq!(shard_of("a84b4c76e66710@pc33", 4), shard_of("a84b4c76e66710@pc33", 4));
        let mut seen = [0usize; 4];
        for i in 0..4000 {
            seen[shard_of(&format!("{i}-call@host"), 4)] += 1;
        }
        // 1000 expected per shard; a keyed 64-bit hash keeps each well within 700..1300.
        assert!(seen.iter().all(|&n| (700..1300).contains(&n)), "{seen:?}");
    }
}
