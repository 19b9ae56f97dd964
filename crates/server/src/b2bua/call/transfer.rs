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
//! An extension is called like in a normal call: one INVITE per registered device, the
//! first 2xx wins and the others are CANCELled (a late 2xx gets ACK + BYE); the transfer
//! fails only when every device has. A number of the phone network gets one INVITE to the
//! trunk, whose 401/407 challenge is answered once with the trunk's credentials, exactly as
//! for a dialled call ([`super::external::authorized_invite`]).
//!
//! [`CallGate`]: crate::b2bua::CallGate

use ringfence_sip_proto::dialog::Dialog;
use ringfence_sip_proto::digest::DigestClient;
use ringfence_sip_proto::transaction::{Peer, Transport, TxId};
use ringfence_sip_types::header::NameAddr;
use ringfence_sip_types::{HeaderName, Host, Method, Request, Response, SipUri, Uri};
use ringfence_store::{CallDirection, EncryptionRequirement, Extension, ExtensionNumber};

use super::external::{authorized_invite, digest_client};
use super::{Call, ClientId, Leg};
use crate::b2bua::build::{self, Body, CalleeInvite};
use crate::b2bua::hooks::{CallAttempt, CallOrigin, Destination, GateDecision, SdpKind, Side};
use crate::b2bua::outcome::choose_final;
use crate::b2bua::routing::dialog_key;
use crate::b2bua::sdp;
use crate::core::ClientEvent;

/// A transfer in progress.
#[derive(Debug)]
pub(crate) struct Transfer {
    /// The side that sent REFER (its leg is replaced).
    transferor: Side,
    /// The INVITEs to the target: one per device of an extension, one to a trunk.
    forks: Vec<TransferFork>,
    /// The fork that answered first.
    winner: Option<usize>,
    /// The target's leg once it answered, with its offer.
    target: Option<(Leg, Vec<u8>)>,
    /// Our ACK to the target's 2xx, once sent.
    ack: Option<Request>,
    /// The re-INVITE to the transferee.
    reinvite: Option<(ClientId, u32)>,
    /// The target as the record shows it, and whether it is outside.
    callee: String,
    external: bool,
    /// The trunk's credentials, for its challenge (a transfer to the phone network).
    digest: Option<DigestClient>,
    /// A NOTIFY `180 Ringing` was sent.
    ringing: bool,
    /// When the target's devices have rung long enough (`ring_timeout`).
    pub(super) ring_deadline: std::time::Instant,
}

impl Transfer {
    /// The target's devices are ringing: nobody answered yet.
    pub(super) fn ringing_target(&self) -> bool {
        self.winner.is_none()
    }
}

/// One INVITE of a transfer to one device (or the trunk).
#[derive(Debug)]
struct TransferFork {
    id: ClientId,
    tx: TxId,
    invite: Request,
    peer: Peer,
    /// Final status and reason phrase, once there is one.
    status: Option<(u16, String)>,
    /// Its challenge was answered (a second one means the credentials are wrong).
    challenged: bool,
}

