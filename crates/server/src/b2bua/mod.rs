//! The B2BUA: calls between extensions (RFC 3261 back-to-back user agent).
//!
//! Place in the data flow: the core hands every INVITE, ACK, BYE, CANCEL, UPDATE, INFO,
//! ... to the B2BUA's [`CallHandler`] on the core task. A new INVITE starts a **call
//! task** that owns everything about the call; later messages reach it through a
//! routing table (by dialog: Call-ID plus the tag we chose; by server transaction), so
//! the core task never waits.
//!
//! ```text
//! caller --INVITE--> [core] --> B2bua::on_request --> call task
//!                                                    | authenticate (407, uniform)
//!                                                    | tenant rules (TLS + SRTP: 488)
//!                                                    | callee lookup (404), CallGate
//!                                                    | registrar.locate -> contacts (480)
//!                                                    | SdpRewriter (offer)
//!                                                    v
//!                              INVITE to every contact (parallel forks, own Call-ID,
//!                              tags and branch each); 180/183 relayed; first 2xx wins,
//!                              the others are CANCELled (a late 2xx gets ACK + BYE)
//! ```
//!
//! Each leg is its own dialog ([`ringfence_sip_proto::dialog::Dialog`]): we ACK the
//! callee's 2xx ourselves and retransmit our 2xx to the caller until its ACK
//! ([`ringfence_sip_proto::dialog::AnswerRetransmit`]). BYE from either side is answered
//! 200 and sent to the other; re-INVITE, UPDATE and INFO are relayed both ways with their
//! responses (hold and resume); a CANCEL from the caller cancels every fork and gets the
//! caller 487.
//!
//! Statuses the caller sees: busy (every device 486/600) 486; no answer within
//! `ring_timeout` 480; no registered device 480; unknown extension 404 (only ever to an
//! authenticated caller of the same tenant; everyone else gets the same 407 challenge
//! whatever they ask for); encryption required but TLS or SRTP missing 488 with a
//! Warning; a request we generated coming back (its Call-ID and From tag are one of our
//! callee legs) 482; Max-Forwards is decremented into the callee leg (the core answers
//! 483 at 0); more than `max_calls` calls 503.
//!
//! Encryption per tenant: `required` means the caller's leg is TLS and its offer is
//! SRTP (`RTP/SAVP(F)` with `a=crypto`), and the callee leg goes only to devices
//! registered over TLS. With `preferred` or `optional` every device is called, except
//! that an offer carrying SDES keys (`a=crypto`) only goes to TLS devices, so a key never
//! crosses a plain leg (unless the rewriter [terminates keys](SdpRewriter::terminates_keys)
//! per leg). With the media relay as [`SdpRewriter`]
//! ([`crate::media_anchor::MediaAnchor`], what `ringfence serve` runs) media is anchored
//! and SRTP terminated per leg, with our own keys on each; with [`PassThrough`] the two
//! devices negotiate SRTP end to end. An answered call can be ended from outside with
//! [`B2buaHandle::end_call`] (or [`B2buaHandle::end_call_as`], which sets the record's
//! disposition, e.g. `media_timeout`).
//!
//! Calls to and from the phone network: the [`CallGate`] (in `ringfence serve`, the
//! egress gate of [`crate::egress`]) answers a destination that is not an extension with
//! [`GateDecision::Route`] (one INVITE to a trunk, whose 401/407 challenge is answered
//! once with the trunk's credentials) or [`GateDecision::Refuse`] (the caller sees the
//! status and reason phrase, the record gets the reason); such calls are recorded as
//! `outbound`. An INVITE from a trunk's address is handed to [`CallGate::inbound`] instead
//! of digest authentication: it rings the extension the number called belongs to, or is
//! answered without ringing anyone (`inbound` records).
//!
//! Every call that got past authentication leaves a call record (tenant, parties,
//! times, duration, disposition, status, transport of the caller's leg, encrypted or
//! not), queued to a writer task so call handling never waits for the store. Calls are
//! capped at `max_call_duration` and every termination path frees the call's state.
//!
//! Shutdown: [`B2buaHandle::shutdown`] refuses new calls (503), ends answered calls with
//! BYE on both legs, cancels ringing ones, and stores the records, within
//! `shutdown_grace`. Run it **before** stopping the SIP service, which then drains the
//! BYE transactions.

