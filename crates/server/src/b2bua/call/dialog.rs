//! An answered call: BYE from either side, re-INVITE / UPDATE / INFO relayed both ways
//! with their responses, ACKs for our 2xx (and the other leg's deferred ACK).

use std::time::Instant;

use ringfence_sip_proto::Error as ProtoError;
use ringfence_sip_proto::dialog::AnswerRetransmit;
use ringfence_sip_proto::transaction::{Peer, Timers, TxId};
use ringfence_sip_types::{Method, Request, Response};

use super::{Answer, Call, ClientId, Deferred, Relay};
use crate::b2bua::build::{self, Body};
use crate::b2bua::hooks::{SdpKind, Side};
use crate::b2bua::sdp;
use crate::core::ClientEvent;

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Caller => "caller hung up",
        Side::Callee => "callee hung up",
    }
}

impl Call {
    pub(super) async fn on_dialog_request(
        &mut self,
        side: Side,
        tx: TxId,
        request: Request,
        source: Peer,
    ) {
        let leg = &mut self.legs[side.index()];
        if let Err(e) = leg.dialog.handle_request(&request) {
            let code = if matches!(e, ProtoError::CSeqOutOfOrder { .. }) { 500 } else { 481 };
            self.reply(tx, &request, code);
            return;
        }
        // Follow the device if its address changed (NAT rebinding, new connection).
        leg.peer = source;
        match request.method {
            Method::Bye => {
                self.reply(tx, &request, 200);
                self.legs[side.index()].bye_received = true;
                self.bye_after_ack[side.index()] = false;
                self.end_answered(side_name(side)).await;
            }
            Method::Invite | Method::Update | Method::Info | Method::Message => {
                self.relay(side, tx, request).await;
            }
            Method::Refer => self.on_refer(side, tx, request).await,
            _ => self.reply(tx, &request, 501),
        }
    }

    /// True while an offer/answer exchange by INVITE is open in either direction.
    fn invite_pending(&self) -> bool {
        self.relays.values().any(|r| r.request.method == Method::Invite && !r.finished)
            || self.answers.iter().any(|a| a.deferred != Deferred::None)
    }

    /// Sends `request` (received on `side`) on the other leg.
    async fn relay(&mut self, side: Side, tx: TxId, request: Request) {
        let other = side.other();
        // RFC 3261 §14.1/§14.2: one INVITE exchange at a time; glare gets 491.
        if request.method == Method::Invite && self.invite_pending() {
            self.reply(tx, &request, 491);
            return;
        }
        let from_t = self.legs[side.index()].peer.transport;
        let to_t = self.legs[other.index()].peer.transport;
        let body = match sdp::request_sdp(&request) {
            Some(s) => match self.rewrite(side, SdpKind::Offer, s, from_t, to_t, None) {
                Ok(b) => Some(Body::sdp(b)),
                Err(refusal) => {
                    let agent = self.domain();
                    let r = build::local_response(
                        &request,
                        refusal.status,
                        None,
                        Some((&agent, &refusal.warning)),
                    );
                    let _ = self.sh.core.respond(tx, r);
                    return;
                }
            },
            None => Body::of(&request.headers, &request.body),
        };
        let leg = &mut self.legs[other.index()];
        let via = build::via(&leg.local, to_t, &self.sh.core.new_branch());
        let Ok(mut out) = leg.dialog.create_request(request.method.clone(), &via) else {
            self.reply(tx, &request, 481);
            return;
        };
        build::relay_request(&mut out, &request, body);
        let peer = leg.peer;
        match self.start(out.clone(), peer, false).await {
            Some((id, client_tx)) => {
                self.relays.insert(
                    id,
                    Relay {
                        from: side,
                        server_tx: tx,
                        request,
                        sent: out,
                        client_tx,
                        cancelled: false,
                        finished: false,
                        ack: None,
                    },
                );
            }
            None => self.reply(tx, &request, 503),
        }
    }

    /// An event of a relayed request's transaction on the other leg.
    pub(super) async fn on_relay_event(&mut self, id: ClientId, event: ClientEvent) {
        let Some(relay) = self.relays.get(&id) else { return };
        let (from, other) = (relay.from, relay.from.other());
        match event {
            ClientEvent::Response(r) => self.on_relay_response(id, from, other, r).await,
            _ => {
                // RFC 3261 §12.2.1.2: a timeout (or unreachable device) ends the dialog.
                let (tx, req, open) = (relay.server_tx, relay.request.clone(), !relay.finished);
                if let Some(r) = self.relays.get_mut(&id) {
                    r.finished = true;
                }
                if open {
                    self.reply(tx, &req, 408);
                }
                self.end_answered("the other side stopped answering").await;
            }
        }
    }

