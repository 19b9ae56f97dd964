//! Server transactions (RFC 3261 §17.2, RFC 6026 §7.1 and §8.7).
//!
//! ```text
//! INVITE server (figure 7, RFC 6026 figure 5)      non-INVITE server (figure 8)
//!
//!   Proceeding --TU 1xx--> Proceeding                Trying --TU 1xx--> Proceeding
//!   Proceeding --TU 2xx--> Accepted (L)              Trying/Proceeding --TU final--> Completed (J)
//!   Proceeding --TU 300-699--> Completed (G, H)      Proceeding --request--> resend 1xx
//!   Accepted --INVITE--> absorbed                    Completed --request--> resend final
//!   Accepted --ACK--> passed to TU                   Completed --Timer J--> Terminated
//!   Accepted --TU 2xx--> sent                        Trying/Proceeding --no answer for
//!   Accepted --Timer L--> Terminated                     64*T1+T4--> Terminated (Timeout)
//!   Completed --INVITE--> resend final
//!   Completed --Timer G--> resend final
//!   Completed --Timer H--> Terminated (Timeout)
//!   Completed --ACK--> Confirmed (I)
//!   Confirmed --Timer I--> Terminated
//! ```
//!
//! The INVITE server transaction sends `100 Trying` on its own when the TU has not
//! responded within 200 ms (§17.2.1), and at once when the INVITE is retransmitted
//! before that.

use std::time::Instant;

use bytes::Bytes;
use ringfence_sip_types::Response;

use super::ctx::{Ctx, due, earliest, kept};
use super::timers::Backoff;
use super::types::{Event, Peer, TxId, TxState};
use crate::error::Error;

/// What an ACK did to an INVITE server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    /// Consumed by the transaction (ACK for a non-2xx, or a stray one).
    Absorbed,
    /// In Accepted: the TU must see it (RFC 6026 §7.1).
    PassUp,
}

/// Server INVITE transaction.
#[derive(Debug)]
pub(crate) struct ServerInvite {
    pub(crate) id: TxId,
    /// Where responses go (§18.2.2).
    pub(crate) dest: Peer,
    state: TxState,
    last_response: Option<Bytes>,
    /// The automatic 100 Trying and when to send it.
    trying: Option<(Instant, Response)>,
    timer_g: Option<Backoff>,
    timer_h: Option<Instant>,
    timer_i: Option<Instant>,
    timer_l: Option<Instant>,
    /// The To tag of the most recent response the TU sent (for the 200 to CANCEL,
    /// §9.2, and RFC 2543 ACK matching, §17.2.3).
    pub(crate) to_tag: Option<String>,
}

impl ServerInvite {
    pub(crate) fn new(id: TxId, dest: Peer, trying: Response, ctx: &Ctx<'_>) -> Self {
        ServerInvite {
            id,
            dest,
            state: TxState::Proceeding,
            last_response: None,
            trying: Some((ctx.now + ctx.timers.trying_delay, trying)),
            timer_g: None,
            timer_h: None,
            timer_i: None,
            timer_l: None,
            to_tag: None,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        self.state
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        earliest([
            self.trying.as_ref().map(|t| t.0),
            self.timer_g.map(|g| g.at),
            self.timer_h,
            self.timer_i,
            self.timer_l,
        ])
    }

    /// True once a final response was sent.
    pub(crate) fn is_final(&self) -> bool {
        !matches!(self.state, TxState::Proceeding)
    }

    fn send_trying(&mut self, ctx: &mut Ctx<'_>) {
        if let Some((_, resp)) = self.trying.take() {
            let bytes = kept(resp.to_bytes());
            ctx.out.send(Some(self.id), self.dest, bytes.clone(), false);
            self.last_response = Some(bytes);
        }
    }

    /// A retransmission of the INVITE arrived (§17.2.1).
    pub(crate) fn on_request_retransmission(&mut self, ctx: &mut Ctx<'_>) {
        ctx.out.stats.request_retransmissions_absorbed += 1;
        match self.state {
            TxState::Proceeding if self.trying.is_some() => self.send_trying(ctx),
            TxState::Proceeding | TxState::Completed => {
                if let Some(b) = &self.last_response {
                    ctx.out.send(Some(self.id), self.dest, b.clone(), true);
                }
            }
            // RFC 6026 §7.1: absorbed in Accepted; nothing to do once Confirmed.
            _ => {}
        }
    }

    pub(crate) fn on_ack(&mut self, ctx: &mut Ctx<'_>) -> AckOutcome {
        match self.state {
            TxState::Completed => {
                self.timer_g = None;
                self.timer_h = None;
                let i = ctx.timers.i(self.dest.transport.is_reliable());
                if i.is_zero() {
                    self.state = TxState::Terminated;
                } else {
                    self.state = TxState::Confirmed;
                    self.timer_i = Some(ctx.now + i);
                }
                AckOutcome::Absorbed
            }
            TxState::Accepted => AckOutcome::PassUp,
            _ => AckOutcome::Absorbed,
        }
    }

    pub(crate) fn respond(&mut self, response: &Response, ctx: &mut Ctx<'_>) -> Result<(), Error> {
        let status = response.status;
        let retransmission = match self.state {
            TxState::Proceeding => false,
            TxState::Accepted if status.is_success() => true,
            state => {
                return Err(Error::ResponseNotAllowed {
                    tx: self.id,
                    state,
                    status: status.code(),
                });
            }
        };
        if let Ok(to) = response.to()
            && let Some(tag) = to.tag()
        {
            self.to_tag = Some(tag.to_owned());
        }
        self.trying = None;
        let bytes = kept(response.to_bytes());
        ctx.out.send(Some(self.id), self.dest, bytes.clone(), retransmission);
        if status.is_provisional() {
            self.last_response = Some(bytes);
        } else if status.is_success() {
            if self.state == TxState::Proceeding {
                self.state = TxState::Accepted;
                self.timer_l = Some(ctx.now + ctx.timers.timer_l);
            }
            self.last_response = None;
        } else {
            self.state = TxState::Completed;
            if !self.dest.transport.is_reliable() {
                self.timer_g = Some(Backoff::start(ctx.now, ctx.timers.t1, Some(ctx.timers.t2)));
            }
            self.timer_h = Some(ctx.now + ctx.timers.timer_h);
            self.last_response = Some(bytes);
        }
        Ok(())
    }

    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        if due(self.timer_h, now) {
            // §17.2.1: the ACK never came; tell the TU.
            self.state = TxState::Terminated;
            ctx.out.stats.timeouts += 1;
            ctx.event(Event::Timeout { tx: self.id });
            return;
        }
        if due(self.timer_i, now) || due(self.timer_l, now) {
            self.state = TxState::Terminated;
            return;
        }
        if self.trying.as_ref().is_some_and(|t| t.0 <= now) {
            self.send_trying(ctx);
        }
        if let Some(g) = &mut self.timer_g
            && g.at <= now
        {
            if let Some(b) = &self.last_response {
                ctx.out.send(Some(self.id), self.dest, b.clone(), true);
            }
            g.next(now);
        }
    }

    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        self.state = TxState::Terminated;
        ctx.event(Event::TransportError { tx: self.id });
    }
}

