//! While the callee's devices ring: provisional responses, the first 2xx, busy and
//! unreachable devices, the caller's CANCEL and the ring timeout.

use std::time::Instant;

use ringfence_sip_proto::dialog::{AnswerRetransmit, Dialog};
use ringfence_sip_proto::transaction::{Peer, Timers, TxId};
use ringfence_sip_types::{HeaderName, Method, Request, Response};
use ringfence_store::Disposition;
use time::OffsetDateTime;

use super::forward::ForwardWhen;
use super::{Answer, Call, Deferred, Leg};
use crate::b2bua::build::{self, Body};
use crate::b2bua::hooks::{SdpKind, Side};
use crate::b2bua::outcome::{choose_final, disposition_for};
use crate::b2bua::sdp;
use crate::core::ClientEvent;

/// The Reason of the CANCELs sent when another device answered (RFC 3326).
const ANSWERED_ELSEWHERE: (&str, &str) =
    ("Reason", "SIP;cause=200;text=\"Call completed elsewhere\"");

impl Call {
    pub(super) async fn on_fork_event(&mut self, i: usize, event: ClientEvent) {
        match event {
            ClientEvent::Response(r) => self.on_fork_response(i, r).await,
            ClientEvent::Timeout | ClientEvent::TransportError(_) => {
                // Another server of the trunk may take it (RFC 3263 §4.3).
                let peer = self.forks[i].peer.addr;
                let (code, why) = match event {
                    ClientEvent::TransportError(why) => (503, why),
                    _ => (408, format!("{peer} did not answer (timeout)")),
                };
                if !self.trunk_failover(i, code, &why).await {
                    self.forks[i].unreachable = true;
                    self.fork_failed(i, code);
                }
            }
        }
    }

    async fn on_fork_response(&mut self, i: usize, r: Response) {
        let code = r.status.code();
        self.forks[i].responded = true;
        if code == 100 {
            return;
        }
        if code < 200 {
            if self.winner.is_none() && self.outcome.is_none() && i >= self.fork_base {
                self.relay_provisional(i, &r);
            }
            return;
        }
        if r.status.is_success() {
            let remote = r.to().ok().and_then(|t| t.tag().map(str::to_owned));
            match self.winner {
                None if !self.a.final_sent && self.outcome.is_none() && i >= self.fork_base => {
                    self.on_answer(i, r).await;
                }
                Some(w)
                    if w == i
                        && self.legs.get(1).map(|l| &l.dialog.id().remote_tag)
                            == remote.as_ref() =>
                {
                    // Our ACK was lost: the device repeats its 2xx.
                    if let Some(ack) = self.forks[i].ack.clone() {
                        let _ = self.sh.core.send_stateless(ack.into(), self.forks[i].peer);
                    }
                }
                _ => {
                    let peer = self.forks[i].peer;
                    self.dismiss(&r, peer).await;
                }
            }
            return;
        }
        if matches!(code, 401 | 407) && self.answer_trunk_challenge(i, &r).await {
            return;
        }
        if code == 503 {
            let why = format!("{} answered 503 {}", self.forks[i].peer.addr, r.reason);
            if self.trunk_failover(i, code, &why).await {
                return;
            }
        }
        self.fork_failed(i, code);
    }

    /// A 180/183 from a device goes to the caller; early media (SDP) only from the
    /// first device that sends some.
    fn relay_provisional(&mut self, i: usize, r: &Response) {
        let mut body = None;
        if let Some(s) = sdp::response_sdp(r)
            && self.early_media.is_none_or(|e| e == i)
        {
            let kind = if self.caller_offer { SdpKind::Answer } else { SdpKind::Offer };
            let from = self.forks[i].peer.transport;
            if let Ok(b) =
                self.rewrite(Side::Callee, kind, s, from, self.a.source.transport, Some(i))
            {
                self.early_media = Some(i);
                body = Some(Body::sdp(b));
            }
        }
        let contact = self.caller_contact();
        let out = build::relay_response(&self.a.invite, r, Some(&self.a.tag), Some(&contact), body);
        self.respond_a(out);
    }

