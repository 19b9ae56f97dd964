//! Calls that leave the system: one INVITE to the trunk the gate chose, digest
//! authentication when the trunk challenges it, and refusals with the gate's reason
//! phrase.

use std::time::Instant;

use ringfence_sip_proto::digest::{DigestClient, Secret};
use ringfence_sip_proto::transaction::{Peer, Transport};
use ringfence_sip_types::header::NameAddr;
use ringfence_sip_types::{HeaderName, Host, SipUri, Uri};
use ringfence_store::{CallDirection, Disposition};

use super::{ActiveGuard, Call, Fork, Parties};
use crate::b2bua::build::{self, Body, CalleeInvite};
use crate::b2bua::hooks::{SdpKind, Side};
use crate::b2bua::route::{ExternalRoute, InboundDecision};
use crate::b2bua::routing::dialog_key;
use crate::b2bua::sdp;

/// What a call to a trunk remembers: the route, which forks already answered a
/// challenge (a second challenge means the credentials are wrong), the trunk's fork and
/// the servers not tried yet (RFC 3263 §4.3).
#[derive(Debug)]
pub(crate) struct TrunkLeg {
    route: ExternalRoute,
    client: Option<DigestClient>,
    challenged: Vec<u64>,
    fork: Option<usize>,
    alternates: std::collections::VecDeque<Peer>,
    /// Why each server tried so far failed (transport error, timeout, 503), for the record.
    failures: Vec<String>,
}

/// The longest reason the record keeps from a trunk's failures.
const MAX_FAILURE_TEXT: usize = 480;

/// The Request-URI for a trunk server reached over `transport`. Over TLS it is a SIPS URI
/// (RFC 3261 §19.1, §26.2.2): RFC 5630 §3.2.2 deprecates `transport=tls`, and a SIPS
/// URI asks for TLS up to the carrier's domain, which is the hop we secure (the carrier's
/// certificate is checked for that domain, RFC 5922). Over UDP and TCP it is a SIP URI
/// as the gate built it.
pub(super) fn uri_for(target: &Uri, transport: Transport) -> Uri {
    match target {
        Uri::Sip(u) => Uri::Sip(u.clone().with_secure(transport == Transport::Tls)),
        other => other.clone(),
    }
}

/// Our Contact towards a trunk server: a SIPS URI over TLS (RFC 3261 §8.1.1.8: required
/// with a SIPS Request-URI; the carrier's requests in the dialog then come to our TLS
/// listener), with `transport=tcp` over TCP.
fn trunk_contact(local: &build::LocalAddr, transport: Transport) -> NameAddr {
    build::contact(local, transport, transport == Transport::Tls)
}

fn name_addr(user: &str, domain: &str) -> NameAddr {
    let host = Host::parse(domain).unwrap_or_else(|_| Host::Domain(domain.to_owned()));
    NameAddr::new(Uri::Sip(SipUri::new(host).with_user(user)))
}

/// `invite` again with credentials from `client` answering `challenge` (the trunk's 401 or
/// 407 to it): the next CSeq, a new Via (`via`), and an `Authorization` or
/// `Proxy-Authorization` in place of any earlier one. `None` when the challenge cannot be
/// answered (no usable digest challenge). Every INVITE to a trunk that the B2BUA sends
/// (a dialled call, a forward, a transfer) answers challenges through this.
pub(super) fn authorized_invite(
    client: &mut DigestClient,
    invite: &ringfence_sip_types::Request,
    challenge: &ringfence_sip_types::Response,
    via: ringfence_sip_types::header::Via,
) -> Option<ringfence_sip_types::Request> {
    let (challenges, header) = if challenge.status.code() == 407 {
        (challenge.proxy_authenticate(), HeaderName::ProxyAuthorization)
    } else {
        (challenge.www_authenticate(), HeaderName::Authorization)
    };
    let challenges = challenges.ok()?;
    let uri = invite.uri.to_string();
    let cnonce = crate::auth::random_tag();
    let creds = client.respond(&challenges, "INVITE", &uri, &cnonce).ok()?;
    let mut next = invite.clone();
    let seq = invite.cseq().map_or(1, |c| c.seq) + 1;
    next.headers.set(HeaderName::CSeq, &format!("{seq} INVITE"));
    next.headers.set(HeaderName::Via, &via.to_string());
    next.headers.remove(HeaderName::Authorization);
    next.headers.remove(HeaderName::ProxyAuthorization);
    next.headers.push(header, &creds.to_string());
    Some(next)
}