/// Server non-INVITE transaction.
#[derive(Debug)]
pub(crate) struct ServerNonInvite {
    pub(crate) id: TxId,
    pub(crate) dest: Peer,
    state: TxState,
    last_response: Option<Bytes>,
    timer_j: Option<Instant>,
    /// Bounds the wait for the TU's final response.
    lifetime: Option<Instant>,
}

impl ServerNonInvite {
    pub(crate) fn new(id: TxId, dest: Peer, ctx: &Ctx<'_>) -> Self {
        ServerNonInvite {
            id,
            dest,
            state: TxState::Trying,
            last_response: None,
            timer_j: None,
            lifetime: Some(ctx.now + ctx.timers.server_non_invite_lifetime),
        }
    }

    pub(crate) fn state(&self) -> TxState {
        self.state
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        earliest([self.timer_j, self.lifetime])
    }

    pub(crate) fn on_request_retransmission(&mut self, ctx: &mut Ctx<'_>) {
        ctx.out.stats.request_retransmissions_absorbed += 1;
        if let Some(b) = &self.last_response {
            ctx.out.send(Some(self.id), self.dest, b.clone(), true);
        }
    }

    pub(crate) fn respond(&mut self, response: &Response, ctx: &mut Ctx<'_>) -> Result<(), Error> {
        if !matches!(self.state, TxState::Trying | TxState::Proceeding) {
            return Err(Error::ResponseNotAllowed {
                tx: self.id,
                state: self.state,
                status: response.status.code(),
            });
        }
        let bytes = kept(response.to_bytes());
        ctx.out.send(Some(self.id), self.dest, bytes.clone(), false);
        self.last_response = Some(bytes);
        if response.status.is_provisional() {
            self.state = TxState::Proceeding;
        } else {
            self.lifetime = None;
            let j = ctx.timers.j(self.dest.transport.is_reliable());
            if j.is_zero() {
                self.state = TxState::Terminated;
                self.last_response = None;
            } else {
                self.state = TxState::Completed;
                self.timer_j = Some(ctx.now + j);
            }
        }
        Ok(())
    }

    /// Ends the transaction now, whatever its state (a challenge answered statelessly,
    /// [`super::Config::stateless_challenges`]).
    pub(crate) fn forget(&mut self) {
        self.state = TxState::Terminated;
        self.last_response = None;
        self.timer_j = None;
        self.lifetime = None;
    }

    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        if due(self.timer_j, now) {
            self.state = TxState::Terminated;
        } else if due(self.lifetime, now) {
            self.state = TxState::Terminated;
            ctx.out.stats.timeouts += 1;
            ctx.event(Event::Timeout { tx: self.id });
        }
    }

    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        self.state = TxState::Terminated;
        ctx.event(Event::TransportError { tx: self.id });
    }
}
