//! Client transactions (RFC 3261 §17.1, RFC 6026 §7.2 and §8.4).
//!
//! ```text
//! INVITE client (figure 5, RFC 6026 figure 3)     non-INVITE client (figure 6)
//!
//!   Calling --1xx--> Proceeding                    Trying --1xx--> Proceeding
//!   Calling/Proceeding --2xx--> Accepted (M)       Trying/Proceeding --final--> Completed (K)
//!   Calling/Proceeding --300-699--> Completed (D)  Trying/Proceeding --Timer F--> Terminated
//!   Calling --Timer B--> Terminated                Completed --Timer K--> Terminated
//!   Accepted --2xx--> Accepted (passed up)
//!   Accepted --Timer M--> Terminated
//!   Completed --300-699--> Completed (ACK resent)
//!   Completed --Timer D--> Terminated
//! ```
//!
//! A client INVITE in Proceeding has no timer (§17.1.1.2): if the UAS never sends a
//! final response the TU must give up with [`super::TransactionLayer::cancel`], after
//! which the transaction ends within 64*T1 (§9.1). A proxy's Timer C or a B2BUA's
//! no-answer timer does exactly that.

use std::time::Instant;

use bytes::Bytes;
use ringfence_sip_types::{Request, Response};

use super::build::build_non_2xx_ack;
use super::ctx::{Ctx, due, earliest, kept};
use super::timers::Backoff;
use super::types::{Event, Peer, TxId, TxState};

/// Whether a CANCEL was asked for (RFC 3261 §9.1: not before a provisional arrived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CancelState {
    None,
    /// Asked for while Calling; sent when the first provisional response arrives.
    Pending(Vec<(String, String)>),
    Sent,
}

/// Client INVITE transaction.
#[derive(Debug)]
pub(crate) struct ClientInvite {
    pub(crate) id: TxId,
    pub(crate) dest: Peer,
    /// The INVITE, kept to build the ACK for a non-2xx and a CANCEL.
    pub(crate) request: Request,
    bytes: Bytes,
    state: TxState,
    timer_a: Option<Backoff>,
    timer_b: Option<Instant>,
    timer_d: Option<Instant>,
    timer_m: Option<Instant>,
    /// 64*T1 after a CANCEL was sent (§9.1).
    cancel_deadline: Option<Instant>,
    ack: Option<Bytes>,
    pub(crate) cancel: CancelState,
}

impl ClientInvite {
    /// Sends the INVITE and enters Calling (Timer A on unreliable transports, Timer B).
    pub(crate) fn start(
        id: TxId,
        dest: Peer,
        request: Request,
        bytes: Bytes,
        ctx: &mut Ctx<'_>,
    ) -> Self {
        ctx.out.send(Some(id), dest, bytes.clone(), false);
        let timer_a =
            (!dest.transport.is_reliable()).then(|| Backoff::start(ctx.now, ctx.timers.t1, None));
        ClientInvite {
            id,
            dest,
            request,
            bytes,
            state: TxState::Calling,
            timer_a,
            timer_b: Some(ctx.now + ctx.timers.timer_b),
            timer_d: None,
            timer_m: None,
            cancel_deadline: None,
            ack: None,
            cancel: CancelState::None,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        self.state
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        earliest([
            self.timer_a.map(|a| a.at),
            self.timer_b,
            self.timer_d,
            self.timer_m,
            self.cancel_deadline,
        ])
    }

    fn stop_calling_timers(&mut self) {
        self.timer_a = None;
        self.timer_b = None;
    }

    /// Records that a CANCEL went out: the transaction ends 64*T1 later if no final
    /// response arrives (§9.1).
    pub(crate) fn cancel_sent(&mut self, ctx: &Ctx<'_>) {
        self.cancel = CancelState::Sent;
        if matches!(self.state, TxState::Calling | TxState::Proceeding) {
            self.cancel_deadline = Some(ctx.now + ctx.timers.t1_x64());
        }
    }

    pub(crate) fn on_response(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        let status = response.status;
        match self.state {
            TxState::Calling | TxState::Proceeding => {
                self.stop_calling_timers();
                if status.is_provisional() {
                    self.state = TxState::Proceeding;
                } else if status.is_success() {
                    // RFC 6026 §8.4: Accepted, Timer M.
                    self.state = TxState::Accepted;
                    self.cancel_deadline = None;
                    self.timer_m = Some(ctx.now + ctx.timers.timer_m);
                } else {
                    self.state = TxState::Completed;
                    self.cancel_deadline = None;
                    self.send_ack(&response, ctx, false);
                    let d = ctx.timers.d(self.dest.transport.is_reliable());
                    if d.is_zero() {
                        self.state = TxState::Terminated;
                    } else {
                        self.timer_d = Some(ctx.now + d);
                    }
                }
                ctx.event(Event::Response { tx: self.id, response });
            }
            TxState::Accepted if status.is_success() => {
                ctx.event(Event::Response { tx: self.id, response });
            }
            TxState::Completed if status.is_final() && !status.is_success() => {
                // §17.1.1.2: a retransmitted final response gets the ACK again.
                ctx.out.stats.responses_absorbed += 1;
                if let Some(ack) = &self.ack {
                    ctx.out.send(Some(self.id), self.dest, ack.clone(), true);
                }
            }
            _ => ctx.out.stats.responses_absorbed += 1,
        }
    }

    fn send_ack(&mut self, response: &Response, ctx: &mut Ctx<'_>, retransmission: bool) {
        // The INVITE was validated when the transaction started and the response parsed,
        // so building the ACK only fails for a response without To; then none is sent.
        if let Ok(ack) = build_non_2xx_ack(&self.request, response) {
            let bytes = kept(ack.to_bytes());
            ctx.out.send(Some(self.id), self.dest, bytes.clone(), retransmission);
            self.ack = Some(bytes);
        }
    }

    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        if due(self.timer_b, now) || due(self.cancel_deadline, now) {
            // Timer B (§17.1.1.2) or the CANCEL wait (§9.1).
            self.state = TxState::Terminated;
            ctx.out.stats.timeouts += 1;
            ctx.event(Event::Timeout { tx: self.id });
            return;
        }
        if due(self.timer_d, now) || due(self.timer_m, now) {
            self.state = TxState::Terminated;
            return;
        }
        if let Some(a) = &mut self.timer_a
            && a.at <= now
        {
            ctx.out.send(Some(self.id), self.dest, self.bytes.clone(), true);
            a.next(now);
        }
    }

    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        self.state = TxState::Terminated;
        ctx.event(Event::TransportError { tx: self.id });
    }
}

