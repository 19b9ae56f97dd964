//! The transaction layer: every live transaction of one SIP endpoint, matching, timers
//! and output queues. Sans-IO: the driver feeds `handle_*` and drains `poll_*`.

use std::cmp::Reverse;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ringfence_sip_types::{Message, Method, Request, Response};

use super::build::{build_cancel, response_destination};
use super::client::{CancelState, ClientInvite, ClientNonInvite};
use super::ctx::{Ctx, Outputs, kept};
use super::key::{ClientKey, MergeKey, ServerKey};
use super::server::{ServerInvite, ServerNonInvite};
use super::timers::Timers;
use super::types::{Event, OverloadPolicy, Peer, Stats, Transmit, TxId, TxKind, TxState};
use crate::error::Error;

/// Transaction layer configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Timer values.
    pub timers: Timers,
    /// Live server transactions allowed (default 65 536); beyond it new requests meet
    /// [`Config::overload`]. CANCELs for live INVITEs are exempt (there is at most one
    /// per INVITE transaction).
    pub max_server_transactions: usize,
    /// Live client transactions allowed (default 65 536); beyond it
    /// [`crate::transaction::TransactionLayer::start_client_transaction`] fails with
    /// [`Error::TooManyTransactions`].
    pub max_client_transactions: usize,
    /// What to do with a new request when the server transaction cap is reached
    /// (default: 503 with `Retry-After: 5`).
    pub overload: OverloadPolicy,
    /// Answer merged requests with 482 (RFC 3261 §8.2.2.2; default true). This is UAS
    /// behaviour; a stateful proxy turns it off.
    pub reject_merged_requests: bool,
    /// End a non-INVITE server transaction as soon as its final response is a `401` or
    /// `407` challenge (default false). RFC 3261 §8.2.7 and §26.1.5: challenges are best
    /// answered statelessly, so that a flood of unauthenticated requests leaves no state
    /// behind (a finished transaction is otherwise kept 64*T1 over UDP, Timer J); a
    /// retransmitted request is then challenged again, which any client handles like the
    /// first challenge (the nonce is stateless too).
    pub stateless_challenges: bool,
    /// The ids this layer hands out (default: all of them). Several layers of one
    /// endpoint (one per worker, each owning the transactions of some Call-IDs) take
    /// disjoint id spaces, so a [`TxId`] alone tells which layer owns it
    /// ([`IdSpace::owner`]).
    pub ids: IdSpace,
}

/// A residue class of transaction ids: layer `index` of `count` hands out the ids `n`
/// with `(n - 1) % count == index`, so ids stay unique across the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdSpace {
    index: u64,
    count: u64,
}

impl IdSpace {
    /// Every id: the only layer of its endpoint.
    pub const ALL: IdSpace = IdSpace { index: 0, count: 1 };

    /// Layer `index` of `count` (`index < count`, `count >= 1`; clamped otherwise).
    pub fn new(index: usize, count: usize) -> IdSpace {
        let count = count.max(1) as u64;
        IdSpace { index: (index as u64).min(count - 1), count }
    }

    /// The index of the layer among `count` that handed out `tx`.
    pub fn owner(tx: TxId, count: usize) -> usize {
        let count = count.max(1) as u64;
        // Ids start at 1; `count` fits in usize, so the remainder does too.
        usize::try_from(tx.0.wrapping_sub(1) % count).unwrap_or(0)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timers: Timers::DEFAULT,
            max_server_transactions: 65_536,
            max_client_transactions: 65_536,
            overload: OverloadPolicy::Reject { retry_after: 5 },
            reject_merged_requests: true,
            stateless_challenges: false,
            ids: IdSpace::ALL,
        }
    }
}

/// A transaction's state machine. The INVITE machines are boxed: they hold a whole
/// request or response, and every entry of the table is as large as the largest variant,
/// while most live transactions are finished non-INVITE ones (kept for Timer J or K).
#[derive(Debug)]
pub(crate) enum Machine {
    /// Client INVITE.
    Ci(Box<ClientInvite>),
    /// Client non-INVITE.
    Cn(ClientNonInvite),
    /// Server INVITE.
    Si(Box<ServerInvite>),
    /// Server non-INVITE.
    Sn(ServerNonInvite),
}