/// The Reason of the CANCELs sent when another device answered (RFC 3326).
const ANSWERED_ELSEWHERE: (&str, &str) =
    ("Reason", "SIP;cause=200;text=\"Call completed elsewhere\"");

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
        self.transfer.as_ref().is_some_and(|t| {
            t.forks.iter().any(|f| f.id == id) || t.reinvite.is_some_and(|(r, _)| r == id)
        })
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

    /// The INVITEs (without an offer) to the target: every device of an extension, or the
    /// trunk. False when none could be sent.
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
        // Set for a trunk: the address it advertises to the carrier, if any.
        let mut trunk_advertise = None;
        // (Request-URI, Path, peer) of each INVITE.
        let (targets, from, to, external, callee, digest) = match destination {
            Target::Trunk(route) => {
                let digest = digest_client(&route);
                // As for a dialled call: a TLS server must prove to be the trunk's domain,
                // and our Via and Contact name the address the carrier can reach.
                if let Some(tls) = &route.tls
                    && route.peer.transport == Transport::Tls
                {
                    sh.core.set_tls_peer(route.peer.addr, tls.clone());
                }
                trunk_advertise = Some(route.advertise.clone());
                (
                    vec![(
                        super::external::uri_for(&route.target, route.peer.transport),
                        Vec::new(),
                        route.peer,
                    )],
                    aor(&route.from_user, &route.domain),
                    aor(&route.to_user, &route.domain),
                    true,
                    route.to_user.clone(),
                    digest,
                )
            }
            Target::Extension(x) => {
                let tls_only = tenant.settings.encryption == EncryptionRequirement::Required;
                let targets: Vec<_> = sh
                    .registrar
                    .locate(tenant.id, x.id)
                    .into_iter()
                    .filter(|l| !tls_only || l.peer.transport.is_secure())
                    .map(|l| (l.contact.clone(), l.path.clone(), l.peer))
                    .collect();
                (
                    targets,
                    aor(transferor.number.as_str(), domain),
                    aor(x.number.as_str(), domain),
                    false,
                    x.number.as_str().to_owned(),
                    None,
                )
            }
        };
        let mut forks = Vec::with_capacity(targets.len());
        for (target_uri, path, peer) in targets {
            let transport = peer.transport;
            let local = match &trunk_advertise {
                Some(advertise) => self.trunk_local(advertise.as_ref(), peer),
                None => self.local(transport),
            };
            let call_id = sh.core.new_call_id(None);
            let tag = sh.core.new_tag();
            let sips = target_uri.is_sips();
            let invite = build::callee_invite(CalleeInvite {
                target: target_uri,
                path: &path,
                via: build::via(&local, transport, &sh.core.new_branch()),
                from: from.clone().with_tag(&tag),
                to: to.clone(),
                call_id: &call_id,
                max_forwards: build::next_hops(&self.a.invite),
                contact: build::contact(&local, transport, sips),
                body: None,
                caller_invite: &self.a.invite,
            });
            sh.table().add_dialog(self.id, dialog_key(&call_id, &tag));
            if let Some((id, tx)) = self.start(invite.clone(), peer, true).await {
                forks.push(TransferFork { id, tx, invite, peer, status: None, challenged: false });
            }
        }
        tracing::debug!(call = %self.id, to = %dialled, external, forks = forks.len(), "transfer: calling the target");
        if forks.is_empty() {
            return false;
        }
        self.transfer = Some(Transfer {
            transferor: side,
            forks,
            winner: None,
            target: None,
            ack: None,
            reinvite: None,
            callee,
            external,
            digest,
            ringing: false,
            ring_deadline: std::time::Instant::now() + sh.config.ring_timeout,
        });
        true
    }

    /// The target did not answer within the ring timeout: the transfer fails (480) and
    /// the call goes on.
    pub(super) async fn transfer_ring_timeout(&mut self) {
        let Some(t) = self.transfer.as_ref() else { return };
        if t.winner.is_some() {
            return;
        }
        let side = t.transferor;
        tracing::debug!(call = %self.id, "transfer: the target did not answer");
        self.transfer_failed(side, 480, "Temporarily Unavailable").await;
    }

    /// An event of the transfer's INVITEs to the target or its re-INVITE to the transferee.
    pub(super) async fn on_transfer_event(&mut self, id: ClientId, event: ClientEvent) {
        let Some(t) = self.transfer.as_ref() else { return };
        let side = t.transferor;
        if let Some(i) = t.forks.iter().position(|f| f.id == id) {
            return self.on_transfer_fork_event(i, event).await;
        }
        let r = match response_of(event) {
            Ok(r) => r,
            Err((code, reason)) => return self.transfer_failed(side, code, reason).await,
        };
        let code = r.status.code();
        if code < 200 {
            return;
        }
        if !r.status.is_success() {
            let reason = r.reason.clone();
            return self.transfer_failed(side, code, &reason).await;
        }
        self.transferee_answered(r).await;
    }

    /// An event of the INVITE to one of the target's devices (or the trunk).
    async fn on_transfer_fork_event(&mut self, i: usize, event: ClientEvent) {
        let r = match response_of(event) {
            Ok(r) => r,
            Err((code, reason)) => return self.transfer_fork_failed(i, code, reason).await,
        };
        let code = r.status.code();
        let Some(t) = self.transfer.as_mut() else { return };
        let side = t.transferor;
        if code < 200 {
            if code == 180 && t.winner.is_none() && !t.ringing {
                t.ringing = true;
                self.notify(side, "SIP/2.0 180 Ringing", false).await;
            }
            return;
        }
        if r.status.is_success() {
            match t.winner {
                None => {
                    t.winner = Some(i);
                    for (j, f) in t.forks.iter().enumerate() {
                        if j != i && f.status.is_none() {
                            let _ = self.sh.core.cancel(f.tx, &[ANSWERED_ELSEWHERE]);
                        }
                    }
                    self.target_answered(r).await;
                }
                Some(w) if w == i => self.target_answered(r).await,
                Some(_) => {
                    // Another device answered too late: ACK + BYE.
                    let peer = t.forks[i].peer;
                    self.dismiss(&r, peer).await;
                }
            }
            return;
        }
        if matches!(code, 401 | 407) && self.answer_transfer_challenge(i, &r).await {
            return;
        }
        let reason = r.reason.clone();
        self.transfer_fork_failed(i, code, &reason).await;
    }

    /// The trunk challenged the transfer's INVITE: send it again with the trunk's
    /// credentials, once, as for a dialled call.
    async fn answer_transfer_challenge(&mut self, i: usize, r: &Response) -> bool {
        let Some(peer) = self.transfer.as_ref().map(|t| t.forks[i].peer) else { return false };
        let local = self.local(peer.transport);
        let via = build::via(&local, peer.transport, &self.sh.core.new_branch());
        let Some(t) = self.transfer.as_mut() else { return false };
        let Some(client) = t.digest.as_mut() else { return false };
        if t.forks[i].challenged {
            tracing::warn!(call = %self.id, "trunk refused our credentials (transfer)");
            return false;
        }
        let Some(next) = authorized_invite(client, &t.forks[i].invite, r, via) else {
            return false;
        };
        match self.start(next.clone(), peer, true).await {
            Some((id, tx)) => {
                if let Some(t) = self.transfer.as_mut() {
                    let f = &mut t.forks[i];
                    f.id = id;
                    f.tx = tx;
                    f.invite = next;
                    f.challenged = true;
                }
                true
            }
            None => false,
        }
    }

    /// Fork `i` of the transfer failed with `code`: once every fork has, so has the
    /// transfer (with the best of their answers, as for a normal call).
    async fn transfer_fork_failed(&mut self, i: usize, code: u16, reason: &str) {
        let Some(t) = self.transfer.as_mut() else { return };
        if t.forks[i].status.is_none() {
            t.forks[i].status = Some((code, reason.to_owned()));
        }
        if t.winner.is_some() || t.forks.iter().any(|f| f.status.is_none()) {
            return;
        }
        let side = t.transferor;
        let (code, reason) = if let [only] = t.forks.as_slice() {
            only.status.clone().unwrap_or((500, "Server Internal Error".into()))
        } else {
            let statuses: Vec<u16> =
                t.forks.iter().filter_map(|f| f.status.as_ref().map(|s| s.0)).collect();
            let code = choose_final(&statuses);
            let reason = t
                .forks
                .iter()
                .filter_map(|f| f.status.as_ref())
                .find(|s| s.0 == code)
                .map_or_else(|| "Temporarily Unavailable".to_owned(), |s| s.1.clone());
            (code, reason)
        };
        self.transfer_failed(side, code, &reason).await;
    }

    /// The target answered with its offer: re-INVITE the transferee with it.
    async fn target_answered(&mut self, r: Response) {
        let Some(t) = self.transfer.as_mut() else { return };
        let Some(w) = t.winner else { return };
        let peer = t.forks[w].peer;
        if t.target.is_some() {
            // A repeated 2xx: our ACK waits for the transferee's answer, or was lost.
            if let Some(ack) = t.ack.clone() {
                let _ = self.sh.core.send_stateless(ack.into(), peer);
            }
            return;
        }
        let side = t.transferor;
        let dialog = match Dialog::new_uac(&t.forks[w].invite, &r, peer.transport) {
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
        self.retire_transfer_forks(&t);
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
        self.retire_transfer_forks(&t);
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
        self.retire_transfer_forks(&t);
        if let Some((mut leg, _)) = t.target.take() {
            let via = build::via(&leg.local, leg.peer.transport, &self.sh.core.new_branch());
            let ack = leg.dialog.create_ack(leg.dialog.invite_seq(), &via);
            let _ = self.sh.core.send_stateless(ack.into(), leg.peer);
            if let Ok(bye) = leg.dialog.create_request(Method::Bye, &via) {
                self.fire(bye, leg.peer).await;
            }
        }
    }

    /// The transfer is over: CANCEL the target's devices still ringing, and remember
    /// the ones that lost, so a 2xx of theirs that crosses the CANCEL gets ACK + BYE.
    fn retire_transfer_forks(&mut self, t: &Transfer) {
        for (j, f) in t.forks.iter().enumerate() {
            if Some(j) == t.winner {
                continue;
            }
            if f.status.is_none() {
                let _ = self.sh.core.cancel(f.tx, &[]);
            }
            self.transfer_losers.push((f.id, f.peer));
        }
    }

    /// A 2xx to the INVITE of a transfer fork that lost (or of a transfer that is over):
    /// ACK + BYE. True when `id` is such a fork.
    pub(super) async fn transfer_loser_event(&mut self, id: ClientId, event: &ClientEvent) -> bool {
        let Some(&(_, peer)) = self.transfer_losers.iter().find(|(l, _)| *l == id) else {
            return false;
        };
        if let ClientEvent::Response(r) = event
            && r.status.is_success()
        {
            self.dismiss(r, peer).await;
        }
        true
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

/// A transfer INVITE's response, or the status a timeout (408) or transport error (503)
/// stands for.
fn response_of(event: ClientEvent) -> Result<Response, (u16, &'static str)> {
    match event {
        ClientEvent::Response(r) => Ok(r),
        ClientEvent::Timeout => Err((408, "Request Timeout")),
        ClientEvent::TransportError(_) => Err((503, "Service Unavailable")),
    }
}