mod build;
mod call;
mod config;
mod hooks;
mod outcome;
mod record;
mod route;
mod routing;
pub mod sdp;
mod store;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use ringfence_sip_proto::transaction::{Peer, TxId};
use ringfence_sip_types::{Host, Method, Request, Response};
use ringfence_store::{CallRecordRepo, Disposition, ExtensionRepo};
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

pub use config::B2buaConfig;
pub use hooks::{
    CallAttempt, CallGate, CallInfo, CallObserver, CallOrigin, CallRef, Destination, GateDecision,
    InternalOnly, NoCallObserver, PassThrough, SdpContext, SdpKind, SdpRefusal, SdpRewriter, Side,
};
pub use route::{ExternalRoute, InboundDecision, TrunkCredentials};
pub use store::{CallStore, StoreCalls};

use crate::auth::{AuthOutcome, Authenticator, ChallengeKind};
use crate::core::{
    CallContext, CallFactory, CallHandler, CoreError, CoreHandle, ServerTxEvent, caller_realm,
};
use crate::registrar::Registrar;
use call::{Call, CallerLeg, Input};
use record::RecordWriter;
use routing::{Table, dialog_key};

/// A call's queue. Boxed messages: a channel allocates its slots 32 at a time, each as
/// large as the message, and a call's channel lives as long as its client transactions
/// (an answered INVITE's 32 s, Timer M); inline requests made that about 10 KB per call.
type Inbox = mpsc::UnboundedSender<Box<Input>>;

/// What every call task shares.
pub(crate) struct Shared {
    config: B2buaConfig,
    advertised: Option<Host>,
    core: CoreHandle,
    auth: Arc<Authenticator>,
    registrar: Registrar,
    store: Arc<dyn CallStore>,
    sdp: Arc<dyn SdpRewriter>,
    gate: Arc<dyn CallGate>,
    observer: Arc<dyn CallObserver>,
    records: RecordWriter,
    table: Mutex<Table<Inbox>>,
    /// Authenticated calls in progress (the `max_calls` cap).
    active: AtomicUsize,
    /// Answered calls in progress.
    answered: AtomicUsize,
    draining: AtomicBool,
    next_call: AtomicU64,
    /// Call tasks (not the helpers that outlive them).
    tasks: TaskTracker,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, Table<Inbox>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Configures the B2BUA: its settings, where it reads extensions and writes records, and
/// the hooks ([`SdpRewriter`], [`CallGate`], [`CallObserver`]).
pub struct B2buaBuilder {
    config: B2buaConfig,
    store: Arc<dyn CallStore>,
    sdp: Arc<dyn SdpRewriter>,
    gate: Arc<dyn CallGate>,
    observer: Arc<dyn CallObserver>,
}

impl std::fmt::Debug for B2buaBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("B2buaBuilder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl B2buaBuilder {
    /// A B2BUA over `store` with SDP passed through, internal calls allowed and nobody
    /// observing.
    pub fn new<S>(config: B2buaConfig, store: S) -> B2buaBuilder
    where
        S: ExtensionRepo + CallRecordRepo + Send + Sync + 'static,
    {
        B2buaBuilder::with_call_store(config, Arc::new(StoreCalls(store)))
    }

    /// A B2BUA over any [`CallStore`].
    pub fn with_call_store(config: B2buaConfig, store: Arc<dyn CallStore>) -> B2buaBuilder {
        B2buaBuilder {
            config,
            store,
            sdp: Arc::new(PassThrough),
            gate: Arc::new(InternalOnly),
            observer: Arc::new(NoCallObserver),
        }
    }

    /// Rewrites SDP between the legs (the media relay).
    pub fn sdp_rewriter(mut self, sdp: Arc<dyn SdpRewriter>) -> Self {
        self.sdp = sdp;
        self
    }

    /// Decides whether calls may be placed (egress policy, fraud limits).
    pub fn gate(mut self, gate: Arc<dyn CallGate>) -> Self {
        self.gate = gate;
        self
    }

    /// Hears about answered and ended calls.
    pub fn observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// The factory for [`crate::core::SipServiceBuilder::call_handler`] and the handle
    /// that shuts the B2BUA down and ends calls.
    ///
    /// # Errors
    /// [`CoreError::Config`] for an invalid configuration (the message names the field).
    pub fn build(self) -> Result<(CallFactory, B2buaHandle), CoreError> {
        self.config.validate().map_err(CoreError::Config)?;
        let slot: Arc<OnceLock<Arc<Shared>>> = Arc::new(OnceLock::new());
        let handle = B2buaHandle { shared: slot.clone() };
        let factory: CallFactory = Box::new(move |ctx: &CallContext| {
            let (records, _task) =
                RecordWriter::spawn(self.store.clone(), self.config.record_queue);
            let shared = Arc::new(Shared {
                advertised: self.config.advertised(),
                config: self.config,
                core: ctx.core.clone(),
                auth: ctx.auth.clone(),
                registrar: ctx.registrar.clone(),
                store: Arc::new(store::CachedExtensions::new(self.store, ctx.auth.clone())),
                sdp: self.sdp,
                gate: self.gate,
                observer: self.observer,
                records,
                table: Mutex::new(Table::default()),
                active: AtomicUsize::new(0),
                answered: AtomicUsize::new(0),
                draining: AtomicBool::new(false),
                next_call: AtomicU64::new(1),
                tasks: TaskTracker::new(),
            });
            let _ = slot.set(shared.clone());
            Box::new(B2bua { shared })
        });
        Ok((factory, handle))
    }
}

/// Controls a running B2BUA: shutdown, ending calls, counters.
#[derive(Debug, Clone)]
pub struct B2buaHandle {
    shared: Arc<OnceLock<Arc<Shared>>>,
}

/// Counters of a running B2BUA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct B2buaStats {
    /// Calls held (including ones still authenticating).
    pub calls: usize,
    /// Authenticated calls in progress.
    pub active: usize,
    /// Answered calls in progress.
    pub answered: usize,
    /// Dialog keys in the routing table.
    pub dialog_keys: usize,
    /// Server transactions in the routing table.
    pub transactions: usize,
    /// Records stored.
    pub records_written: u64,
    /// Records the store refused.
    pub records_failed: u64,
    /// Records dropped because the queue was full.
    pub records_dropped: u64,
}