impl Machine {
    pub(crate) fn kind(&self) -> TxKind {
        match self {
            Machine::Ci(_) => TxKind::ClientInvite,
            Machine::Cn(_) => TxKind::ClientNonInvite,
            Machine::Si(_) => TxKind::ServerInvite,
            Machine::Sn(_) => TxKind::ServerNonInvite,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        match self {
            Machine::Ci(m) => m.state(),
            Machine::Cn(m) => m.state(),
            Machine::Si(m) => m.state(),
            Machine::Sn(m) => m.state(),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self {
            Machine::Ci(m) => m.deadline(),
            Machine::Cn(m) => m.deadline(),
            Machine::Si(m) => m.deadline(),
            Machine::Sn(m) => m.deadline(),
        }
    }

    fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            Machine::Ci(m) => m.on_timeout(ctx),
            Machine::Cn(m) => m.on_timeout(ctx),
            Machine::Si(m) => m.on_timeout(ctx),
            Machine::Sn(m) => m.on_timeout(ctx),
        }
    }

    fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            Machine::Ci(m) => m.on_transport_error(ctx),
            Machine::Cn(m) => m.on_transport_error(ctx),
            Machine::Si(m) => m.on_transport_error(ctx),
            Machine::Sn(m) => m.on_transport_error(ctx),
        }
    }
}

/// Hasher for [`TxId`] keys: the layer hands ids out from a counter, so no peer can
/// choose them and SipHash's flood resistance is not needed. Fibonacci hashing spreads
/// consecutive ids over the high bits the table uses.
#[derive(Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) machine: Machine,
    // The keys are shared with the indexes (one allocation each, not two copies).
    pub(crate) client_key: Option<Arc<ClientKey>>,
    pub(crate) server_key: Option<Arc<ServerKey>>,
    pub(crate) merge_key: Option<Arc<MergeKey>>,
    /// RFC 2543 matching: the To tag of the request that created the transaction.
    pub(crate) request_to_tag: Option<String>,
    /// The layer's own transaction: no events reach the TU.
    pub(crate) quiet: bool,
    /// The deadline currently in the timer heap.
    scheduled: Option<Instant>,
}

impl Entry {
    pub(crate) fn new(machine: Machine, quiet: bool) -> Entry {
        Entry {
            machine,
            client_key: None,
            server_key: None,
            merge_key: None,
            request_to_tag: None,
            quiet,
            scheduled: None,
        }
    }
}

/// All transactions of one endpoint (RFC 3261 §17), sans-IO.
///
/// Inputs: [`handle_incoming`](Self::handle_incoming) for every parsed message,
/// [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)
/// passes, [`handle_transport_error`](Self::handle_transport_error) when a send fails,
/// and the TU's [`start_client_transaction`](Self::start_client_transaction),
/// [`respond`](Self::respond), [`cancel`](Self::cancel) and stateless sends. Outputs:
/// [`poll_transmit`](Self::poll_transmit) and [`poll_event`](Self::poll_event). After
/// each input, drain both queues and re-read `poll_timeout`.
///
/// The layer never reads a clock, spawns, or touches a socket; it adds nothing to
/// outgoing requests (the TU sets the Via branch, see [`super::IdGenerator`]) and only
/// `received`/`rport` to incoming ones.
#[derive(Debug)]
pub struct TransactionLayer {
    pub(crate) config: Config,
    next_id: u64,
    /// Boxed: the table keeps up to half its slots empty, and an empty slot costs only
    /// a pointer.
    pub(crate) txs: HashMap<TxId, Box<Entry>, BuildHasherDefault<IdHasher>>,
    pub(crate) client_index: HashMap<Arc<ClientKey>, TxId>,
    pub(crate) server_index: HashMap<Arc<ServerKey>, TxId>,
    pub(crate) merge_index: HashMap<Arc<MergeKey>, TxId>,
    heap: BinaryHeap<Reverse<(Instant, TxId)>>,
    pub(crate) server_count: usize,
    client_count: usize,
    pub(crate) out: Outputs,
}

impl Default for TransactionLayer {
    fn default() -> Self {
        TransactionLayer::new(Config::default())
    }
}

