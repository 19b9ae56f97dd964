//! Call forwarding: unconditional, on busy, on no answer, when unavailable.
//!
//! "No answer" and "unavailable" are separate conditions, as on other PBXs (Cisco's
//! forward-no-answer and forward-unregistered, 3CX's "no answer" and "not registered"):
//! - **no answer**: the extension rang and nobody picked up: the ring time
//!   (`no_answer_seconds`) ran out while at least one device had responded, or the devices
//!   gave up themselves (a device's own `480` or `408` response);
//! - **unavailable**: the extension could not ring at all: no device registered, or every
//!   device failed without ringing (no response at all, a transport error, `503`).
//!
//! A forward to a number of the phone network is decided on behalf of the forwarding
//! extension, whichever the condition; the call's record names that extension
//! (`forwarded_by`) and the condition (`forward_reason`). A forward to another extension rings its devices; a forward to a number of
//! the phone network is a call that leaves the system, so the [`CallGate`] decides it with
//! [`CallOrigin::Forward`] on behalf of the **forwarding** extension (its restrictions, its
//! fraud counters), exactly like a call it dialled itself. A refusal reaches the caller with
//! the gate's status and reason phrase, and the record says which forward was refused and
//! why.
//!
//! Forwards are decided where a call would otherwise end (the callee's devices all busy, the
//! ring time over) and carried out by the call's loop ([`Call::run`]), so a chain of
//! forwards never recurses; it stops after [`MAX_FORWARDS`] hops. Forks of an earlier round
//! (before the forward) are ignored from then on: their late answers get ACK + BYE.
//!
//! A `3xx` redirect from a callee's device is never followed (it counts as "not reachable",
//! see [`crate::b2bua::outcome::choose_final`]): a device cannot steer a call past the gate.
//!
//! [`CallGate`]: crate::b2bua::CallGate

use std::time::{Duration, Instant};

use ringfence_store::{
    CallDirection, CallForwarding, Disposition, Extension, ExtensionNumber, ForwardReason,
};

use super::Call;
use crate::b2bua::hooks::{CallAttempt, CallOrigin, Destination, GateDecision};

/// Most forwards one call follows.
pub(crate) const MAX_FORWARDS: u8 = 5;

/// Which forward applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForwardWhen {
    /// Unconditional.
    Always,
    /// Every device busy.
    Busy,
    /// The extension rang and nobody answered.
    NoAnswer,
    /// No device could be rung.
    Unavailable,
}

impl ForwardWhen {
    fn as_str(self) -> &'static str {
        match self {
            ForwardWhen::Always => "always",
            ForwardWhen::Busy => "busy",
            ForwardWhen::NoAnswer => "no answer",
            ForwardWhen::Unavailable => "unavailable",
        }
    }

    fn reason(self) -> ForwardReason {
        match self {
            ForwardWhen::Always => ForwardReason::Always,
            ForwardWhen::Busy => ForwardReason::Busy,
            ForwardWhen::NoAnswer => ForwardReason::NoAnswer,
            ForwardWhen::Unavailable => ForwardReason::Unavailable,
        }
    }
}

/// A forward decided, to be carried out by the call's loop.
#[derive(Debug, Clone)]
pub(crate) struct PendingForward {
    by: Extension,
    target: String,
    when: ForwardWhen,
}

/// The forwarding of the extension being rung now.
#[derive(Debug, Clone)]
pub(crate) struct ForwardPlan {
    by: Extension,
    settings: CallForwarding,
}

impl ForwardPlan {
    pub(crate) fn of(callee: &Extension) -> Option<ForwardPlan> {
        (!callee.forwarding.is_off())
            .then(|| ForwardPlan { by: callee.clone(), settings: callee.forwarding.clone() })
    }

    /// The ring time before the no-answer forward, if one is set.
    pub(crate) fn no_answer_after(&self) -> Option<Duration> {
        self.settings
            .no_answer
            .as_ref()
            .map(|_| Duration::from_secs(u64::from(self.settings.no_answer_seconds)))
    }
}