/// The digest client for a route's trunk credentials, if it has any.
pub(super) fn digest_client(route: &ExternalRoute) -> Option<DigestClient> {
    route
        .credentials
        .as_ref()
        .map(|c| DigestClient::new(c.username.clone(), Secret::password(c.password.clone())))
}

/// `reason` without characters that would break a status line.
fn phrase_text(phrase: &str) -> String {
    let p: String = phrase.chars().filter(|c| !c.is_control()).take(100).collect();
    if p.trim().is_empty() { "Forbidden".into() } else { p }
}

impl Call {
    /// Our address in Via and Contact towards a trunk's server `peer`: the trunk's
    /// advertised address, else `[sip.calls] advertised_host`, else the listener's or the
    /// route's local address (never a wildcard address, never the tenant's domain: the
    /// carrier must reach it).
    pub(super) fn trunk_local(
        &self,
        advertise: Option<&crate::advertise::AdvertisedAddress>,
        peer: Peer,
    ) -> build::LocalAddr {
        let calls = self
            .sh
            .advertised
            .clone()
            .map(|host| crate::advertise::AdvertisedAddress { host, port: None });
        let (host, port) = crate::advertise::local_for(
            &self.sh.core,
            advertise.or(calls.as_ref()),
            peer.transport,
            peer.addr,
        );
        build::LocalAddr { host, port }
    }

    /// Our address for the callee leg of fork `i` at `peer`: [`Call::trunk_local`] when
    /// the fork is the trunk's.
    pub(super) fn callee_local(&self, i: usize, peer: Peer) -> build::LocalAddr {
        match &self.trunk {
            Some(t) if t.fork == Some(i) => self.trunk_local(t.route.advertise.as_ref(), peer),
            _ => self.local(peer.transport),
        }
    }

    /// Refuses the caller's INVITE with `status` and reason phrase `phrase`.
    pub(super) fn refuse_with_phrase(&mut self, status: u16, phrase: &str, reason: &str) {
        let status = if (400..700).contains(&status) { status } else { 403 };
        let mut r = build::local_response(&self.a.invite, status, Some(&self.a.tag), None);
        r.reason = phrase_text(phrase);
        self.respond_a(r);
        tracing::debug!(call = %self.id, status, reason, "call refused");
        self.set_outcome(Disposition::Blocked, Some(status), reason);
    }

