//! Transaction timer values (RFC 3261 §17, table 4 of Appendix A; RFC 6026 §8.4 and §8.7).
//!
//! | timer | default | meaning |
//! | --- | --- | --- |
//! | T1 | 500 ms | RTT estimate |
//! | T2 | 4 s | maximum retransmit interval for non-INVITE requests and INVITE responses |
//! | T4 | 5 s | maximum time a message remains in the network |
//! | A | T1, doubling | INVITE request retransmit interval (unreliable transports only) |
//! | B | 64*T1 | INVITE transaction timeout |
//! | D | 32 s unreliable, 0 reliable | wait time for response retransmits (client INVITE, Completed) |
//! | E | T1, doubling to T2 | non-INVITE request retransmit interval (unreliable only) |
//! | F | 64*T1 | non-INVITE transaction timeout |
//! | G | T1, doubling to T2 | INVITE final response retransmit interval (unreliable only) |
//! | H | 64*T1 | wait time for ACK receipt |
//! | I | T4 unreliable, 0 reliable | wait time for ACK retransmits |
//! | J | 64*T1 unreliable, 0 reliable | wait time for non-INVITE request retransmits |
//! | K | T4 unreliable, 0 reliable | wait time for non-INVITE response retransmits |
//! | L | 64*T1 | wait time for accepted INVITE request retransmits (RFC 6026) |
//! | M | 64*T1 | wait time for retransmission of 2xx to INVITE or additional 2xx from other branches (RFC 6026) |
//!
//! Besides the RFC timers: the server INVITE transaction sends `100 Trying` when the
//! TU has not answered within [`Timers::trying_delay`] (200 ms, RFC 3261 §17.2.1), and a
//! server non-INVITE transaction whose TU never answers is dropped after
//! [`Timers::server_non_invite_lifetime`] (the client gave up at Timer F anyway).

use std::time::Duration;

/// Timer configuration. Build with [`Timers::default`] or [`Timers::with_t1`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// T1, the RTT estimate (default 500 ms).
    pub t1: Duration,
    /// T2, the cap on retransmit intervals (default 4 s).
    pub t2: Duration,
    /// T4, how long a message may stay in the network (default 5 s).
    pub t4: Duration,
    /// Timer B, client INVITE timeout (default 64*T1).
    pub timer_b: Duration,
    /// Timer D on unreliable transports (default 32 s; the RFC asks for at least 32 s).
    pub timer_d: Duration,
    /// Timer F, client non-INVITE timeout (default 64*T1).
    pub timer_f: Duration,
    /// Timer H, how long a server INVITE transaction waits for the ACK to a non-2xx
    /// (default 64*T1).
    pub timer_h: Duration,
    /// Timer L (RFC 6026), server INVITE transaction lifetime after a 2xx (default 64*T1).
    pub timer_l: Duration,
    /// Timer M (RFC 6026), client INVITE transaction lifetime after a 2xx (default 64*T1).
    pub timer_m: Duration,
    /// Delay before a server INVITE transaction sends `100 Trying` on its own
    /// (default 200 ms, RFC 3261 §17.2.1).
    pub trying_delay: Duration,
    /// Lifetime of a server non-INVITE transaction whose TU sends no final response
    /// (default 64*T1 + T4; not an RFC timer, it bounds state when a TU forgets a request).
    pub server_non_invite_lifetime: Duration,
}

impl Timers {
    /// The RFC defaults (T1 = 500 ms).
    pub const DEFAULT: Timers = Timers::with_t1(Duration::from_millis(500));

    /// Defaults with another T1: every 64*T1 timer scales with it; T2, T4, Timer D and
    /// the 100 Trying delay keep their RFC values.
    pub const fn with_t1(t1: Duration) -> Timers {
        let t64 = Duration::from_nanos(t1.as_nanos() as u64 * 64);
        let t4 = Duration::from_secs(5);
        Timers {
            t1,
            t2: Duration::from_secs(4),
            t4,
            timer_b: t64,
            timer_d: Duration::from_secs(32),
            timer_f: t64,
            timer_h: t64,
            timer_l: t64,
            timer_m: t64,
            trying_delay: Duration::from_millis(200),
            server_non_invite_lifetime: Duration::from_nanos(
                t64.as_nanos() as u64 + t4.as_nanos() as u64,
            ),
        }
    }

    /// 64*T1: how long a client waits for a CANCELled INVITE to end (RFC 3261 §9.1).
    pub fn t1_x64(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D for the transport.
    pub(crate) fn d(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.timer_d }
    }

    /// Timer I for the transport.
    pub(crate) fn i(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t4 }
    }

    /// Timer J for the transport.
    pub(crate) fn j(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t1_x64() }
    }

    /// Timer K for the transport.
    pub(crate) fn k(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t4 }
    }
}

impl Default for Timers {
    fn default() -> Self {
        Timers::DEFAULT
    }
}

/// A retransmission timer whose interval doubles, optionally up to a cap
/// (Timers A, E and G; also the UAS 2xx retransmission of RFC 3261 §13.3.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) at: std::time::Instant,
    pub(crate) interval: Duration,
    pub(crate) cap: Option<Duration>,
}

impl Backoff {
    pub(crate) fn start(now: std::time::Instant, first: Duration, cap: Option<Duration>) -> Self {
        Backoff { at: now + first, interval: first, cap }
    }

    /// Doubles the interval (up to the cap) and schedules the next firing from `now`.
    pub(crate) fn next(&mut self, now: std::time::Instant) {
        let doubled = self.interval.saturating_mul(2);
        self.interval = match self.cap {
            Some(cap) => doubled.min(cap),
            None => doubled,
        };
        self.at = now + self.interval;
    }

    /// Fixes the interval at `interval` from now on (Timer E in Proceeding: T2).
    pub(crate) fn fixed(&mut self, interval: Duration) {
        self.cap = Some(interval);
        self.interval = interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_rfc3261_table4() {
        let t = Timers::default();
        assert_eq!(t.t1, Duration::from_millis(500));
        assert_eq!(t.timer_b, Duration::from_secs(32));
        assert_eq!(t.timer_f, Duration::from_secs(32));
        assert_eq!(t.timer_h, Duration::from_secs(32));
        assert_eq!(t.j(false), Duration::from_secs(32));
        assert_eq!(t.j(true), Duration::ZERO);
        assert_eq!(t.k(false), Duration::from_secs(5));
        assert_eq!(t.i(true), Duration::ZERO);
        assert_eq!(t.d(false), Duration::from_secs(32));
        assert_eq!(t.server_non_invite_lifetime, Duration::from_secs(37));
        let fast = Timers::with_t1(Duration::from_millis(100));
        assert_eq!(fast.timer_b, Duration::from_millis(6400));
    }

    #[test]
    fn backoff_doubles_to_cap() {
        let t0 = std::time::Instant::now();
        let mut b = Backoff::start(t0, Duration::from_millis(500), Some(Duration::from_secs(4)));
        let mut seen = vec![b.interval];
        for _ in 0..5 {
            b.next(t0);
            seen.push(b.interval);
        }
        let ms: Vec<u128> = seen.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [500, 1000, 2000, 4000, 4000, 4000]);
        let mut a = Backoff::start(t0, Duration::from_millis(500), None);
        for _ in 0..6 {
            a.next(t0);
        }
        assert_eq!(a.interval, Duration::from_secs(32));
    }
}