impl B2buaHandle {
    fn get(&self) -> Option<&Arc<Shared>> {
        self.shared.get()
    }

    /// Counters (all zero before the SIP service has started).
    pub fn stats(&self) -> B2buaStats {
        let Some(sh) = self.get() else { return B2buaStats::default() };
        let t = sh.table();
        let (dialog_keys, transactions) = t.index_sizes();
        let c = sh.records.counters();
        B2buaStats {
            calls: t.len(),
            active: sh.active.load(Ordering::Relaxed),
            answered: sh.answered.load(Ordering::Relaxed),
            dialog_keys,
            transactions,
            records_written: c.written.load(Ordering::Relaxed),
            records_failed: c.failed.load(Ordering::Relaxed),
            records_dropped: c.dropped.load(Ordering::Relaxed),
        }
    }

    /// Ends `call`: an answered call with BYE on both legs, a ringing one by cancelling
    /// its forks and answering the caller `status` (for example 403 when the fraud
    /// engine blocks it). `reason` goes into the record. False if there is no such call.
    pub fn end_call(&self, call: CallRef, status: u16, reason: &str) -> bool {
        self.hangup(call, status, None, reason)
    }

    /// As [`B2buaHandle::end_call`], with the record's disposition given whether or not
    /// the call was answered (the media relay ends a call whose media stopped with
    /// [`Disposition::MediaTimeout`]).
    pub fn end_call_as(
        &self,
        call: CallRef,
        status: u16,
        disposition: Disposition,
        reason: &str,
    ) -> bool {
        self.hangup(call, status, Some(disposition), reason)
    }

    fn hangup(
        &self,
        call: CallRef,
        status: u16,
        disposition: Option<Disposition>,
        reason: &str,
    ) -> bool {
        let Some(sh) = self.get() else { return false };
        let inbox = sh.table().inbox(call);
        let input = Input::Hangup { status, reason: reason.to_owned(), disposition };
        inbox.is_some_and(|i| i.send(Box::new(input)).is_ok())
    }

