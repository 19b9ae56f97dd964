//! Blind transfer (RFC 3515 REFER, RFC 3420 `message/sipfrag` NOTIFYs) inside an answered
//! call. The party that sends REFER is the **transferor**; the other one, the
//! **transferee**, is connected to the Refer-To target and the transferor's leg is ended.
//!
//! The decision comes first, before anything is accepted: the transferor must be an
//! extension of the tenant (a REFER from the phone network is refused), the target is
//! another extension or a number of the phone network; a number goes through the
//! [`CallGate`] with [`CallOrigin::Transfer`] on behalf of the transferor (its
//! restrictions, its fraud counters). A refusal answers the REFER with the gate's status and
//! reason phrase, and the call goes on as before. An attended transfer (`Replaces` in the
//! Refer-To) is not supported (501).
//!
//! Once accepted (202 and a NOTIFY `100 Trying`), the B2BUA calls the target with no offer
//! (RFC 3725 flow I: the target's 2xx carries the offer), re-INVITEs the transferee with
//! that offer, ACKs the target with the transferee's answer, NOTIFYs `200 OK` and hangs up
//! the transferor. If the target or the transferee refuses, the target leg is dropped, the
//! final NOTIFY carries the failure and the original call is left as it was.
//!
//! [`CallGate`]: crate::b2bua::CallGate

use ringfence_sip_proto::dialog::Dialog;
use ringfence_sip_proto::transaction::{Peer, TxId};
use ringfence_sip_types::header::NameAddr;
use ringfence_sip_types::{HeaderName, Host, Method, Request, Response, SipUri, Uri};
use ringfence_store::{CallDirection, EncryptionRequirement, Extension, ExtensionNumber};

use super::{Call, ClientId, Leg};
use crate::b2bua::build::{self, Body, CalleeInvite};
use crate::b2bua::hooks::{CallAttempt, CallOrigin, Destination, GateDecision, SdpKind, Side};
use crate::b2bua::routing::dialog_key;
use crate::b2bua::sdp;
use crate::core::ClientEvent;

/// A transfer in progress.
#[derive(Debug)]
pub(crate) struct Transfer {
    /// The side that sent REFER (its leg is replaced).
    transferor: Side,
    /// The INVITE to the target.
    invite_id: ClientId,
    invite_tx: TxId,
    invite: Request,
    peer: Peer,
    /// The target's leg once it answered, with its offer.
    target: Option<(Leg, Vec<u8>)>,
    /// Our ACK to the target's 2xx, once sent.
    ack: Option<Request>,
    /// The re-INVITE to the transferee.
    reinvite: Option<(ClientId, u32)>,
    /// The target as the record shows it, and whether it is outside.
    callee: String,
    external: bool,
}

/// Where a transfer goes.
enum Target {
    Extension(Extension),
    Trunk(crate::b2bua::route::ExternalRoute),
}

fn aor(user: &str, domain: &str) -> NameAddr {
    let host = Host::parse(domain).unwrap_or_else(|_| Host::Domain(domain.to_owned()));
    NameAddr::new(Uri::Sip(SipUri::new(host).with_user(user)))
}

impl Call {
    /// True when `id` is one of the transfer's client transactions.
    pub(super) fn is_transfer_client(&self, id: ClientId) -> bool {
        self.transfer
            .as_ref()
            .is_some_and(|t| t.invite_id == id || t.reinvite.is_some_and(|(r, _)| r == id))
    }

    /// Answers `request` with `status` and reason phrase `phrase`.
    fn reply_phrase(&self, tx: TxId, request: &Request, status: u16, phrase: &str) {
        let mut r = build::local_response(request, status, None, None);
        r.reason = phrase.chars().filter(|c| !c.is_control()).take(100).collect();
        let _ = self.sh.core.respond(tx, r);
    }

    /// A NOTIFY in the transferor's dialog carrying `frag` (a status line).
    async fn notify(&mut self, side: Side, frag: &str, terminated: bool) {
        let leg = &mut self.legs[side.index()];
        if leg.bye_received {
            return;
        }
        let via = build::via(&leg.local, leg.peer.transport, &self.sh.core.new_branch());
        let peer = leg.peer;
        let Ok(mut n) = leg.dialog.create_request(Method::Notify, &via) else { return };
        n.headers.push(HeaderName::Event, "refer");
        let state = if terminated { "terminated;reason=noresource" } else { "active;expires=60" };
        n.headers.push("Subscription-State", state);
        n.headers.push(HeaderName::Contact, &leg.contact.to_string());
        let body = Body {
            content_type: "message/sipfrag;version=2.0".into(),
            bytes: format!("{frag}\r\n").into_bytes(),
        };
        build::set_body(&mut n.headers, &mut n.body, Some(body));
        self.fire(n, peer).await;
    }

