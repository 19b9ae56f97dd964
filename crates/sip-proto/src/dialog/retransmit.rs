//! UAS 2xx retransmission until the ACK arrives (RFC 3261 §13.3.1.4), sans-IO.
//!
//! "The 2xx response is passed to the transport with an interval that starts at T1
//! seconds and doubles for each retransmission until it reaches T2 seconds ...
//! Response retransmissions cease when an ACK request for the response is received ...
//! If the server retransmits the 2xx response for 64*T1 seconds without receiving an
//! ACK, the dialog is confirmed, but the session SHOULD be terminated. This is
//! accomplished with a BYE."
//!
//! The 2xx retransmission is end to end, so it runs whatever the transport of the first
//! hop. While the INVITE server transaction is in Accepted the TU resends through
//! `TransactionLayer::respond`; after that with `send_response_stateless`.

use std::time::{Duration, Instant};

use crate::transaction::Timers;

/// What [`AnswerRetransmit::handle_timeout`] asks the UAS to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetransmitAction {
    /// Send the 2xx again.
    Retransmit,
    /// 64*T1 passed without ACK: stop, and end the session with a BYE.
    GiveUp,
}

/// The retransmission schedule of one 2xx to an INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerRetransmit {
    next: Option<Instant>,
    interval: Duration,
    t2: Duration,
    give_up_at: Instant,
}

impl AnswerRetransmit {
    /// The 2xx was first sent at `now`.
    pub fn new(now: Instant, timers: &Timers) -> AnswerRetransmit {
        AnswerRetransmit {
            next: Some(now + timers.t1),
            interval: timers.t1,
            t2: timers.t2,
            give_up_at: now + timers.t1_x64(),
        }
    }

    /// When [`AnswerRetransmit::handle_timeout`] has work; `None` once the ACK came or
    /// the UAS gave up.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next.map(|n| n.min(self.give_up_at))
    }

    /// Call when `poll_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<RetransmitAction> {
        let next = self.next?;
        if now >= self.give_up_at {
            self.next = None;
            return Some(RetransmitAction::GiveUp);
        }
        if now < next {
            return None;
        }
        self.interval = (self.interval * 2).min(self.t2);
        self.next = Some(now + self.interval);
        Some(RetransmitAction::Retransmit)
    }

    /// The ACK arrived: stop.
    pub fn ack_received(&mut self) {
        self.next = None;
    }

    /// True once the ACK came or the UAS gave up.
    pub fn is_done(&self) -> bool {
        self.next.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3261_13_3_1_4_schedule() {
        let t0 = Instant::now();
        let mut r = AnswerRetransmit::new(t0, &Timers::default());
        let mut sends = Vec::new();
        while let Some(at) = r.poll_timeout() {
            match r.handle_timeout(at) {
                Some(RetransmitAction::Retransmit) => sends.push((at - t0).as_millis()),
                Some(RetransmitAction::GiveUp) => {
                    assert_eq!(at - t0, Duration::from_secs(32));
                    break;
                }
                None => panic!("woken without work"),
            }
        }
        assert_eq!(sends, [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
        assert!(r.is_done());
        let mut acked = AnswerRetransmit::new(t0, &Timers::default());
        assert_eq!(acked.handle_timeout(t0), None);
        acked.ack_received();
        assert_eq!(acked.poll_timeout(), None);
        assert_eq!(acked.handle_timeout(t0 + Duration::from_secs(40)), None);
    }
}