    /// Sends the call to the trunk of `route`.
    pub(super) async fn place_external(&mut self, route: ExternalRoute, caller_name: &str) {
        let sh = self.sh.clone();
        self.log.callee.clone_from(&route.to_user);
        let body = match sdp::request_sdp(&self.a.invite) {
            Some(s) => match self.rewrite(
                Side::Caller,
                SdpKind::Offer,
                s,
                self.a.source.transport,
                route.peer.transport,
                Some(self.forks.len()),
            ) {
                Ok(b) => Some(Body::sdp(b)),
                Err(r) => {
                    return self.refuse(
                        r.status,
                        Disposition::Failed,
                        &r.warning,
                        Some(&r.warning),
                    );
                }
            },
            None => Body::of(&self.a.invite.headers, &self.a.invite.body),
        };
        let transport = route.peer.transport;
        if let Some(tls) = &route.tls {
            for p in std::iter::once(&route.peer).chain(&route.alternates) {
                if p.transport == Transport::Tls {
                    sh.core.set_tls_peer(p.addr, tls.clone());
                }
            }
        }
        let local = self.trunk_local(route.advertise.as_ref(), route.peer);
        let call_id = sh.core.new_call_id(None);
        let tag = sh.core.new_tag();
        let from = name_addr(&route.from_user, &route.domain);
        let from = if caller_name.is_empty() {
            from
        } else {
            from.with_display_name(caller_name.to_owned())
        };
        let invite = build::callee_invite(CalleeInvite {
            target: uri_for(&route.target, transport),
            path: &[],
            via: build::via(&local, transport, &sh.core.new_branch()),
            from: from.with_tag(&tag),
            to: name_addr(&route.to_user, &route.domain),
            call_id: &call_id,
            max_forwards: build::next_hops(&self.a.invite),
            contact: trunk_contact(&local, transport),
            body,
            caller_invite: &self.a.invite,
        });
        sh.table().add_dialog(self.id, dialog_key(&call_id, &tag));
        let peer = route.peer;
        tracing::debug!(call = %self.id, trunk = %route.trunk, to = %route.to_user, "to the trunk");
        let client = digest_client(&route);
        let alternates = route.alternates.iter().copied().collect();
        self.trunk = Some(TrunkLeg {
            route,
            client,
            challenged: Vec::new(),
            fork: Some(self.forks.len()),
            alternates,
            failures: Vec::new(),
        });
        let (mut invite, mut peer) = (invite, peer);
        loop {
            if let Some((id, tx)) = self.start(invite.clone(), peer, true).await {
                self.forks.push(Fork {
                    id,
                    tx,
                    invite,
                    peer,
                    tag,
                    status: None,
                    ack: None,
                    responded: false,
                    unreachable: false,
                });
                self.ring_deadline = Some(Instant::now() + sh.config.ring_timeout);
                return;
            }
            let next = self.trunk.as_mut().and_then(|t| t.alternates.pop_front());
            let Some(next) = next else {
                return self.refuse(503, Disposition::Failed, "trunk unreachable", None);
            };
            tracing::info!(call = %self.id, failed = %peer.addr, next = %next.addr, "trunk server unreachable; trying the next");
            self.retarget(&mut invite, next);
            peer = next;
        }
    }

    /// `invite` made a new request for `peer`: a new branch, Via, Contact and
    /// Request-URI scheme for its transport, the next CSeq.
    fn retarget(&self, invite: &mut ringfence_sip_types::Request, peer: Peer) {
        let seq = invite.cseq().map_or(1, |c| c.seq) + 1;
        invite.headers.set(HeaderName::CSeq, &format!("{seq} INVITE"));
        invite.uri = uri_for(&invite.uri, peer.transport);
        let advertise = self.trunk.as_ref().and_then(|t| t.route.advertise.clone());
        let local = self.trunk_local(advertise.as_ref(), peer);
        let via = build::via(&local, peer.transport, &self.sh.core.new_branch());
        invite.headers.set(HeaderName::Via, &via.to_string());
        let contact = trunk_contact(&local, peer.transport);
        invite.headers.set(HeaderName::Contact, &contact.to_string());
    }