    async fn on_relay_response(&mut self, id: ClientId, from: Side, other: Side, r: Response) {
        let code = r.status.code();
        if code == 100 {
            return;
        }
        let Some(relay) = self.relays.get(&id) else { return };
        if relay.finished {
            // A repeated 2xx to a re-INVITE: our ACK was lost.
            if r.status.is_success()
                && let Some(ack) = relay.ack.clone()
            {
                let _ = self.sh.core.send_stateless(ack.into(), self.legs[other.index()].peer);
            }
            return;
        }
        let request = relay.request.clone();
        let sent_seq = relay.sent.cseq().map_or(0, |c| c.seq);
        let (server_tx, cancelled) = (relay.server_tx, relay.cancelled);
        let is_invite = request.method == Method::Invite;
        let offer_in_request = sdp::request_sdp(&request).is_some();
        if code < 200 {
            if !cancelled && code != 100 {
                let out = build::relay_response(&request, &r, None, None, None);
                let _ = self.sh.core.respond(server_tx, out);
            }
            return;
        }
        if let Some(relay) = self.relays.get_mut(&id) {
            relay.finished = true;
        }
        let _ = self.legs[other.index()].dialog.handle_response(&r);
        let from_t = self.legs[other.index()].peer.transport;
        let to_t = self.legs[from.index()].peer.transport;
        let body = match sdp::response_sdp(&r) {
            Some(s) => {
                let kind = if offer_in_request { SdpKind::Answer } else { SdpKind::Offer };
                match self.rewrite(other, kind, s, from_t, to_t, None) {
                    Ok(b) => Some(Body::sdp(b)),
                    Err(refusal) => {
                        tracing::debug!(call = %self.id, ?refusal, "SDP in a relayed response refused");
                        None
                    }
                }
            }
            None => Body::of(&r.headers, &r.body),
        };
        let success = r.status.is_success();
        let refresh = success && matches!(request.method, Method::Invite | Method::Update);
        let contact = refresh.then(|| self.legs[from.index()].contact.clone());
        let out = build::relay_response(&request, &r, None, contact.as_ref(), body);
        if is_invite && success {
            if offer_in_request {
                let leg = &self.legs[other.index()];
                let via = build::via(&leg.local, from_t, &self.sh.core.new_branch());
                let ack = leg.dialog.create_ack(sent_seq, &via);
                let _ = self.sh.core.send_stateless(ack.clone().into(), leg.peer);
                if let Some(relay) = self.relays.get_mut(&id) {
                    relay.ack = Some(ack);
                }
            }
            if !cancelled {
                self.answers.push(Answer {
                    side: from,
                    tx: server_tx,
                    tx_alive: true,
                    response: out.clone(),
                    retransmit: AnswerRetransmit::new(Instant::now(), &Timers::DEFAULT),
                    cseq: request.cseq().map_or(0, |c| c.seq),
                    deferred: if offer_in_request { Deferred::None } else { Deferred::Relay(id) },
                    other_seq: sent_seq,
                });
            }
        }
        if !cancelled {
            let _ = self.sh.core.respond(server_tx, out);
        }
        if code == 481 || code == 408 {
            self.end_answered("the other side lost the dialog").await;
        }
    }

    /// An ACK for one of our 2xx: stop retransmitting it; when the 2xx carried the
    /// offer, the ACK carries the answer, which the other leg's ACK takes along.
    pub(super) async fn on_ack(&mut self, request: Request, source: Peer) {
        if self.legs.is_empty() {
            return;
        }
        let Some(side) = self.side_of(&request) else { return };
        self.legs[side.index()].peer = source;
        let seq = request.cseq().map_or(0, |c| c.seq);
        let Some(pos) = self.answers.iter().position(|a| a.side == side && a.cseq == seq) else {
            return;
        };
        let answer = self.answers.remove(pos);
        if self.outcome.is_some() {
            // The call has ended meanwhile: the BYE that waited for this ACK goes now.
            self.send_deferred_byes(false).await;
            return;
        }
        if answer.deferred == Deferred::None {
            return;
        }
        let other = side.other();
        let from_t = self.legs[side.index()].peer.transport;
        let to_t = self.legs[other.index()].peer.transport;
        let body = match sdp::request_sdp(&request) {
            Some(s) => {
                self.rewrite(side, SdpKind::Answer, s, from_t, to_t, None).ok().map(Body::sdp)
            }
            None => Body::of(&request.headers, &request.body),
        };
        let leg = &self.legs[other.index()];
        let via = build::via(&leg.local, to_t, &self.sh.core.new_branch());
        let mut ack = leg.dialog.create_ack(answer.other_seq, &via);
        build::relay_request(&mut ack, &request, body);
        let _ = self.sh.core.send_stateless(ack.clone().into(), leg.peer);
        match answer.deferred {
            Deferred::Fork(i) => self.forks[i].ack = Some(ack),
            Deferred::Relay(id) => {
                if let Some(r) = self.relays.get_mut(&id) {
                    r.ack = Some(ack);
                }
            }
            Deferred::None => {}
        }
    }
}