    /// A REFER from `side` in the answered call.
    pub(super) async fn on_refer(&mut self, side: Side, tx: TxId, request: Request) {
        if self.transfer.is_some() || self.legs.len() != 2 || self.outcome.is_some() {
            return self.reply(tx, &request, 491);
        }
        let Some(parties) = self.parties.clone() else {
            return self.reply(tx, &request, 500);
        };
        let refer_to =
            request.headers.get(HeaderName::ReferTo).and_then(|v| NameAddr::parse(v).ok());
        let Some(sip) = refer_to.as_ref().and_then(|n| n.uri.as_sip()) else {
            return self.reply_phrase(tx, &request, 400, "Bad Refer-To");
        };
        if !sip.headers.is_empty() {
            return self.reply_phrase(tx, &request, 501, "Attended Transfer Not Supported");
        }
        let target = sip
            .user_unescaped()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if target.is_empty() {
            return self.reply_phrase(tx, &request, 400, "Bad Refer-To");
        }
        // The transferor: an extension of the tenant, never the phone network.
        let transferor_id = match side {
            Side::Caller if self.log.direction != CallDirection::Inbound => Some(parties.caller_id),
            Side::Callee if self.trunk.is_none() => parties.callee_id,
            _ => None,
        };
        let Some(transferor_id) = transferor_id else {
            tracing::warn!(call = %self.id, "REFER from the phone network refused");
            return self.reply_phrase(tx, &request, 403, "Transfer Not Allowed");
        };
        let sh = self.sh.clone();
        let tenant = parties.tenant.clone();
        let transferor = match sh.store.extension(tenant.id, transferor_id).await {
            Ok(Some(x)) => x,
            Ok(None) => return self.reply(tx, &request, 403),
            Err(e) => {
                tracing::error!(error = %e, "transferor lookup failed");
                return self.reply(tx, &request, 500);
            }
        };
        let destination = if ExtensionNumber::parse(&target).is_ok() {
            match sh.store.extension_by_number(tenant.id, &target).await {
                Ok(Some(x)) if x.enabled => Target::Extension(x),
                Ok(_) => return self.reply(tx, &request, 404),
                Err(_) => return self.reply(tx, &request, 500),
            }
        } else {
            if self.trunk.is_some() {
                // Both remaining parties would be outside: a bridge between two trunk legs.
                return self.reply_phrase(tx, &request, 403, "Transfer Not Allowed");
            }
            let decision = sh.gate.check(&CallAttempt {
                call: self.id,
                tenant: &tenant,
                caller: transferor.number.as_str(),
                caller_id: transferor.id,
                destination: Destination::External { dialled: &target },
                origin: CallOrigin::Transfer,
                source: self.a.source,
                restrictions: &transferor.restrictions,
            });
            match decision {
                GateDecision::Route(route) => Target::Trunk(route),
                GateDecision::Refuse { status, phrase, reason } => {
                    tracing::info!(call = %self.id, by = %transferor.number, %reason, "transfer refused");
                    return self.reply_phrase(tx, &request, status, &phrase);
                }
                GateDecision::Deny { status, reason } => {
                    tracing::info!(call = %self.id, by = %transferor.number, %reason, "transfer refused");
                    let status = if (400..700).contains(&status) { status } else { 403 };
                    return self.reply(tx, &request, status);
                }
                _ => return self.reply(tx, &request, 404),
            }
        };
        let _ = self.sh.core.respond(tx, build::local_response(&request, 202, None, None));
        self.notify(side, "SIP/2.0 100 Trying", false).await;
        if !self.start_transfer(side, &tenant, &transferor, destination, &target).await {
            self.notify(side, "SIP/2.0 503 Service Unavailable", true).await;
        }
    }