impl TransactionLayer {
    /// An empty layer.
    pub fn new(config: Config) -> TransactionLayer {
        TransactionLayer {
            config,
            next_id: 0,
            txs: HashMap::default(),
            client_index: HashMap::new(),
            server_index: HashMap::new(),
            merge_index: HashMap::new(),
            heap: BinaryHeap::new(),
            server_count: 0,
            client_count: 0,
            out: Outputs::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn alloc_id(&mut self) -> TxId {
        let IdSpace { index, count } = self.config.ids;
        let id = self.next_id * count + index + 1;
        self.next_id += 1;
        TxId(id)
    }

    /// Runs `f` on the machine of `id` with a context, then files the result.
    pub(crate) fn with_machine<R>(
        &mut self,
        now: Instant,
        id: TxId,
        f: impl FnOnce(&mut Machine, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let entry = self.txs.get_mut(&id)?;
        let mut ctx =
            Ctx { now, timers: &self.config.timers, out: &mut self.out, quiet: entry.quiet };
        let r = f(&mut entry.machine, &mut ctx);
        self.settle(id);
        Some(r)
    }

    /// Inserts a new transaction (its machine already acted) and files it.
    pub(crate) fn insert(&mut self, id: TxId, entry: Entry) {
        if entry.machine.kind().is_client() {
            self.client_count += 1;
        } else {
            self.server_count += 1;
        }
        if let Some(k) = &entry.client_key {
            self.client_index.insert(k.clone(), id);
        }
        if let Some(k) = &entry.server_key {
            self.server_index.insert(k.clone(), id);
        }
        if let Some(k) = &entry.merge_key {
            self.merge_index.entry(k.clone()).or_insert(id);
        }
        self.txs.insert(id, Box::new(entry));
        self.settle(id);
    }

    /// Removes a terminated transaction or (re)schedules its timer.
    fn settle(&mut self, id: TxId) {
        let Some(entry) = self.txs.get_mut(&id) else { return };
        if entry.machine.state() == TxState::Terminated {
            let Some(entry) = self.txs.remove(&id).map(|e| *e) else { return };
            let kind = entry.machine.kind();
            if kind.is_client() {
                self.client_count -= 1;
            } else {
                self.server_count -= 1;
            }
            if let Some(k) = entry.client_key
                && let MapEntry::Occupied(o) = self.client_index.entry(k)
                && *o.get() == id
            {
                o.remove();
            }
            if let Some(k) = entry.server_key
                && let MapEntry::Occupied(o) = self.server_index.entry(k)
                && *o.get() == id
            {
                o.remove();
            }
            if let Some(k) = entry.merge_key
                && let MapEntry::Occupied(o) = self.merge_index.entry(k)
                && *o.get() == id
            {
                o.remove();
            }
            if !entry.quiet {
                self.out.event(Event::Terminated { tx: id, kind });
            }
            return;
        }
        let d = entry.machine.deadline();
        if d != entry.scheduled {
            entry.scheduled = d;
            if let Some(at) = d {
                self.heap.push(Reverse((at, id)));
            }
        }
    }

    fn heap_entry_live(&self, at: Instant, id: TxId) -> bool {
        self.txs.get(&id).is_some_and(|e| e.scheduled == Some(at))
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if self.heap_entry_live(at, id) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            if !self.heap_entry_live(at, id) {
                continue;
            }
            if let Some(e) = self.txs.get_mut(&id) {
                e.scheduled = None;
            }
            self.with_machine(now, id, |m, ctx| m.on_timeout(ctx));
        }
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// The driver could not send a message of transaction `tx` (RFC 3261 §17.1.4,
    /// §17.2.4): the transaction ends with [`Event::TransportError`]. Unknown ids are
    /// ignored (the transaction may have ended meanwhile).
    pub fn handle_transport_error(&mut self, now: Instant, tx: TxId) {
        self.with_machine(now, tx, |m, ctx| m.on_transport_error(ctx));
    }

    /// Starts a client transaction for `request` (anything but ACK) sent to `dest`.
    ///
    /// The request must be complete: its top Via carries a branch with the magic cookie
    /// (use [`super::IdGenerator::branch`]) and its CSeq method equals its method. The
    /// layer sends it as is.
    pub fn start_client_transaction(
        &mut self,
        now: Instant,
        request: Request,
        dest: Peer,
    ) -> Result<TxId, Error> {
        if request.method == Method::Ack {
            return Err(Error::AckIsNotATransaction);
        }
        let via = request.via_top()?;
        if !via.has_rfc3261_branch() {
            return Err(Error::MissingBranch);
        }
        let cseq = request.cseq()?;
        if cseq.method != request.method {
            return Err(Error::CSeqMethodMismatch);
        }
        request.from()?;
        request.to()?;
        request.call_id()?;
        let key = ClientKey {
            branch: via.branch().unwrap_or_default().to_owned(),
            method: request.method.clone(),
        };
        if self.client_index.contains_key(&key) {
            return Err(Error::DuplicateTransaction);
        }
        if self.client_count >= self.config.max_client_transactions {
            return Err(Error::TooManyTransactions);
        }
        let id = self.alloc_id();
        let bytes = kept(request.to_bytes());
        let mut ctx = Ctx { now, timers: &self.config.timers, out: &mut self.out, quiet: false };
        let machine = if request.method == Method::Invite {
            Machine::Ci(Box::new(ClientInvite::start(id, dest, request, bytes, &mut ctx)))
        } else {
            Machine::Cn(ClientNonInvite::start(id, dest, bytes, &mut ctx))
        };
        self.out.stats.client_started += 1;
        let mut entry = Entry::new(machine, false);
        entry.client_key = Some(Arc::new(key));
        self.insert(id, entry);
        Ok(id)
    }

    /// Sends `response` in server transaction `tx` (RFC 3261 §17.2). Provisional
    /// responses are allowed until a final one; an INVITE transaction in Accepted also
    /// takes 2xx retransmissions from the TU (RFC 6026 §7.1). The destination was fixed
    /// when the request arrived (§18.2.2).
    pub fn respond(&mut self, now: Instant, tx: TxId, response: Response) -> Result<(), Error> {
        let forget =
            self.config.stateless_challenges && matches!(response.status.code(), 401 | 407);
        let r = self.with_machine(now, tx, |m, ctx| match m {
            Machine::Si(s) => s.respond(&response, ctx),
            Machine::Sn(s) => {
                let sent = s.respond(&response, ctx);
                if forget && sent.is_ok() {
                    s.forget();
                }
                sent
            }
            m => Err(Error::WrongTransactionKind { tx, kind: m.kind(), operation: "respond" }),
        });
        r.unwrap_or(Err(Error::UnknownTransaction(tx)))
    }

    /// Cancels client INVITE transaction `tx` (RFC 3261 §9.1): sends a CANCEL built from
    /// the INVITE (plus `extra` headers such as `Reason`) in its own client transaction,
    /// at once if a provisional response has arrived, else as soon as one does. The
    /// CANCEL's own responses are not passed to the TU; the INVITE ends with its final
    /// response (normally 487), or with [`Event::Timeout`] 64*T1 after the CANCEL.
    ///
    /// Returns `Ok(false)` when it is too late: a final response already arrived (for a
    /// 2xx, the TU sends ACK and BYE instead). Calling it again is harmless.
    pub fn cancel(
        &mut self,
        now: Instant,
        tx: TxId,
        extra: &[(&str, &str)],
    ) -> Result<bool, Error> {
        let entry = self.txs.get_mut(&tx).ok_or(Error::UnknownTransaction(tx))?;
        let kind = entry.machine.kind();
        let Machine::Ci(ci) = &mut entry.machine else {
            return Err(Error::WrongTransactionKind { tx, kind, operation: "cancel" });
        };
        match (ci.state(), &ci.cancel) {
            (
                TxState::Calling | TxState::Proceeding,
                CancelState::Pending(_) | CancelState::Sent,
            ) => Ok(true),
            (TxState::Calling, CancelState::None) => {
                let extra = extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
                ci.cancel = CancelState::Pending(extra);
                Ok(true)
            }
            (TxState::Proceeding, CancelState::None) => {
                let extra: Vec<(String, String)> =
                    extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
                self.send_cancel(now, tx, &extra)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Sends the CANCEL for client INVITE `tx` now.
    pub(crate) fn send_cancel(
        &mut self,
        now: Instant,
        tx: TxId,
        extra: &[(String, String)],
    ) -> Result<(), Error> {
        let Some(Entry { machine: Machine::Ci(ci), .. }) = self.txs.get(&tx).map(|e| &**e) else {
            return Err(Error::UnknownTransaction(tx));
        };
        let extra: Vec<(&str, &str)> =
            extra.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let cancel = build_cancel(&ci.request, &extra)?;
        let dest = ci.dest;
        let branch = cancel.via_top()?.branch().unwrap_or_default().to_owned();
        let key = ClientKey { branch, method: Method::Cancel };
        let id = self.alloc_id();
        let bytes = kept(cancel.to_bytes());
        let mut ctx = Ctx { now, timers: &self.config.timers, out: &mut self.out, quiet: true };
        let machine = Machine::Cn(ClientNonInvite::start(id, dest, bytes, &mut ctx));
        let mut entry = Entry::new(machine, true);
        entry.client_key = Some(Arc::new(key));
        self.insert(id, entry);
        self.with_machine(now, tx, |m, ctx| {
            if let Machine::Ci(ci) = m {
                ci.cancel_sent(ctx);
            }
        });
        Ok(())
    }

    /// Sends a message outside any transaction: the ACK for a 2xx (RFC 3261 §13.2.2.4),
    /// 2xx retransmissions after the INVITE transaction ended, or any stateless message.
    pub fn send_stateless(&mut self, message: &Message, dest: Peer) {
        self.out.send(None, dest, Bytes::from(message.to_bytes()), false);
    }

    /// Sends a response outside any transaction, to the destination its top Via names
    /// (RFC 3261 §18.2.2) for a request that came from `source`.
    pub fn send_response_stateless(
        &mut self,
        response: &Response,
        source: &Peer,
    ) -> Result<(), Error> {
        let via = response.via_top()?;
        let dest = response_destination(&via, source);
        self.out.send(None, dest, Bytes::from(response.to_bytes()), false);
        Ok(())
    }

    /// The state of transaction `tx`, `None` once it is gone.
    pub fn state(&self, tx: TxId) -> Option<TxState> {
        self.txs.get(&tx).map(|e| e.machine.state())
    }

    /// The kind of transaction `tx`, `None` once it is gone.
    pub fn kind(&self, tx: TxId) -> Option<TxKind> {
        self.txs.get(&tx).map(|e| e.machine.kind())
    }

    /// The INVITE of client INVITE transaction `tx` (to build a dialog or an ACK).
    pub fn client_invite(&self, tx: TxId) -> Option<&Request> {
        match self.txs.get(&tx).map(|e| &**e) {
            Some(Entry { machine: Machine::Ci(ci), .. }) => Some(&ci.request),
            _ => None,
        }
    }

    /// Where server transaction `tx` sends its responses.
    pub fn response_destination(&self, tx: TxId) -> Option<Peer> {
        match self.txs.get(&tx).map(|e| &e.machine) {
            Some(Machine::Si(s)) => Some(s.dest),
            Some(Machine::Sn(s)) => Some(s.dest),
            _ => None,
        }
    }

    /// Live transactions, the layer's own CANCELs and automatic answers included.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Live server transactions.
    pub fn server_transactions(&self) -> usize {
        self.server_count
    }

    /// Live client transactions.
    pub fn client_transactions(&self) -> usize {
        self.client_count
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        self.out.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A live transaction costs its entry, its keys and its kept message. Finished
    /// non-INVITE server transactions are most of them under load (one per REGISTER, kept
    /// 32 s over UDP), so the entry must stay small: it was 816 bytes with the INVITE
    /// machines and the RFC 2543 key inline.
    #[test]
    fn table_entries_stay_small() {
        let entry = std::mem::size_of::<Entry>();
        assert!(entry <= 256, "Entry is {entry} bytes");
        let key = std::mem::size_of::<ServerKey>();
        assert!(key <= 80, "ServerKey is {key} bytes");
    }
}