    /// A device gave a final non-2xx (or timed out, or was unreachable). When every
    /// device has, the caller gets the best of their answers.
    pub(super) fn fork_failed(&mut self, i: usize, code: u16) {
        if self.forks[i].status.is_none() {
            self.forks[i].status = Some(code);
        }
        if self.winner.is_some() || self.a.final_sent || self.outcome.is_some() {
            return;
        }
        // Forks of a round before a forward no longer decide anything.
        let round = &self.forks[self.fork_base.min(self.forks.len())..];
        if i < self.fork_base || round.iter().any(|f| f.status.is_none()) {
            return;
        }
        // No server of a trunk took the call (transport errors, timeouts, 503s): 503 with
        // why each one failed (a refused connection, a certificate that did not verify).
        if let Some(why) =
            self.forks[i].status.filter(|s| matches!(s, 408 | 503)).and(self.trunk_failures(i))
        {
            return self.refuse(503, Disposition::Failed, &why, None);
        }
        let statuses: Vec<u16> = round.iter().filter_map(|f| f.status).collect();
        let status = choose_final(&statuses);
        let when = match status {
            486 | 600 => Some(ForwardWhen::Busy),
            // A device that rang and gave up itself (its own 480 or 408) is no answer;
            // devices that never rang (no response, transport error, 503, ...) are
            // unavailable.
            480 if round.iter().any(|f| matches!(f.status, Some(480 | 408)) && !f.unreachable) => {
                Some(ForwardWhen::NoAnswer)
            }
            480 => Some(ForwardWhen::Unavailable),
            _ => None,
        };
        if when.is_some_and(|w| self.divert(w)) {
            return;
        }
        let list: Vec<String> = statuses.iter().map(u16::to_string).collect();
        let reason = format!("devices answered {}", list.join(", "));
        self.refuse(status, disposition_for(status), &reason, None);
    }

    /// The first 2xx: this device wins. Cancel the others, ACK it, answer the caller.
    async fn on_answer(&mut self, i: usize, r: Response) {
        let fork_peer = self.forks[i].peer;
        let b_dialog = match Dialog::new_uac(&self.forks[i].invite, &r, fork_peer.transport) {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(call = %self.id, error = %e, "unusable 2xx from a device");
                self.dismiss(&r, fork_peer).await;
                self.fork_failed(i, 502);
                return;
            }
        };
        let body = match sdp::response_sdp(&r) {
            Some(s) => {
                let kind = if self.caller_offer { SdpKind::Answer } else { SdpKind::Offer };
                let to = self.a.source.transport;
                match self.rewrite(Side::Callee, kind, s, fork_peer.transport, to, Some(i)) {
                    Ok(b) => Some(Body::sdp(b)),
                    Err(refusal) => {
                        tracing::debug!(call = %self.id, ?refusal, "answer refused by the SDP rewriter");
                        self.dismiss(&r, fork_peer).await;
                        self.fork_failed(i, refusal.status);
                        return;
                    }
                }
            }
            None => Body::of(&r.headers, &r.body),
        };
        let answer_srtp = sdp::response_sdp(&r).is_some_and(|s| sdp::inspect(s).all_srtp());
        self.winner = Some(i);
        for (j, f) in self.forks.iter().enumerate() {
            if j != i && f.status.is_none() {
                let _ = self.sh.core.cancel(f.tx, &[ANSWERED_ELSEWHERE]);
            }
        }

        // The callee's leg: ACK now when the caller made the offer, else when the
        // caller's ACK brings the answer.
        let b_local = self.callee_local(i, fork_peer);
        let b_contact =
            build::contact(&b_local, fork_peer.transport, self.forks[i].invite.uri.is_sips());
        let mut b_leg = Leg {
            dialog: b_dialog,
            peer: fork_peer,
            local: b_local,
            contact: b_contact,
            bye_received: false,
        };
        if self.caller_offer {
            let via = build::via(&b_leg.local, fork_peer.transport, &self.sh.core.new_branch());
            let ack = b_leg.dialog.create_ack(b_leg.dialog.invite_seq(), &via);
            let _ = self.sh.core.send_stateless(ack.clone().into(), fork_peer);
            self.forks[i].ack = Some(ack);
        }