    /// The INVITE (without an offer) to the target.
    async fn start_transfer(
        &mut self,
        side: Side,
        tenant: &ringfence_store::Tenant,
        transferor: &Extension,
        destination: Target,
        dialled: &str,
    ) -> bool {
        let sh = self.sh.clone();
        let domain = tenant.domain.as_str();
        let (target_uri, path, peer, from, to, external, callee) = match destination {
            Target::Trunk(route) => (
                route.target.clone(),
                Vec::new(),
                route.peer,
                aor(&route.from_user, &route.domain),
                aor(&route.to_user, &route.domain),
                true,
                route.to_user.clone(),
            ),
            Target::Extension(x) => {
                let tls_only = tenant.settings.encryption == EncryptionRequirement::Required;
                let Some(loc) = sh
                    .registrar
                    .locate(tenant.id, x.id)
                    .into_iter()
                    .find(|l| !tls_only || l.peer.transport.is_secure())
                else {
                    return false;
                };
                (
                    loc.contact.clone(),
                    loc.path.clone(),
                    loc.peer,
                    aor(transferor.number.as_str(), domain),
                    aor(x.number.as_str(), domain),
                    false,
                    x.number.as_str().to_owned(),
                )
            }
        };
        let transport = peer.transport;
        let local = self.local(transport);
        let call_id = sh.core.new_call_id(None);
        let tag = sh.core.new_tag();
        let invite = build::callee_invite(CalleeInvite {
            target: target_uri,
            path: &path,
            via: build::via(&local, transport, &sh.core.new_branch()),
            from: from.with_tag(&tag),
            to,
            call_id: &call_id,
            max_forwards: build::next_hops(&self.a.invite),
            contact: build::contact(&local, transport, false),
            body: None,
            caller_invite: &self.a.invite,
        });
        sh.table().add_dialog(self.id, dialog_key(&call_id, &tag));
        tracing::debug!(call = %self.id, to = %dialled, external, "transfer: calling the target");
        match self.start(invite.clone(), peer, true).await {
            Some((invite_id, invite_tx)) => {
                self.transfer = Some(Transfer {
                    transferor: side,
                    invite_id,
                    invite_tx,
                    invite,
                    peer,
                    target: None,
                    ack: None,
                    reinvite: None,
                    callee,
                    external,
                });
                true
            }
            None => false,
        }
    }

    /// An event of the transfer's INVITE to the target or its re-INVITE to the transferee.
    pub(super) async fn on_transfer_event(&mut self, id: ClientId, event: ClientEvent) {
        let Some(t) = self.transfer.as_ref() else { return };
        let side = t.transferor;
        let is_invite = t.invite_id == id;
        let r = match event {
            ClientEvent::Response(r) => r,
            ClientEvent::Timeout => {
                return self.transfer_failed(side, 408, "Request Timeout").await;
            }
            ClientEvent::TransportError(_) => {
                return self.transfer_failed(side, 503, "Service Unavailable").await;
            }
        };
        let code = r.status.code();
        if code < 200 {
            if is_invite && code == 180 {
                self.notify(side, "SIP/2.0 180 Ringing", false).await;
            }
            return;
        }
        if !r.status.is_success() {
            let reason = r.reason.clone();
            return self.transfer_failed(side, code, &reason).await;
        }
        if is_invite {
            self.target_answered(r).await;
        } else {
            self.transferee_answered(r).await;
        }
    }

    /// The target answered with its offer: re-INVITE the transferee with it.
    async fn target_answered(&mut self, r: Response) {
        let Some(t) = self.transfer.as_mut() else { return };
        if t.target.is_some() {
            // A repeated 2xx: our ACK waits for the transferee's answer, or was lost.
            if let Some(ack) = t.ack.clone() {
                let _ = self.sh.core.send_stateless(ack.into(), t.peer);
            }
            return;
        }
        let side = t.transferor;
        let peer = t.peer;
        let dialog = match Dialog::new_uac(&t.invite, &r, peer.transport) {
            Ok(d) => d,
            Err(_) => return self.transfer_failed(side, 502, "Bad Gateway").await,
        };
        let local = self.local(peer.transport);
        let contact = build::contact(&local, peer.transport, false);
        let leg = Leg { dialog, peer, local, contact, bye_received: false };
        let Some(offer) = sdp::response_sdp(&r).map(<[u8]>::to_vec) else {
            if let Some(t) = self.transfer.as_mut() {
                t.target = Some((leg, Vec::new()));
            }
            return self.transfer_failed(side, 488, "Not Acceptable Here").await;
        };
        let transferee = side.other();
        let to_t = self.legs[transferee.index()].peer.transport;
        let body = match self.rewrite(side, SdpKind::Offer, &offer, peer.transport, to_t, None) {
            Ok(b) => b,
            Err(_) => {
                if let Some(t) = self.transfer.as_mut() {
                    t.target = Some((leg, offer));
                }
                return self.transfer_failed(side, 488, "Not Acceptable Here").await;
            }
        };
        if let Some(t) = self.transfer.as_mut() {
            t.target = Some((leg, offer));
        }
        let x = &mut self.legs[transferee.index()];
        let via = build::via(&x.local, to_t, &self.sh.core.new_branch());
        let xpeer = x.peer;
        let Ok(mut reinvite) = x.dialog.create_request(Method::Invite, &via) else {
            return self.transfer_failed(side, 500, "Server Internal Error").await;
        };
        reinvite.headers.push(HeaderName::Contact, &x.contact.to_string());
        build::set_body(&mut reinvite.headers, &mut reinvite.body, Some(Body::sdp(body)));
        let seq = reinvite.cseq().map_or(0, |c| c.seq);
        match self.start(reinvite, xpeer, false).await {
            Some((id, _)) => {
                if let Some(t) = self.transfer.as_mut() {
                    t.reinvite = Some((id, seq));
                }
            }
            None => self.transfer_failed(side, 500, "Server Internal Error").await,
        }
    }