    /// Waits until every record queued so far has been stored.
    pub async fn flush_records(&self) {
        if let Some(sh) = self.get() {
            sh.records.flush().await;
        }
    }

    /// Stops taking calls (new INVITEs get 503), ends every call (BYE on answered ones,
    /// CANCEL and 503 on ringing ones) and stores their records, waiting at most
    /// `shutdown_grace`. Returns the number of calls that had not ended in time.
    pub async fn shutdown(&self) -> usize {
        let Some(sh) = self.get() else { return 0 };
        sh.draining.store(true, Ordering::SeqCst);
        let inboxes = sh.table().inboxes();
        tracing::info!(calls = inboxes.len(), "B2BUA ending calls for shutdown");
        for (_, inbox) in inboxes {
            let _ = inbox.send(Box::new(Input::Shutdown));
        }
        sh.tasks.close();
        let grace = sh.config.shutdown_grace;
        let start = tokio::time::Instant::now();
        let left = if tokio::time::timeout(grace, sh.tasks.wait()).await.is_err() {
            let n = sh.table().len();
            tracing::warn!(calls = n, "shutdown grace over with calls still running");
            n
        } else {
            0
        };
        let rest = grace.saturating_sub(start.elapsed()).max(Duration::from_millis(500));
        if tokio::time::timeout(rest, sh.records.flush()).await.is_err() {
            tracing::warn!("call records still queued at the end of shutdown");
        }
        left
    }
}

/// The [`CallHandler`] the core talks to. Everything here runs on the core task and
/// only routes: the work happens on the call tasks.
struct B2bua {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for B2bua {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("B2bua").finish_non_exhaustive()
    }
}

fn to_tag(request: &Request) -> Option<String> {
    request.to().ok().and_then(|t| t.tag().map(str::to_owned))
}

impl B2bua {
    fn refuse(&self, core: &CoreHandle, tx: TxId, request: &Request, code: u16) {
        let r = build::local_response(request, code, Some(&crate::auth::random_tag()), None);
        let _ = core.respond(tx, r);
    }

    fn new_call(&self, core: &CoreHandle, tx: TxId, request: Request, source: Peer) {
        let sh = &self.shared;
        if sh.draining.load(Ordering::SeqCst) {
            self.refuse(core, tx, &request, 503);
            return;
        }
        let (Ok(call_id), Ok(from)) = (request.call_id(), request.from()) else {
            self.refuse(core, tx, &request, 400);
            return;
        };
        // A request we generated coming back: its Call-ID and From tag are a callee leg.
        let looped =
            from.tag().is_some_and(|tag| sh.table().by_dialog(&dialog_key(call_id, tag)).is_some());
        if looped {
            tracing::warn!(source = %source.addr, "INVITE loop detected");
            self.refuse(core, tx, &request, 482);
            return;
        }
        let id = CallRef(sh.next_call.fetch_add(1, Ordering::Relaxed));
        let tag = core.new_tag();
        let (inbox, rx) = mpsc::unbounded_channel();
        {
            let mut t = sh.table();
            t.insert_call(id, inbox.clone());
            t.add_dialog(id, dialog_key(call_id, &tag));
            t.add_tx(tx, id);
        }
        let call = Call::new(sh.clone(), id, inbox, rx, CallerLeg::new(tx, request, source, tag));
        sh.tasks.spawn(call.run());
    }

    /// A request outside any dialog other than INVITE: authenticated like an INVITE (so
    /// a scanner learns nothing), then refused.
    fn out_of_dialog(&self, core: &CoreHandle, tx: TxId, request: Request, source: Peer) {
        let auth = self.shared.auth.clone();
        let core = core.clone();
        tokio::spawn(async move {
            let realm = caller_realm(&request);
            let r = match auth.authenticate(&request, &source, &realm, ChallengeKind::Proxy).await {
                AuthOutcome::Authenticated(_) => {
                    let code = match request.method {
                        Method::Message | Method::Refer => 480,
                        _ => 481,
                    };
                    build::local_response(&request, code, Some(&crate::auth::random_tag()), None)
                }
                AuthOutcome::Challenge(r) | AuthOutcome::Unavailable(r) => r,
            };
            let _ = core.respond(tx, r);
        });
    }
}

