//! Transport counters: cheap atomics updated on the hot path, read as a snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! stats {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Live counters, shared by every transport task.
        #[derive(Debug, Default)]
        pub(crate) struct Stats {
            $(pub(crate) $name: AtomicU64,)*
        }

        /// A point-in-time copy of the transport counters (see [`super::Transports::stats`]).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct TransportStats {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Stats {
            pub(crate) fn snapshot(&self) -> TransportStats {
                TransportStats { $($name: self.$name.load(Relaxed),)* }
            }
        }
    };
}

stats! {
    /// Messages delivered to the core.
    received,
    /// CRLF keep-alives received (UDP keep-alive datagrams and stream pings).
    keepalives,
    /// Messages that failed to parse or lack a required header.
    parse_errors,
    /// Error responses (400, 505, 513) sent for malformed requests.
    bad_requests_answered,
    /// Malformed messages dropped without an answer (responses, garbage, unsalvageable).
    malformed_dropped,
    /// Datagrams, connections and parsed requests refused by the guard hook.
    guard_dropped,
    /// UDP messages dropped because the inbound queue was full.
    queue_full_dropped,
    /// Connections open now (accepted and outgoing, TLS handshakes included).
    connections_open,
    /// Connections accepted in total.
    connections_accepted,
    /// Connections refused because a connection limit was reached.
    connections_refused,
    /// Connections closed by the idle timeout.
    connections_idle_closed,
    /// Connections closed because their write queue overflowed (slow reader).
    connections_slow_closed,
    /// Connections closed because of a framing error (after a 400 where possible).
    connections_malformed_closed,
    /// TLS handshakes that failed or timed out.
    tls_handshake_failures,
    /// Outgoing connections that could not be established.
    connect_failures,
    /// Messages handed to a socket or a connection's write queue.
    sent,
    /// Messages that could not be sent.
    send_failures,
}

impl Stats {
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn dec(counter: &AtomicU64) {
        counter.fetch_sub(1, Relaxed);
    }
}