/// Client non-INVITE transaction.
#[derive(Debug)]
pub(crate) struct ClientNonInvite {
    pub(crate) id: TxId,
    pub(crate) dest: Peer,
    bytes: Bytes,
    state: TxState,
    timer_e: Option<Backoff>,
    timer_f: Option<Instant>,
    timer_k: Option<Instant>,
}

impl ClientNonInvite {
    /// Sends the request and enters Trying (Timer E on unreliable transports, Timer F).
    pub(crate) fn start(id: TxId, dest: Peer, bytes: Bytes, ctx: &mut Ctx<'_>) -> Self {
        ctx.out.send(Some(id), dest, bytes.clone(), false);
        let timer_e = (!dest.transport.is_reliable())
            .then(|| Backoff::start(ctx.now, ctx.timers.t1, Some(ctx.timers.t2)));
        ClientNonInvite {
            id,
            dest,
            bytes,
            state: TxState::Trying,
            timer_e,
            timer_f: Some(ctx.now + ctx.timers.timer_f),
            timer_k: None,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        self.state
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        earliest([self.timer_e.map(|e| e.at), self.timer_f, self.timer_k])
    }

    pub(crate) fn on_response(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        if !matches!(self.state, TxState::Trying | TxState::Proceeding) {
            ctx.out.stats.responses_absorbed += 1;
            return;
        }
        if response.status.is_provisional() {
            self.state = TxState::Proceeding;
            if let Some(e) = &mut self.timer_e {
                // §17.1.2.2: in Proceeding, Timer E fires every T2.
                e.fixed(ctx.timers.t2);
            }
        } else {
            self.timer_e = None;
            self.timer_f = None;
            let k = ctx.timers.k(self.dest.transport.is_reliable());
            if k.is_zero() {
                self.state = TxState::Terminated;
            } else {
                self.state = TxState::Completed;
                self.timer_k = Some(ctx.now + k);
            }
        }
        ctx.event(Event::Response { tx: self.id, response });
    }

    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        if due(self.timer_f, now) {
            self.state = TxState::Terminated;
            ctx.out.stats.timeouts += 1;
            ctx.event(Event::Timeout { tx: self.id });
            return;
        }
        if due(self.timer_k, now) {
            self.state = TxState::Terminated;
            return;
        }
        if let Some(e) = &mut self.timer_e
            && e.at <= now
        {
            ctx.out.send(Some(self.id), self.dest, self.bytes.clone(), true);
            e.next(now);
        }
    }

    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        self.state = TxState::Terminated;
        ctx.event(Event::TransportError { tx: self.id });
    }
}