impl CallHandler for B2bua {
    fn on_request(&mut self, core: &CoreHandle, tx: TxId, request: Request, source: Peer) {
        let Some(tag) = to_tag(&request) else {
            if request.method == Method::Invite {
                self.new_call(core, tx, request, source);
            } else {
                self.out_of_dialog(core, tx, request, source);
            }
            return;
        };
        let key = request.call_id().map(|c| dialog_key(c, &tag)).unwrap_or_default();
        let found = {
            let mut t = self.shared.table();
            let found = t.by_dialog(&key);
            if let Some((call, _)) = &found {
                t.add_tx(tx, *call);
            }
            found
        };
        let delivered = found.is_some_and(|(_, inbox)| {
            inbox.send(Box::new(Input::Request { tx, request: request.clone(), source })).is_ok()
        });
        if !delivered {
            self.shared.table().remove_tx(tx);
            let _ = core.respond(tx, build::local_response(&request, 481, None, None));
        }
    }

    fn on_ack(&mut self, _core: &CoreHandle, _tx: Option<TxId>, request: Request, source: Peer) {
        let Some(tag) = to_tag(&request) else { return };
        let Ok(call_id) = request.call_id() else { return };
        let found = self.shared.table().by_dialog(&dialog_key(call_id, &tag));
        if let Some((_, inbox)) = found {
            let _ = inbox.send(Box::new(Input::Ack { request, source }));
        }
    }

    fn on_cancel(&mut self, core: &CoreHandle, invite_tx: TxId, request: Request, _source: Peer) {
        let found = self.shared.table().by_tx(invite_tx);
        let delivered = found.is_some_and(|(_, inbox)| {
            inbox.send(Box::new(Input::Cancel { tx: invite_tx, request: request.clone() })).is_ok()
        });
        if !delivered {
            // The CANCEL carries the INVITE's Via, From, To, Call-ID and CSeq number
            // (RFC 3261 §9.1); only the CSeq method differs.
            let mut r = Response::from_request(&request, 487);
            if let Ok(cseq) = request.cseq() {
                r.headers
                    .set(ringfence_sip_types::HeaderName::CSeq, &format!("{} INVITE", cseq.seq));
            }
            let _ = core.respond(invite_tx, r);
        }
    }

    fn on_stray_response(&mut self, _core: &CoreHandle, response: Response, source: Peer) {
        let is_invite_2xx = response.status.is_success()
            && response.cseq().is_ok_and(|c| c.method == Method::Invite);
        if !is_invite_2xx {
            return;
        }
        let key = match (response.call_id(), response.from()) {
            (Ok(c), Ok(f)) => dialog_key(c, f.tag().unwrap_or_default()),
            _ => return,
        };
        let found = self.shared.table().by_dialog(&key);
        if let Some((_, inbox)) = found
            && inbox.send(Box::new(Input::Stray { response: response.clone(), source })).is_ok()
        {
            return;
        }
        call::orphan_answer(&self.shared, None, response, source);
    }

    fn on_server_event(&mut self, _core: &CoreHandle, tx: TxId, event: ServerTxEvent) {
        let found = if event == ServerTxEvent::Terminated {
            self.shared.table().remove_tx(tx)
        } else {
            self.shared.table().by_tx(tx)
        };
        if let Some((_, inbox)) = found {
            let _ = inbox.send(Box::new(Input::ServerTx { tx, event }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item_size<T>(_: &mpsc::UnboundedSender<T>) -> usize {
        std::mem::size_of::<T>()
    }

    /// Regression: the call queue and a client transaction's event queue carried
    /// requests and responses inline. A channel allocates its slots 32 at a time, and an
    /// answered INVITE keeps both queues 32 s (Timer M), so 3000 calls/s held about 17 KB
    /// per call: 1.8 GB after 30 s of the SIP load benchmark (0.8 GB with boxed messages).
    #[test]
    fn queued_messages_are_pointers() {
        let (inbox, _rx): (Inbox, _) = mpsc::unbounded_channel();
        assert_eq!(item_size(&inbox), std::mem::size_of::<usize>());
        // A client transaction's queue: its item type, checked by the compiler.
        let _: fn(TxId, mpsc::UnboundedReceiver<Box<crate::core::ClientEvent>>) -> _ =
            crate::core::ClientTransaction::new;
    }
}
