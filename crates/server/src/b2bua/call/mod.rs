//! One call: a task that owns both legs, every fork and every relayed transaction.
//!
//! Life of a call: [`Call::setup`] (authentication, tenant rules, callee, forks), then
//! the loop in [`Call::run`] takes the inputs the core routes to it and its timers
//! (ring timeout, 2xx retransmission, maximum duration) until an outcome is set, then
//! [`Call::finish`] removes it from the routing table and queues its record. Every way a
//! call ends goes through `finish`, so nothing is left behind.
//!
//! Client transactions (forks, relayed requests) report through small forwarding tasks
//! that outlive the call: a device answering after the call has ended still gets its
//! ACK and BYE ([`orphan_answer`]).

mod dialog;
mod external;
mod forward;
mod ringing;
mod setup;
mod transfer;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use ringfence_sip_proto::dialog::{AnswerRetransmit, Dialog};
use ringfence_sip_proto::transaction::{Peer, Transport, TxId};
use ringfence_sip_types::header::NameAddr;
use ringfence_sip_types::{Request, Response};
use ringfence_store::{Disposition, ExtensionId, Tenant};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::build::{self, LocalAddr};
use super::hooks::{CallInfo, CallRef, SdpContext, SdpKind, SdpRefusal, Side};
use super::record::CallLog;
use super::{Inbox, Shared};
use crate::core::convert::to_store;
use crate::core::{ClientEvent, ClientTransaction, ServerTxEvent};

/// What the core (through [`super::B2bua`]) and the call's helpers tell a call.
#[derive(Debug)]
pub(crate) enum Input {
    /// An in-dialog request (new server transaction `tx`).
    Request { tx: TxId, request: Request, source: Peer },
    /// An ACK for a 2xx we sent.
    Ack { request: Request, source: Peer },
    /// A CANCEL for server INVITE transaction `tx` (the core answered it 200).
    Cancel { tx: TxId, request: Request },
    /// Something happened to one of the call's server transactions.
    ServerTx { tx: TxId, event: ServerTxEvent },
    /// An event of one of the call's client transactions.
    Client { id: ClientId, event: ClientEvent },
    /// That client transaction has ended.
    ClientDone { id: ClientId },
    /// A 2xx to one of our INVITEs after its transaction ended.
    Stray { response: Response, source: Peer },
    /// End the call (fraud engine, operator, media timeout): `status` for a caller
    /// still waiting; `disposition` for the record (default: `blocked` before the
    /// answer, `answered` after).
    Hangup { status: u16, reason: String, disposition: Option<Disposition> },
    /// The server is shutting down.
    Shutdown,
}

/// Names a client transaction of a call.
pub(crate) type ClientId = u64;

/// The caller's leg before it has a dialog.
#[derive(Debug)]
pub(crate) struct CallerLeg {
    tx: TxId,
    invite: Request,
    source: Peer,
    /// Our To tag.
    tag: String,
    final_sent: bool,
}

impl CallerLeg {
    /// The caller's INVITE, received in server transaction `tx` from `source`; `tag` is
    /// the To tag we answer with.
    pub(crate) fn new(tx: TxId, invite: Request, source: Peer, tag: String) -> CallerLeg {
        CallerLeg { tx, invite, source, tag, final_sent: false }
    }
}

/// One INVITE to one of the callee's devices.
#[derive(Debug)]
struct Fork {
    id: ClientId,
    tx: TxId,
    invite: Request,
    peer: Peer,
    /// Our From tag.
    tag: String,
    /// Final status, once there is one (408 timeout, 503 unreachable).
    status: Option<u16>,
    /// The device sent a response (even `100 Trying`): it was reachable.
    responded: bool,
    /// It failed without a response: the transaction timed out or the transport failed.
    unreachable: bool,
    /// Our ACK for its 2xx, resent when the 2xx is.
    ack: Option<Request>,
}

/// An answered leg: its dialog and where its device is.
#[derive(Debug)]
struct Leg {
    dialog: Dialog,
    peer: Peer,
    local: LocalAddr,
    contact: NameAddr,
    bye_received: bool,
}

/// A request received on one leg and sent on the other.
#[derive(Debug)]
struct Relay {
    from: Side,
    server_tx: TxId,
    request: Request,
    sent: Request,
    client_tx: TxId,
    cancelled: bool,
    finished: bool,
    /// Our ACK for the other leg's 2xx (re-INVITE), resent when the 2xx is.
    ack: Option<Request>,
}