    /// The transferee answered the re-INVITE: ACK both, NOTIFY 200, hang up the transferor
    /// and put the target's leg in its place.
    async fn transferee_answered(&mut self, r: Response) {
        let Some(mut t) = self.transfer.take() else { return };
        let side = t.transferor;
        let transferee = side.other();
        let Some((mut leg, _)) = t.target.take() else { return };
        let Some((_, seq)) = t.reinvite else { return };
        // The transferee's leg: ACK its 2xx.
        let x = &mut self.legs[transferee.index()];
        let _ = x.dialog.handle_response(&r);
        let via = build::via(&x.local, x.peer.transport, &self.sh.core.new_branch());
        let ack = x.dialog.create_ack(seq, &via);
        let _ = self.sh.core.send_stateless(ack.into(), x.peer);
        let xt = x.peer.transport;
        // The target's leg: ACK its 2xx with the transferee's answer.
        let answer = sdp::response_sdp(&r).and_then(|s| {
            self.rewrite(transferee, SdpKind::Answer, s, xt, leg.peer.transport, None).ok()
        });
        let via = build::via(&leg.local, leg.peer.transport, &self.sh.core.new_branch());
        let mut ack = leg.dialog.create_ack(leg.dialog.invite_seq(), &via);
        build::set_body(&mut ack.headers, &mut ack.body, answer.map(Body::sdp));
        let _ = self.sh.core.send_stateless(ack.clone().into(), leg.peer);
        let local_tag = leg.dialog.id().local_tag.clone();
        self.transfer_acks.push((local_tag, ack));
        self.notify(side, "SIP/2.0 200 OK", true).await;
        // The transferor leaves; the target takes its place.
        self.send_bye(side.index()).await;
        leg.bye_received = false;
        self.legs[side.index()] = leg;
        self.bye_after_ack[side.index()] = false;
        self.answers.retain(|a| a.side != side);
        if t.external {
            self.log.direction = CallDirection::Outbound;
        }
        self.log.callee = std::mem::take(&mut t.callee);
        tracing::debug!(call = %self.id, "transfer completed");
        if t.external
            && let Some(info) = self.info()
        {
            // The outside leg's running cost starts now.
            self.sh.observer.call_answered(&info);
        }
    }

    /// The transfer failed with `code`: drop the target's leg, tell the transferor; the
    /// original call goes on.
    async fn transfer_failed(&mut self, side: Side, code: u16, reason: &str) {
        let Some(mut t) = self.transfer.take() else { return };
        if let Some((mut leg, _)) = t.target.take() {
            let via = build::via(&leg.local, leg.peer.transport, &self.sh.core.new_branch());
            let ack = leg.dialog.create_ack(leg.dialog.invite_seq(), &via);
            let _ = self.sh.core.send_stateless(ack.into(), leg.peer);
            if let Ok(bye) = leg.dialog.create_request(Method::Bye, &via) {
                self.fire(bye, leg.peer).await;
            }
        }
        tracing::debug!(call = %self.id, code, "transfer failed");
        self.notify(side, &format!("SIP/2.0 {code} {reason}"), true).await;
    }

    /// The call ends during a transfer: cancel or hang up the target.
    pub(super) async fn abandon_transfer(&mut self) {
        let Some(mut t) = self.transfer.take() else { return };
        match t.target.take() {
            Some((mut leg, _)) => {
                let via = build::via(&leg.local, leg.peer.transport, &self.sh.core.new_branch());
                let ack = leg.dialog.create_ack(leg.dialog.invite_seq(), &via);
                let _ = self.sh.core.send_stateless(ack.into(), leg.peer);
                if let Ok(bye) = leg.dialog.create_request(Method::Bye, &via) {
                    self.fire(bye, leg.peer).await;
                }
            }
            None => {
                let _ = self.sh.core.cancel(t.invite_tx, &[]);
            }
        }
    }

    /// A 2xx to the transfer's INVITE after its transaction ended: our ACK again.
    pub(super) fn transfer_stray(&self, response: &Response, source: Peer) -> bool {
        let from_tag = response.from().ok().and_then(|f| f.tag().map(str::to_owned));
        let Some(tag) = from_tag else { return false };
        if let Some((_, ack)) = self.transfer_acks.iter().find(|(t, _)| *t == tag) {
            let _ = self.sh.core.send_stateless(ack.clone().into(), source);
            return true;
        }
        false
    }
}