impl Call {
    /// Decides the forward for `when` of the extension being rung, if it has one: the call's
    /// loop carries it out. False when there is none (the call ends as it would have).
    pub(super) fn divert(&mut self, when: ForwardWhen) -> bool {
        let Some(plan) = &self.forwarding else { return false };
        let target = match when {
            ForwardWhen::Always => &plan.settings.always,
            ForwardWhen::Busy => &plan.settings.busy,
            ForwardWhen::NoAnswer => &plan.settings.no_answer,
            ForwardWhen::Unavailable => &plan.settings.unavailable,
        };
        let Some(target) = target.clone() else { return false };
        if self.outcome.is_some() || self.a.final_sent || self.winner.is_some() {
            return false;
        }
        self.pending_forward = Some(PendingForward { by: plan.by.clone(), target, when });
        self.forwarding = None;
        true
    }

    /// The ring deadline for the devices just rung: the configured ring timeout, or the
    /// no-answer forward's ring time when it is shorter.
    pub(super) fn ring_deadline_for_round(&self) -> Instant {
        let mut ring = self.sh.config.ring_timeout;
        if let Some(after) = self.forwarding.as_ref().and_then(ForwardPlan::no_answer_after) {
            ring = ring.min(after);
        }
        Instant::now() + ring
    }

    /// Carries out a forward decided by [`Call::divert`].
    pub(super) async fn forward(&mut self, p: PendingForward) {
        let Some(tenant) = self.parties.as_ref().map(|x| x.tenant.clone()) else { return };
        // Everything rung so far belongs to the previous round.
        self.cancel_forks(&[]);
        self.fork_base = self.forks.len();
        self.early_media = None;
        self.ring_deadline = None;
        self.forward_hops += 1;
        let by = p.by.number.as_str().to_owned();
        let why = format!("forward from {by} ({})", p.when.as_str());
        // The record names the (last) forwarding extension, whatever becomes of the call.
        self.log.forwarded = Some((p.by.id, by.clone(), p.when.reason()));
        tracing::debug!(call = %self.id, by = %by, to = %p.target, "call forwarded");
        if self.forward_hops > MAX_FORWARDS {
            let reason = format!("{why}: more than {MAX_FORWARDS} forwards");
            return self.refuse(480, Disposition::Unavailable, &reason, None);
        }
        let sh = self.sh.clone();
        if ExtensionNumber::parse(&p.target).is_ok() {
            let ext = match sh.store.extension_by_number(tenant.id, &p.target).await {
                Ok(Some(x)) => x,
                Ok(None) => {
                    let reason = format!("{why}: no extension {}", p.target);
                    return self.refuse(404, Disposition::Failed, &reason, None);
                }
                Err(e) => {
                    tracing::error!(error = %e, "forward target lookup failed");
                    return self.refuse(500, Disposition::Failed, "store unavailable", None);
                }
            };
            let Some(from) = self.ring_from.clone() else { return };
            return self.ring_extension(&tenant, ext, from).await;
        }
        // A number of the phone network: the call leaves on behalf of the forwarding
        // extension, through the same gate as a call it dialled.
        let decision = sh.gate.check(&CallAttempt {
            call: self.id,
            tenant: &tenant,
            caller: p.by.number.as_str(),
            caller_id: p.by.id,
            destination: Destination::External { dialled: &p.target },
            origin: CallOrigin::Forward,
            source: self.a.source,
            restrictions: &p.by.restrictions,
        });
        self.log.direction = CallDirection::Outbound;
        self.log.callee.clone_from(&p.target);
        match decision {
            GateDecision::Route(route) => {
                let name = self.caller_name.clone();
                self.place_external(route, &name).await;
            }
            GateDecision::Refuse { status, phrase, reason } => {
                self.refuse_with_phrase(status, &phrase, &format!("{why}: {reason}"));
            }
            GateDecision::Deny { status, reason } => {
                let status = if (400..700).contains(&status) { status } else { 403 };
                self.refuse(status, Disposition::Blocked, &format!("{why}: {reason}"), None);
            }
            _ => {
                let reason = format!("{why}: no route to {}", p.target);
                self.refuse(404, Disposition::Failed, &reason, None);
            }
        }
    }
}