        // The caller's leg.
        let a_contact = self.caller_contact();
        let response =
            build::relay_response(&self.a.invite, &r, Some(&self.a.tag), Some(&a_contact), body);
        let a_dialog = match Dialog::new_uas(&self.a.invite, &response, self.a.source.transport) {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(call = %self.id, error = %e, "caller's dialog not created");
                self.legs = vec![];
                let peer = fork_peer;
                let via = build::via(&b_leg.local, peer.transport, &self.sh.core.new_branch());
                if let Ok(bye) = b_leg.dialog.create_request(Method::Bye, &via) {
                    self.fire(bye, peer).await;
                }
                return self.refuse(500, Disposition::Failed, "caller's dialog not created", None);
            }
        };
        self.respond_a(response.clone());
        let a_local = self.local(self.a.source.transport);
        let a_leg = Leg {
            dialog: a_dialog,
            peer: self.a.source,
            local: a_local,
            contact: a_contact,
            bye_received: false,
        };
        self.legs = vec![a_leg, b_leg];
        let now = Instant::now();
        self.answers.push(Answer {
            side: Side::Caller,
            tx: self.a.tx,
            tx_alive: true,
            response,
            retransmit: AnswerRetransmit::new(now, &Timers::DEFAULT),
            cseq: self.a.invite.cseq().map_or(0, |c| c.seq),
            deferred: if self.caller_offer { Deferred::None } else { Deferred::Fork(i) },
            other_seq: self.legs[1].dialog.invite_seq(),
        });
        self.log.answered = Some(OffsetDateTime::now_utc());
        self.sh.answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.log.encrypted = self.a.source.transport.is_secure()
            && fork_peer.transport.is_secure()
            && self.offer_srtp
            && answer_srtp;
        self.end_deadline = Some(now + self.sh.config.max_call_duration);
        if let Some(info) = self.info() {
            self.sh.observer.call_answered(&info);
        }
        tracing::debug!(call = %self.id, fork = i, "call answered");
    }

    /// Cancels every device still ringing.
    pub(super) fn cancel_forks(&mut self, extra: &[(&str, &str)]) {
        for (j, f) in self.forks.iter().enumerate() {
            if Some(j) != self.winner && f.status.is_none() {
                let _ = self.sh.core.cancel(f.tx, extra);
            }
        }
    }

    /// A CANCEL: of the caller's INVITE (cancel every device, 487 to the caller), or of a
    /// relayed re-INVITE.
    pub(super) fn on_cancel(&mut self, tx: TxId, request: &Request) {
        if tx == self.a.tx {
            if self.a.final_sent || self.outcome.is_some() {
                return;
            }
            let reason = request.headers.get(HeaderName::Reason).map(str::to_owned);
            match &reason {
                Some(r) => self.cancel_forks(&[("Reason", r.as_str())]),
                None => self.cancel_forks(&[]),
            }
            self.refuse(487, Disposition::Cancelled, "caller cancelled", None);
            return;
        }
        let Some(relay) = self.relays.values_mut().find(|r| r.server_tx == tx && !r.finished)
        else {
            return;
        };
        relay.cancelled = true;
        let _ = self.sh.core.cancel(relay.client_tx, &[]);
        let req = relay.request.clone();
        self.reply(tx, &req, 487);
    }

    /// Nobody answered in time: no answer when a device of this round responded (it
    /// rang), unavailable when none did (every device unreachable).
    pub(super) fn ring_timeout(&mut self) {
        self.cancel_forks(&[]);
        let round = &self.forks[self.fork_base.min(self.forks.len())..];
        let when = if round.iter().any(|f| f.responded) {
            ForwardWhen::NoAnswer
        } else {
            ForwardWhen::Unavailable
        };
        if self.divert(when) {
            return;
        }
        if when == ForwardWhen::Unavailable {
            return self.refuse(480, Disposition::Unavailable, "no device responded", None);
        }
        self.refuse(480, Disposition::NoAnswer, "no answer", None);
    }

    /// An in-dialog request before the call is answered (or on a device's dialog that
    /// lost): a BYE from the caller cancels the call, anything else waits.
    pub(super) fn early_request(&mut self, side: Option<Side>, tx: TxId, request: &Request) {
        match (side, &request.method) {
            (Some(Side::Caller), Method::Bye) if self.legs.is_empty() => {
                self.reply(tx, request, 200);
                self.cancel_forks(&[]);
                self.refuse(487, Disposition::Cancelled, "caller hung up before the answer", None);
            }
            (None, _) | (_, Method::Bye) => self.reply(tx, request, 481),
            _ => self.reply(tx, request, 491),
        }
    }

    /// A 2xx to one of our INVITEs after its transaction ended.
    pub(super) async fn on_stray(&mut self, response: Response, source: Peer) {
        if self.transfer_stray(&response, source) {
            return;
        }
        let from_tag = response.from().ok().and_then(|f| f.tag().map(str::to_owned));
        let remote = response.to().ok().and_then(|t| t.tag().map(str::to_owned));
        let fork = self.forks.iter().position(|f| Some(&f.tag) == from_tag.as_ref());
        if let (Some(i), Some(w)) = (fork, self.winner)
            && i == w
            && self.legs.get(1).map(|l| &l.dialog.id().remote_tag) == remote.as_ref()
        {
            if let Some(ack) = self.forks[i].ack.clone() {
                let _ = self.sh.core.send_stateless(ack.into(), self.forks[i].peer);
            }
            return;
        }
        self.dismiss(&response, source).await;
    }
}