    /// Why the trunk's servers failed so far, when fork `i` is the trunk's: `trunk NAME:
    /// why; why` (for the record of a call no server took).
    pub(super) fn trunk_failures(&self, i: usize) -> Option<String> {
        let trunk = self.trunk.as_ref()?;
        if trunk.fork != Some(i) || trunk.failures.is_empty() {
            return None;
        }
        let mut text = format!("trunk {}: {}", trunk.route.trunk, trunk.failures.join("; "));
        if text.len() > MAX_FAILURE_TEXT {
            let mut cut = MAX_FAILURE_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        Some(text)
    }

    /// The trunk's server failed fork `i` with `code` (a transport error or timeout is
    /// 503/408 here) for `why`: send the INVITE to the trunk's next server, as RFC 3263
    /// §4.3 says for transport errors, timeouts and 503. False when there is none left, or
    /// when the fork is not the trunk's or the call has moved on.
    pub(super) async fn trunk_failover(&mut self, i: usize, code: u16, why: &str) -> bool {
        if let Some(t) = self.trunk.as_mut()
            && t.fork == Some(i)
            && matches!(code, 408 | 503)
        {
            t.failures.push(why.to_owned());
        }
        if !matches!(code, 408 | 503)
            || self.outcome.is_some()
            || self.a.final_sent
            || self.winner.is_some()
        {
            return false;
        }
        loop {
            let Some(trunk) = self.trunk.as_mut() else { return false };
            if trunk.fork != Some(i) {
                return false;
            }
            let Some(peer) = trunk.alternates.pop_front() else { return false };
            let name = trunk.route.trunk.clone();
            let failed = self.forks[i].peer;
            let mut next = self.forks[i].invite.clone();
            self.retarget(&mut next, peer);
            tracing::info!(
                call = %self.id,
                trunk = %name,
                failed = %failed.addr,
                code,
                why,
                next = %peer.addr,
                "trunk server failed; trying the next"
            );
            if let Some((id, tx)) = self.start(next.clone(), peer, true).await {
                let f = &mut self.forks[i];
                f.id = id;
                f.tx = tx;
                f.invite = next;
                f.peer = peer;
                f.status = None;
                return true;
            }
            self.forks[i].peer = peer;
        }
    }

    /// The trunk challenged fork `i`'s INVITE: send it again with credentials (once).
    /// False when there is nothing to answer with (no trunk credentials, second
    /// challenge, unusable challenge): the challenge is then the fork's final answer.
    pub(super) async fn answer_trunk_challenge(
        &mut self,
        i: usize,
        r: &ringfence_sip_types::Response,
    ) -> bool {
        if self.outcome.is_some() || self.a.final_sent || self.winner.is_some() {
            return false;
        }
        let fork_id = self.forks[i].id;
        let advertise = self.trunk.as_ref().and_then(|t| t.route.advertise.clone());
        let local = self.trunk_local(advertise.as_ref(), self.forks[i].peer);
        let via = build::via(&local, self.forks[i].peer.transport, &self.sh.core.new_branch());
        let Some(trunk) = self.trunk.as_mut() else { return false };
        let Some(client) = trunk.client.as_mut() else { return false };
        if trunk.challenged.contains(&fork_id) {
            tracing::warn!(call = %self.id, trunk = %trunk.route.trunk, "trunk refused our credentials");
            return false;
        }
        let Some(next) = authorized_invite(client, &self.forks[i].invite, r, via) else {
            return false;
        };
        trunk.challenged.push(fork_id);
        let peer = self.forks[i].peer;
        match self.start(next.clone(), peer, true).await {
            Some((id, tx)) => {
                if let Some(t) = self.trunk.as_mut() {
                    t.challenged.push(id);
                }
                let f = &mut self.forks[i];
                f.id = id;
                f.tx = tx;
                f.invite = next;
                true
            }
            None => false,
        }
    }

    /// A call from a trunk, as the gate decided: ring the number's extension, or answer
    /// the caller without ringing anyone.
    pub(super) async fn inbound(&mut self, decision: InboundDecision) {
        self.log.direction = CallDirection::Inbound;
        self.log.from_extension = None;
        let (tenant, extension, number, caller) = match decision {
            InboundDecision::Ring { tenant, extension, number, caller } => {
                (tenant, extension, number, caller)
            }
            InboundDecision::Refuse { owner, number, caller, status, phrase, reason } => {
                self.log.callee = number;
                self.log.caller = caller;
                if let Some((tenant, extension)) = owner {
                    self.record = true;
                    self.log.to_extension = Some(extension.id);
                    self.parties = Some(Parties {
                        tenant,
                        caller_id: extension.id,
                        caller: self.log.caller.clone(),
                        callee_id: Some(extension.id),
                    });
                }
                return self.refuse_with_phrase(status, &phrase, &reason);
            }
        };
        self.record = true;
        self.log.callee = number;
        self.log.caller.clone_from(&caller);
        // For inbound calls the observers' "caller" extension is the called one: the
        // extension on whose behalf the call exists.
        self.parties = Some(Parties {
            tenant: tenant.clone(),
            caller_id: extension.id,
            caller: caller.clone(),
            callee_id: Some(extension.id),
        });
        let sh = self.sh.clone();
        let n = sh.active.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        self.active = Some(ActiveGuard(sh.clone()));
        if n > sh.config.max_calls {
            return self.refuse(503, Disposition::Failed, "too many calls in progress", None);
        }
        if sh.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return self.refuse(503, Disposition::Failed, "server shutting down", None);
        }
        let offer = sdp::request_sdp(&self.a.invite).map(sdp::inspect);
        self.caller_offer = !self.a.invite.body.is_empty();
        self.offer_srtp = offer.is_some_and(|o| o.all_srtp());
        let from = name_addr(&caller, tenant.domain.as_str());
        self.ring_extension(&tenant, extension, from).await;
    }
}