/// Whose ACK waits for the body of the ACK to one of our 2xx (offer in the 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deferred {
    None,
    Fork(usize),
    Relay(ClientId),
}

/// A 2xx we sent to an INVITE, retransmitted until its ACK (RFC 3261 §13.3.1.4).
#[derive(Debug)]
struct Answer {
    side: Side,
    tx: TxId,
    tx_alive: bool,
    response: Response,
    retransmit: AnswerRetransmit,
    cseq: u32,
    deferred: Deferred,
    /// CSeq of the INVITE on the other leg that the deferred ACK acknowledges.
    other_seq: u32,
}

/// How the call ended, for its record.
#[derive(Debug, Clone)]
struct Outcome {
    disposition: Disposition,
    status: Option<u16>,
    reason: Option<String>,
}

/// Who is calling whom, once the caller is authenticated.
#[derive(Debug, Clone)]
struct Parties {
    tenant: Arc<Tenant>,
    caller_id: ExtensionId,
    caller: String,
    callee_id: Option<ExtensionId>,
}

/// Counts the call in the `max_calls` cap while it lives.
#[derive(Debug)]
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A call and everything it owns.
#[derive(Debug)]
pub(crate) struct Call {
    sh: Arc<Shared>,
    id: CallRef,
    inbox: Inbox,
    rx: mpsc::UnboundedReceiver<Box<Input>>,
    a: CallerLeg,
    parties: Option<Parties>,
    log: CallLog,
    /// False until the caller is authenticated: challenges leave no record.
    record: bool,
    forks: Vec<Fork>,
    ring_deadline: Option<Instant>,
    winner: Option<usize>,
    /// Caller and callee legs, once answered.
    legs: Vec<Leg>,
    relays: HashMap<ClientId, Relay>,
    answers: Vec<Answer>,
    end_deadline: Option<Instant>,
    next_client: ClientId,
    /// The caller's INVITE carried the offer.
    caller_offer: bool,
    /// The offer was all SRTP (for the record's `encrypted`).
    offer_srtp: bool,
    /// The fork whose early media (SDP in 18x) the caller was given.
    early_media: Option<usize>,
    /// Callee legs we sent ACK + BYE for an unwanted 2xx (Call-ID, remote tag).
    dismissed: HashSet<(String, String)>,
    outcome: Option<Outcome>,
    /// Legs whose BYE waits for the ACK of our 2xx (RFC 3261 §15: a UAS must not send
    /// BYE before the ACK), by [`Side::index`].
    bye_after_ack: [bool; 2],
    active: Option<ActiveGuard>,
    /// Set when the call goes to a trunk.
    trunk: Option<external::TrunkLeg>,
    /// Forks before this index were rung before a forward (their answers are unwanted).
    fork_base: usize,
    /// The forwarding of the extension being rung.
    forwarding: Option<forward::ForwardPlan>,
    /// A forward decided, for the loop to carry out.
    pending_forward: Option<forward::PendingForward>,
    /// Forwards followed so far.
    forward_hops: u8,
    /// The From of the INVITEs to the callee's devices (kept for forwards).
    ring_from: Option<NameAddr>,
    /// The caller's display name (kept for forwards to a trunk).
    caller_name: String,
    /// A blind transfer (REFER) in progress.
    transfer: Option<transfer::Transfer>,
    /// Our ACKs to transfer targets' 2xx, by our tag (resent when a 2xx is repeated).
    transfer_acks: Vec<(String, Request)>,
    /// INVITEs of transfers to devices that did not win (their late 2xx gets ACK + BYE).
    transfer_losers: Vec<(ClientId, Peer)>,
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

impl Call {
    pub(crate) fn new(
        sh: Arc<Shared>,
        id: CallRef,
        inbox: Inbox,
        rx: mpsc::UnboundedReceiver<Box<Input>>,
        a: CallerLeg,
    ) -> Call {
        let (invite, source) = (&a.invite, a.source);
        let user = |uri: &ringfence_sip_types::Uri| {
            uri.as_sip()
                .and_then(|u| u.user_unescaped())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let log = CallLog {
            call_id: invite.call_id().unwrap_or_default().to_owned(),
            caller: invite.from().map(|f| user(&f.uri)).unwrap_or_default(),
            callee: user(&invite.uri),
            started: OffsetDateTime::now_utc(),
            answered: None,
            transport: to_store(source.transport),
            encrypted: false,
            from_extension: None,
            to_extension: None,
            direction: ringfence_store::CallDirection::Internal,
            forwarded: None,
        };
        Call {
            sh,
            id,
            inbox,
            rx,
            a,
            parties: None,
            log,
            record: false,
            forks: Vec::new(),
            ring_deadline: None,
            winner: None,
            legs: Vec::new(),
            relays: HashMap::new(),
            answers: Vec::new(),
            end_deadline: None,
            next_client: 1,
            caller_offer: false,
            offer_srtp: false,
            early_media: None,
            dismissed: HashSet::new(),
            outcome: None,
            bye_after_ack: [false; 2],
            active: None,
            trunk: None,
            fork_base: 0,
            forwarding: None,
            pending_forward: None,
            forward_hops: 0,
            ring_from: None,
            caller_name: String::new(),
            transfer: None,
            transfer_acks: Vec::new(),
            transfer_losers: Vec::new(),
        }
    }

    /// Runs the call to its end.
    pub(crate) async fn run(mut self) {
        self.setup().await;
        loop {
            // Forwards decided while ringing are carried out here, one at a time.
            while let Some(p) = self.pending_forward.take() {
                self.forward(p).await;
            }
            // After the end, linger only while a BYE waits for an ACK.
            if self.outcome.is_some() && !self.bye_after_ack.contains(&true) {
                break;
            }
            let deadline = self.next_deadline();
            tokio::select! {
                input = self.rx.recv() => match input {
                    Some(i) => self.on_input(*i).await,
                    None => break,
                },
                () = sleep_until(deadline) => self.on_timer().await,
            }
        }
        self.finish();
    }

    fn next_deadline(&self) -> Option<Instant> {
        let ring = if self.winner.is_none() { self.ring_deadline } else { None };
        let transfer =
            self.transfer.as_ref().filter(|t| t.ringing_target()).map(|t| t.ring_deadline);
        [ring, self.end_deadline, transfer]
            .into_iter()
            .chain(self.answers.iter().map(|a| a.retransmit.poll_timeout()))
            .flatten()
            .min()
    }

    async fn on_input(&mut self, input: Input) {
        match input {
            Input::Request { tx, request, source } => self.on_request(tx, request, source).await,
            Input::Ack { request, source } => self.on_ack(request, source).await,
            Input::Cancel { tx, request } => self.on_cancel(tx, &request),
            Input::ServerTx { tx, event } => self.on_server_tx(tx, event),
            Input::Client { id, event } => {
                if let Some(i) = self.forks.iter().position(|f| f.id == id) {
                    self.on_fork_event(i, event).await;
                } else if self.is_transfer_client(id) {
                    self.on_transfer_event(id, event).await;
                } else if !self.transfer_loser_event(id, &event).await {
                    self.on_relay_event(id, event).await;
                }
            }
            Input::ClientDone { id } => {
                self.relays.remove(&id);
                self.transfer_losers.retain(|(l, _)| *l != id);
            }
            Input::Stray { response, source } => self.on_stray(response, source).await,
            Input::Hangup { status, reason, disposition } => {
                if self.legs.is_empty() {
                    let d = disposition.unwrap_or(Disposition::Blocked);
                    self.hangup(status, d, &reason).await;
                } else {
                    let d = disposition.unwrap_or(Disposition::Answered);
                    self.end_answered_as(d, &reason).await;
                }
            }
            Input::Shutdown => {
                self.hangup(503, Disposition::Failed, "server shutting down").await;
                self.send_deferred_byes(true).await;
            }
        }
    }

    async fn on_timer(&mut self) {
        let now = Instant::now();
        if self.winner.is_none()
            && self.outcome.is_none()
            && self.ring_deadline.is_some_and(|d| now >= d)
        {
            self.ring_timeout();
            return;
        }
        if self.transfer.as_ref().is_some_and(|t| t.ringing_target() && now >= t.ring_deadline) {
            self.transfer_ring_timeout().await;
            return;
        }
        if self.end_deadline.is_some_and(|d| now >= d) {
            self.end_deadline = None;
            self.end_answered("maximum call duration reached").await;
            return;
        }
        let mut gave_up = false;
        for a in &mut self.answers {
            match a.retransmit.handle_timeout(now) {
                Some(ringfence_sip_proto::dialog::RetransmitAction::Retransmit) => {
                    let r = a.response.clone();
                    let _ = if a.tx_alive {
                        self.sh.core.respond(a.tx, r)
                    } else {
                        let peer = self.legs.get(a.side.index()).map_or(self.a.source, |l| l.peer);
                        self.sh.core.send_response_stateless(r, peer)
                    };
                }
                Some(ringfence_sip_proto::dialog::RetransmitAction::GiveUp) => gave_up = true,
                None => {}
            }
        }
        self.answers.retain(|a| !a.retransmit.is_done());
        if gave_up {
            self.end_answered("no ACK for our 2xx").await;
            self.send_deferred_byes(false).await;
        }
    }

    fn on_server_tx(&mut self, tx: TxId, event: ServerTxEvent) {
        match event {
            ServerTxEvent::Terminated => {
                for a in self.answers.iter_mut().filter(|a| a.tx == tx) {
                    a.tx_alive = false;
                }
            }
            ServerTxEvent::TransportError if tx == self.a.tx && !self.a.final_sent => {
                self.a.final_sent = true;
                self.cancel_forks(&[]);
                self.set_outcome(Disposition::Failed, None, "caller unreachable");
            }
            _ => {}
        }
    }

    /// Which leg an in-dialog request or ACK came from, by the tag we chose for it.
    fn side_of(&self, request: &Request) -> Option<Side> {
        let to = request.to().ok()?;
        let tag = to.tag()?;
        if self.legs.len() == 2 {
            // Answered: by the dialogs (a transfer may have replaced a leg).
            let call_id = request.call_id().ok()?;
            let i = self.legs.iter().position(|l| {
                let id = l.dialog.id();
                id.local_tag == tag && id.call_id == call_id
            })?;
            return Some(if i == 0 { Side::Caller } else { Side::Callee });
        }
        if tag == self.a.tag {
            return Some(Side::Caller);
        }
        let w = self.winner?;
        (self.forks[w].tag == tag && request.call_id().ok()? == self.forks[w].invite_call_id())
            .then_some(Side::Callee)
    }

    async fn on_request(&mut self, tx: TxId, request: Request, source: Peer) {
        let side = self.side_of(&request);
        if self.legs.is_empty() || side.is_none() {
            self.early_request(side, tx, &request);
            return;
        }
        if let Some(side) = side {
            self.on_dialog_request(side, tx, request, source).await;
        }
    }

    /// Answers `request` (a server transaction of this call) with our own response.
    fn reply(&self, tx: TxId, request: &Request, code: u16) {
        let _ = self.sh.core.respond(tx, build::local_response(request, code, None, None));
    }

    /// Sends `r` to the caller's INVITE; a final response ends our part in it.
    fn respond_a(&mut self, r: Response) {
        if self.a.final_sent {
            return;
        }
        if r.status.is_final() {
            self.a.final_sent = true;
        }
        let _ = self.sh.core.respond(self.a.tx, r);
    }

    /// Refuses the caller's INVITE with `code` and ends the call.
    fn refuse(&mut self, code: u16, disposition: Disposition, reason: &str, warning: Option<&str>) {
        let agent = self.domain();
        let r = build::local_response(
            &self.a.invite,
            code,
            Some(&self.a.tag),
            warning.map(|w| (agent.as_str(), w)),
        );
        self.respond_a(r);
        tracing::debug!(call = %self.id, code, reason, "call refused");
        self.set_outcome(disposition, Some(code), reason);
    }

    fn set_outcome(&mut self, disposition: Disposition, status: Option<u16>, reason: &str) {
        if self.outcome.is_none() {
            let reason = (!reason.is_empty()).then(|| reason.to_owned());
            self.outcome = Some(Outcome { disposition, status, reason });
        }
    }

    /// The tenant's domain once known, else the Request-URI's host.
    fn domain(&self) -> String {
        match &self.parties {
            Some(p) => p.tenant.domain.as_str().to_owned(),
            None => crate::auth::realm_of(&self.a.invite.uri).unwrap_or_else(|| "invalid".into()),
        }
    }

    fn local(&self, transport: Transport) -> LocalAddr {
        build::local_addr(&self.sh.core, self.sh.advertised.as_ref(), transport, &self.domain())
    }

    /// Our Contact for the caller's leg.
    fn caller_contact(&self) -> NameAddr {
        let sips = self.a.invite.uri.is_sips();
        build::contact(&self.local(self.a.source.transport), self.a.source.transport, sips)
    }

    /// Runs the SDP rewriter on a body going from `from` to the other side.
    fn rewrite(
        &self,
        from: Side,
        kind: SdpKind,
        sdp: &[u8],
        from_transport: Transport,
        to_transport: Transport,
        fork: Option<usize>,
    ) -> Result<Vec<u8>, SdpRefusal> {
        let Some(p) = &self.parties else {
            return Err(SdpRefusal { status: 500, warning: "call not set up".into() });
        };
        let ctx = SdpContext {
            call: self.id,
            tenant: p.tenant.id,
            encryption: p.tenant.settings.encryption,
            from,
            kind,
            from_transport,
            to_transport,
            fork,
        };
        self.sh.sdp.rewrite(&ctx, sdp)
    }

    /// Starts a client transaction; its events come back as [`Input::Client`]. Forks
    /// (`orphan`) get ACK + BYE for a 2xx that arrives after the call has ended.
    async fn start(
        &mut self,
        request: Request,
        peer: Peer,
        orphan: bool,
    ) -> Option<(ClientId, TxId)> {
        match self.sh.core.start_request(request, peer).await {
            Ok(ctx) => {
                let id = self.next_client;
                self.next_client += 1;
                let tx = ctx.id;
                tokio::spawn(forward(
                    self.sh.clone(),
                    self.inbox.clone(),
                    id,
                    ctx,
                    orphan.then_some(peer),
                ));
                Some((id, tx))
            }
            Err(e) => {
                tracing::debug!(call = %self.id, error = %e, "request not started");
                None
            }
        }
    }

    /// Sends `request` in a client transaction whose outcome nobody waits for (BYE).
    async fn fire(&self, request: Request, peer: Peer) {
        if let Err(e) = self.sh.core.start_request(request, peer).await {
            tracing::debug!(call = %self.id, error = %e, "request not started");
        }
    }

    /// ACK + BYE for a 2xx nobody wants (only the ACK for a repeated one).
    async fn dismiss(&mut self, response: &Response, peer: Peer) {
        let key = (
            response.call_id().unwrap_or_default().to_owned(),
            response.to().ok().and_then(|t| t.tag().map(str::to_owned)).unwrap_or_default(),
        );
        let local = self.local(peer.transport);
        let Some((ack, bye)) = build::ack_and_bye(response, peer.transport, &self.sh.core, &local)
        else {
            return;
        };
        let _ = self.sh.core.send_stateless(ack.into(), peer);
        if self.dismissed.insert(key) {
            self.fire(bye, peer).await;
        }
    }

    /// What observers are told about the call.
    fn info(&self) -> Option<CallInfo> {
        let p = self.parties.as_ref()?;
        Some(CallInfo {
            call: self.id,
            tenant: p.tenant.id,
            caller_id: p.caller_id,
            caller: p.caller.clone(),
            callee_id: p.callee_id,
            callee: self.log.callee.clone(),
            answered_at: self.log.answered.map(std::time::SystemTime::from),
        })
    }

    /// Ends the call however far it got: BYE on answered legs, CANCEL to forks and
    /// `status` to a caller still waiting.
    async fn hangup(&mut self, status: u16, disposition: Disposition, reason: &str) {
        if self.legs.is_empty() {
            self.cancel_forks(&[]);
            self.refuse(status, disposition, reason, None);
        } else {
            self.end_answered(reason).await;
        }
    }

    /// Ends an answered call: BYE to every leg that has not hung up itself (to a leg
    /// that has not ACKed our 2xx yet, once it does), a final response to every relayed
    /// request still open.
    async fn end_answered(&mut self, reason: &str) {
        self.end_answered_as(Disposition::Answered, reason).await;
    }

    /// As [`Call::end_answered`], recorded with `disposition`.
    async fn end_answered_as(&mut self, disposition: Disposition, reason: &str) {
        if self.outcome.is_some() {
            return;
        }
        self.set_outcome(disposition, Some(200), reason);
        self.end_deadline = None;
        self.abandon_transfer().await;
        for i in 0..self.legs.len() {
            if self.legs[i].bye_received {
                continue;
            }
            if self.answers.iter().any(|a| a.side.index() == i) {
                self.bye_after_ack[i] = true;
                continue;
            }
            self.send_bye(i).await;
        }
        let open: Vec<(TxId, Request)> = self
            .relays
            .values()
            .filter(|r| !r.finished && !r.cancelled)
            .map(|r| (r.server_tx, r.request.clone()))
            .collect();
        for (tx, request) in open {
            let code =
                if request.method == ringfence_sip_types::Method::Invite { 487 } else { 481 };
            self.reply(tx, &request, code);
        }
    }

    async fn send_bye(&mut self, i: usize) {
        let local = self.legs[i].local.clone();
        let transport = self.legs[i].peer.transport;
        let via = build::via(&local, transport, &self.sh.core.new_branch());
        let peer = self.legs[i].peer;
        if let Ok(bye) = self.legs[i].dialog.create_request(ringfence_sip_types::Method::Bye, &via)
        {
            self.fire(bye, peer).await;
        }
    }

    /// Sends the BYEs that waited for an ACK: those whose 2xx is no longer pending, or
    /// all of them when `force`d (shutdown).
    async fn send_deferred_byes(&mut self, force: bool) {
        for i in 0..self.bye_after_ack.len() {
            let pending = self.answers.iter().any(|a| a.side.index() == i);
            if self.bye_after_ack[i] && (force || !pending) && !self.legs[i].bye_received {
                self.bye_after_ack[i] = false;
                self.send_bye(i).await;
            }
            self.bye_after_ack[i] &= !force;
        }
    }

    /// Removes the call everywhere and queues its record.
    fn finish(mut self) {
        self.sh.table().remove_call(self.id);
        self.sh.sdp.release(self.id);
        if self.record
            && let (Some(p), Some(o)) = (&self.parties, &self.outcome)
        {
            let record = self.log.finish(
                OffsetDateTime::now_utc(),
                o.disposition,
                o.status,
                o.reason.as_deref(),
            );
            if let Some(info) = self.info() {
                self.sh.observer.call_ended(&info, &record);
            }
            tracing::info!(
                call = %self.id,
                tenant = %p.tenant.id,
                caller = %record.caller,
                callee = %record.callee,
                disposition = record.disposition.as_str(),
                status = ?record.sip_status,
                duration_s = record.duration_s,
                "call ended"
            );
            self.sh.records.submit(p.tenant.id, record);
        }
        if self.log.answered.is_some() {
            self.sh.answered.fetch_sub(1, Ordering::SeqCst);
        }
        self.active.take();
    }
}

impl Fork {
    fn invite_call_id(&self) -> &str {
        self.invite.call_id().unwrap_or_default()
    }
}

/// Passes a client transaction's events to its call; once the call is gone, a 2xx to
/// a fork's INVITE still gets its ACK and (once) a BYE.
async fn forward(
    sh: Arc<Shared>,
    inbox: Inbox,
    id: ClientId,
    mut ctx: ClientTransaction,
    orphan: Option<Peer>,
) {
    let mut dismissed = false;
    while let Some(event) = ctx.next().await {
        if let Err(mpsc::error::SendError(input)) =
            inbox.send(Box::new(Input::Client { id, event }))
            && let Input::Client { event: ClientEvent::Response(r), .. } = *input
            && r.status.is_success()
            && let Some(peer) = orphan
        {
            orphan_answer(&sh, Some(&mut dismissed), r, peer);
        }
    }
    let _ = inbox.send(Box::new(Input::ClientDone { id }));
}

/// ACKs a 2xx to one of our INVITEs that no call wants any more and ends its dialog
/// with a BYE (only the first time when `dismissed` tracks it).
pub(crate) fn orphan_answer(
    sh: &Arc<Shared>,
    dismissed: Option<&mut bool>,
    response: Response,
    peer: Peer,
) {
    let domain = response
        .from()
        .ok()
        .and_then(|f| crate::auth::realm_of(&f.uri))
        .unwrap_or_else(|| "invalid".into());
    let local = build::local_addr(&sh.core, sh.advertised.as_ref(), peer.transport, &domain);
    let Some((ack, bye)) = build::ack_and_bye(&response, peer.transport, &sh.core, &local) else {
        return;
    };
    let _ = sh.core.send_stateless(ack.into(), peer);
    let send_bye = match dismissed {
        Some(d) => !std::mem::replace(d, true),
        None => true,
    };
    if send_bye {
        tracing::debug!(call_id = response.call_id().unwrap_or_default(), "unwanted answer ended");
        let core = sh.core.clone();
        tokio::spawn(async move {
            let _ = core.start_request(bye, peer).await;
        });
    }
}
