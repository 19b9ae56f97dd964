//! Setting a call up: authentication, tenant rules, callee, gate, contacts, forks.

use ringfence_sip_types::header::NameAddr;
use ringfence_sip_types::{Host, SipUri, Uri};
use ringfence_store::{CallDirection, Disposition, EncryptionRequirement, ExtensionNumber};
use std::sync::atomic::Ordering;

use super::forward::{ForwardPlan, ForwardWhen};
use super::{ActiveGuard, Call, Fork, Parties};
use crate::auth::{AuthOutcome, ChallengeKind, realm_of};
use crate::b2bua::build::{self, Body, CalleeInvite};
use crate::b2bua::hooks::{CallAttempt, CallOrigin, Destination, GateDecision, SdpKind, Side};
use crate::b2bua::routing::dialog_key;
use crate::b2bua::sdp;
use crate::core::caller_realm;
use crate::registrar::Location;

/// An address of record in the tenant's domain.
fn aor(user: &str, domain: &str) -> NameAddr {
    let host = Host::parse(domain).unwrap_or_else(|_| Host::Domain(domain.to_owned()));
    NameAddr::new(Uri::Sip(SipUri::new(host).with_user(user)))
}

impl Call {
    /// Everything between the caller's INVITE and the forks ringing. Sets the outcome
    /// when the call goes no further.
    pub(super) async fn setup(&mut self) {
        let sh = self.sh.clone();
        // A call from a trunk to one of the platform's numbers: no digest, the gate
        // routes it (or refuses it) by the trunk's address and the number called.
        let inbound = match sh.gate.inbound(&self.a.invite, self.a.source) {
            Some(decision) => Some(decision.await),
            None => None,
        };
        if let Some(decision) = inbound {
            return self.inbound(decision).await;
        }
        let realm = caller_realm(&self.a.invite);
        let identity = match sh
            .auth
            .authenticate(&self.a.invite, &self.a.source, &realm, ChallengeKind::Proxy)
            .await
        {
            AuthOutcome::Authenticated(i) => i,
            AuthOutcome::Challenge(r) | AuthOutcome::Unavailable(r) => {
                // Not the caller's call yet: no record.
                self.respond_a(r);
                self.set_outcome(Disposition::Failed, None, "not authenticated");
                return;
            }
        };
        let tenant = identity.tenant.clone();
        self.record = true;
        self.log.caller.clone_from(&identity.number);
        self.log.from_extension = Some(identity.extension_id);
        self.parties = Some(Parties {
            tenant: tenant.clone(),
            caller_id: identity.extension_id,
            caller: identity.number.clone(),
            callee_id: None,
        });
        let n = sh.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.active = Some(ActiveGuard(sh.clone()));
        if n > sh.config.max_calls {
            tracing::warn!(tenant = %tenant.id, "call refused: too many calls in progress");
            return self.refuse(503, Disposition::Failed, "too many calls in progress", None);
        }
        if sh.draining.load(Ordering::SeqCst) {
            return self.refuse(503, Disposition::Failed, "server shutting down", None);
        }
        if !self.a.invite.contacts().is_ok_and(|c| c.iter().any(|c| c.address().is_some())) {
            return self.refuse(400, Disposition::Failed, "INVITE without Contact", None);
        }

        // The destination: an extension of the caller's tenant, by the Request-URI's user.
        let domain = tenant.domain.as_str().to_owned();
        let dialled = self.log.callee.clone();
        if dialled.is_empty() {
            return self.refuse(404, Disposition::Failed, "no user in the Request-URI", None);
        }
        let same_tenant = realm_of(&self.a.invite.uri).is_some_and(|host| {
            host == domain || self.a.invite.uri.as_sip().is_some_and(|u| u.host.ip().is_some())
        });
        if !same_tenant {
            return self.refuse(
                404,
                Disposition::Failed,
                "destination domain is not the caller's tenant",
                None,
            );
        }

        // The caller's leg against the tenant's encryption requirement.
        let encryption = tenant.settings.encryption;
        let offer = sdp::request_sdp(&self.a.invite).map(sdp::inspect);
        self.caller_offer = !self.a.invite.body.is_empty();
        self.offer_srtp = offer.is_some_and(|o| o.all_srtp());
        if encryption == EncryptionRequirement::Required {
            if !self.a.source.transport.is_secure() {
                return self.refuse(
                    488,
                    Disposition::Failed,
                    "encryption required: the caller is not on TLS",
                    Some("TLS required by the tenant's policy"),
                );
            }
            if !self.offer_srtp {
                return self.refuse(
                    488,
                    Disposition::Failed,
                    "encryption required: the offer is not SRTP",
                    Some("SRTP (RTP/SAVP with a=crypto) required by the tenant's policy"),
                );
            }
        }

        // The callee, and the caller's name as the tenant knows it.
        let is_extension = ExtensionNumber::parse(&dialled).is_ok();
        let (callee, caller_ext) = tokio::join!(
            async {
                if is_extension {
                    sh.store.extension_by_number(tenant.id, &dialled).await
                } else {
                    Ok(None)
                }
            },
            sh.store.extension(tenant.id, identity.extension_id),
        );
        let callee = match callee {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "callee lookup failed");
                return self.refuse(500, Disposition::Failed, "store unavailable", None);
            }
        };
        // The caller's restrictions narrow what the gate allows: without them, no call.
        let caller_ext = match caller_ext {
            Ok(Some(x)) => x,
            Ok(None) => {
                return self.refuse(403, Disposition::Failed, "caller's extension is gone", None);
            }
            Err(e) => {
                tracing::error!(error = %e, "caller lookup failed");
                return self.refuse(500, Disposition::Failed, "store unavailable", None);
            }
        };
        let caller_name = caller_ext.display_name.clone();
        self.caller_name.clone_from(&caller_name);
        if is_extension && callee.is_none() {
            return self.refuse(404, Disposition::Failed, "no such extension", None);
        }
        let destination = match &callee {
            Some(c) => Destination::Extension { number: c.number.as_str(), id: c.id },
            None => Destination::External { dialled: &dialled },
        };
        let decision = sh.gate.check(&CallAttempt {
            call: self.id,
            tenant: &tenant,
            caller: &identity.number,
            caller_id: identity.extension_id,
            destination,
            origin: CallOrigin::DialledCall,
            source: self.a.source,
            restrictions: &caller_ext.restrictions,
        });
        if callee.is_none() {
            self.log.direction = CallDirection::Outbound;
        }
        match decision {
            GateDecision::Deny { status, reason } => {
                let status = if (400..700).contains(&status) { status } else { 403 };
                return self.refuse(status, Disposition::Blocked, &reason, None);
            }
            GateDecision::Refuse { status, phrase, reason } => {
                return self.refuse_with_phrase(status, &phrase, &reason);
            }
            GateDecision::Route(route) if callee.is_none() => {
                return self.place_external(route, &caller_name).await;
            }
            _ => {}
        }
        let Some(callee) = callee else {
            return self.refuse(404, Disposition::Failed, "no route to the destination", None);
        };
        let from = aor(&identity.number, &domain);
        let from = if caller_name.is_empty() { from } else { from.with_display_name(caller_name) };
        self.ring_extension(&tenant, callee, from).await;
    }

    /// Calls every registered device of `callee` (of `tenant`), from `from`.
    pub(super) async fn ring_extension(
        &mut self,
        tenant: &ringfence_store::Tenant,
        callee: ringfence_store::Extension,
        from: NameAddr,
    ) {
        let sh = self.sh.clone();
        let domain = tenant.domain.as_str().to_owned();
        let encryption = tenant.settings.encryption;
        let offer = sdp::request_sdp(&self.a.invite).map(sdp::inspect);
        self.log.to_extension = Some(callee.id);
        if let Some(p) = self.parties.as_mut() {
            p.callee_id = Some(callee.id);
        }
        if !callee.enabled {
            return self.refuse(480, Disposition::Unavailable, "extension disabled", None);
        }
        self.ring_from = Some(from.clone());
        self.forwarding = ForwardPlan::of(&callee);
        if self.divert(ForwardWhen::Always) {
            return;
        }

        // Where the callee can be reached: every live contact, TLS only when required or
        // when the offer carries SRTP keys that would cross to the callee (they must never
        // cross a plain leg; the media relay terminates them instead).
        let keys_cross = offer.is_some_and(|o| o.carries_keys) && !sh.sdp.terminates_keys();
        let tls_only = encryption == EncryptionRequirement::Required || keys_cross;
        let all = sh.registrar.locate(tenant.id, callee.id);
        let registered = all.len();
        let targets: Vec<Location> =
            all.into_iter().filter(|l| !tls_only || l.peer.transport.is_secure()).collect();
        if targets.is_empty() {
            if self.divert(ForwardWhen::Unavailable) {
                return;
            }
            let reason = if registered == 0 {
                "callee not registered"
            } else {
                "no device of the callee is registered over TLS"
            };
            return self.refuse(480, Disposition::Unavailable, reason, None);
        }

        // One INVITE per device.
        let to = aor(callee.number.as_str(), &domain);
        let mut refusal = None;
        for loc in &targets {
            let i = self.forks.len();
            let body = match sdp::request_sdp(&self.a.invite) {
                Some(s) => match self.rewrite(
                    Side::Caller,
                    SdpKind::Offer,
                    s,
                    self.a.source.transport,
                    loc.peer.transport,
                    Some(i),
                ) {
                    Ok(b) => Some(Body::sdp(b)),
                    Err(r) => {
                        refusal = Some(r);
                        continue;
                    }
                },
                None => Body::of(&self.a.invite.headers, &self.a.invite.body),
            };
            let transport = loc.peer.transport;
            let local = self.local(transport);
            let call_id = sh.core.new_call_id(None);
            let tag = sh.core.new_tag();
            let invite = build::callee_invite(CalleeInvite {
                target: loc.contact.clone(),
                path: &loc.path,
                via: build::via(&local, transport, &sh.core.new_branch()),
                from: from.clone().with_tag(&tag),
                to: to.clone(),
                call_id: &call_id,
                max_forwards: build::next_hops(&self.a.invite),
                contact: build::contact(&local, transport, loc.contact.is_sips()),
                body,
                caller_invite: &self.a.invite,
            });
            // Routed before it is sent, so an answer (or the INVITE looping back to us)
            // always finds the call.
            sh.table().add_dialog(self.id, dialog_key(&call_id, &tag));
            if let Some((id, tx)) = self.start(invite.clone(), loc.peer, true).await {
                self.forks.push(Fork {
                    id,
                    tx,
                    invite,
                    peer: loc.peer,
                    tag,
                    status: None,
                    ack: None,
                    responded: false,
                    unreachable: false,
                });
            }
        }
        if self.forks.len() == self.fork_base {
            if refusal.is_none() && self.divert(ForwardWhen::Unavailable) {
                return;
            }
            return match refusal {
                Some(r) => self.refuse(r.status, Disposition::Failed, &r.warning, Some(&r.warning)),
                None => {
                    self.refuse(480, Disposition::Unavailable, "no device could be reached", None)
                }
            };
        }
        tracing::debug!(call = %self.id, forks = self.forks.len(), "callee ringing");
        self.ring_deadline = Some(self.ring_deadline_for_round());
    }
}
