//! One shard of the core: a transaction layer and the task driving it.
//!
//! The task waits for whichever comes first: a message from the transports (its queue
//! holds the messages whose Call-ID hashes to this shard), a command from a TU, the
//! layer's next timer, or shutdown. After each it drains the layer's output: every
//! [`Transmit`] goes to [`Transports::send`] (a failure is fed back with
//! `handle_transport_error`, and so is the failure to open the connection a message was
//! queued on; a response whose connection has closed is retried on a new one, RFC 3261
//! §18.2.2), and every event is dispatched through the shared [`Routes`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ringfence_sip_proto::transaction::{Event, Peer, TransactionLayer, Transmit, TxId};
use ringfence_sip_types::{HeaderName, Request, Response};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::call::{CallHandler, ServerTxEvent};
use super::checks::{self, Target};
use super::convert::{flow_to_proto, flow_to_transport, to_kind, to_proto};
use super::handle::{ClientEvent, ClientTransaction, Command, CoreHandle};
use super::{CoreError, RequestHandler};
use crate::options::OptionsResponder;
use crate::transport::{Inbound, Outbound, TransportError, Transports};

/// The TUs every shard dispatches to.
pub(super) struct SharedRoutes {
    pub(super) register: std::sync::Arc<dyn RequestHandler>,
    pub(super) options: OptionsResponder,
    /// One call handler for all shards: its methods only route (they return at once), so
    /// the lock is held briefly. A call's two legs have different Call-IDs, so they may
    /// live on different shards; the handler sees both.
    pub(super) calls: Mutex<Box<dyn CallHandler>>,
    /// `calls.supported()`, read once.
    pub(super) call_supported: Vec<&'static str>,
}

impl SharedRoutes {
    fn calls(&self) -> MutexGuard<'_, Box<dyn CallHandler>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Shutdown across the shards: every shard keeps serving (new requests get 503) until all
/// of them have drained their transactions, since a shard that stopped early would leave
/// the requests of its Call-IDs unanswered.
#[derive(Debug)]
pub(super) struct Drain {
    /// Shards that still have transactions open (all of them until shutdown).
    busy: AtomicUsize,
    /// Fired when `busy` reaches zero.
    done: CancellationToken,
}

impl Drain {
    pub(super) fn new(shards: usize) -> Drain {
        Drain { busy: AtomicUsize::new(shards), done: CancellationToken::new() }
    }

    /// This shard has drained (`true`) or has open transactions again (`false`).
    fn set_idle(&self, idle: bool) {
        if idle {
            if self.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
                self.done.cancel();
            }
        } else {
            self.busy.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// Messages handled per wake-up before the output is drained (fairness and batching).
const BATCH: usize = 64;

/// A shard's state.
#[derive(Debug)]
pub(super) struct Shard {
    pub(super) index: usize,
    layer: TransactionLayer,
    transports: Transports,
    commands: mpsc::UnboundedReceiver<Command>,
    handle: CoreHandle,
    server_header: Option<String>,
    grace: Duration,
    /// Owners of client transactions, until the transaction ends.
    clients: HashMap<TxId, mpsc::UnboundedSender<Box<ClientEvent>>>,
    /// Client transactions without a final response.
    clients_open: HashSet<TxId>,
    /// Server transactions without a final response.
    awaiting: HashSet<TxId>,
    /// Server transactions owned by the call handler.
    call_txs: HashSet<TxId>,
    /// Why a transaction ended with a transport error (until its event is dispatched).
    transport_failures: HashMap<TxId, String>,
    draining: bool,
}

impl Shard {
    /// Shard `index` of a core, driving `layer`.
    pub(super) fn new(
        index: usize,
        layer: TransactionLayer,
        transports: Transports,
        commands: mpsc::UnboundedReceiver<Command>,
        handle: CoreHandle,
        config: &crate::config::CoreConfig,
    ) -> Shard {
        Shard {
            index,
            layer,
            transports,
            commands,
            handle,
            server_header: config.server_header.clone(),
            grace: config.shutdown_grace,
            clients: HashMap::new(),
            clients_open: HashSet::new(),
            awaiting: HashSet::new(),
            call_txs: HashSet::new(),
            transport_failures: HashMap::new(),
            draining: false,
        }
    }

    /// Runs until `shutdown` fires and the live transactions have finished (or
    /// `shutdown_grace` has passed).
    pub(super) async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        routes: std::sync::Arc<SharedRoutes>,
        shutdown: CancellationToken,
        drain: std::sync::Arc<Drain>,
    ) {
        let mut inbound_open = true;
        let mut drain_deadline: Option<Instant> = None;
        let mut idle = false;
        loop {
            let timer = self.layer.poll_timeout();
            tokio::select! {
                biased;
                () = shutdown.cancelled(), if drain_deadline.is_none() => {
                    self.draining = true;
                    drain_deadline = Some(Instant::now() + self.grace);
                    tracing::info!(
                        shard = self.index,
                        server = self.awaiting.len(),
                        client = self.clients_open.len(),
                        "SIP core draining transactions"
                    );
                }
                () = drain.done.cancelled() => break,
                Some(cmd) = self.commands.recv() => {
                    self.on_command(cmd);
                    for _ in 1..BATCH {
                        match self.commands.try_recv() {
                            Ok(cmd) => self.on_command(cmd),
                            Err(_) => break,
                        }
                    }
                }
                msg = inbound.recv(), if inbound_open => match msg {
                    Some(m) => {
                        self.on_inbound(m);
                        for _ in 1..BATCH {
                            match inbound.try_recv() {
                                Ok(m) => self.on_inbound(m),
                                Err(_) => break,
                            }
                        }
                    }
                    None => inbound_open = false,
                },
                () = sleep_until(timer) => self.layer.handle_timeout(Instant::now()),
                () = sleep_until(drain_deadline) => {
                    tracing::warn!(
                        shard = self.index,
                        server = self.awaiting.len(),
                        client = self.clients_open.len(),
                        "shutdown grace over with transactions still open"
                    );
                    break;
                }
            }
            self.flush(&routes);
            if self.draining {
                let empty = self.awaiting.is_empty() && self.clients_open.is_empty();
                if empty != idle {
                    idle = empty;
                    drain.set_idle(idle);
                }
            }
        }
        tracing::debug!(shard = self.index, "SIP core shard stopped");
    }

    fn on_inbound(&mut self, m: Inbound) {
        let peer =
            Peer { addr: m.source, transport: to_proto(m.kind), flow: Some(flow_to_proto(m.flow)) };
        if let Err(e) = self.layer.handle_incoming(Instant::now(), m.message, peer) {
            tracing::debug!(source = %m.source, error = %e, "message dropped by the transaction layer");
        }
    }

    fn on_command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Respond { tx, response } => self.respond(tx, response),
            Command::Start { request, dest, reply } => {
                let started = self.layer.start_client_transaction(now, request, dest);
                let answer = match started {
                    Ok(id) => {
                        let (tx, rx) = mpsc::unbounded_channel();
                        self.clients.insert(id, tx);
                        self.clients_open.insert(id);
                        Ok(ClientTransaction::new(id, rx))
                    }
                    Err(e) => Err(CoreError::Transaction(e)),
                };
                // An owner that gave up waiting simply never sees its transaction.
                let _ = reply.send(answer);
            }
            Command::Cancel { tx, extra } => {
                let extra: Vec<(&str, &str)> =
                    extra.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                if let Err(e) = self.layer.cancel(now, tx, &extra) {
                    tracing::debug!(%tx, error = %e, "cancel refused");
                }
            }
            Command::Stateless { message, dest } => self.layer.send_stateless(&message, dest),
            Command::StatelessResponse { response, source } => {
                let response = self.finish(response);
                if let Err(e) = self.layer.send_response_stateless(&response, &source) {
                    tracing::debug!(error = %e, "stateless response not sent");
                }
            }
            Command::TransportFailed { tx, reason } => {
                // A transaction that has its final response (or has ended) is not affected.
                if self.clients_open.contains(&tx) || self.awaiting.contains(&tx) {
                    tracing::debug!(%tx, %reason, "transaction ends with a transport error");
                    self.transport_failures.insert(tx, reason);
                    self.layer.handle_transport_error(now, tx);
                }
            }
        }
    }

    /// Adds the configured Server header (before Content-Length).
    fn finish(&self, mut response: Response) -> Response {
        if let Some(server) = &self.server_header
            && !response.headers.contains(HeaderName::Server)
        {
            response.headers.remove(HeaderName::ContentLength);
            response.headers.push(HeaderName::Server, server);
            response.headers.set_content_length(response.body.len());
        }
        response
    }

    fn respond(&mut self, tx: TxId, response: Response) {
        let is_final = response.status.is_final();
        let response = self.finish(response);
        match self.layer.respond(Instant::now(), tx, response) {
            Ok(()) if is_final => {
                self.awaiting.remove(&tx);
            }
            Ok(()) => {}
            Err(e) => tracing::debug!(%tx, error = %e, "response not sent"),
        }
    }

    /// Sends every queued transmit and dispatches every queued event, until both are empty.
    fn flush(&mut self, routes: &SharedRoutes) {
        loop {
            let mut busy = false;
            while let Some(t) = self.layer.poll_transmit() {
                self.transmit(t);
                busy = true;
            }
            while let Some(ev) = self.layer.poll_event() {
                self.dispatch(ev, routes);
                busy = true;
            }
            if !busy {
                break;
            }
        }
    }

    fn transmit(&mut self, t: Transmit) {
        let out = Outbound {
            kind: to_kind(t.dest.transport),
            dest: t.dest.addr,
            flow: t.dest.flow.map(flow_to_transport),
            bytes: t.bytes,
        };
        let mut result = self.transports.send_tracked(out.clone());
        // RFC 3261 §18.2.2: a response whose connection has closed goes over a new one.
        if matches!(result, Err(TransportError::FlowGone(_)))
            && out.kind.is_reliable()
            && out.bytes.starts_with(b"SIP/2.0 ")
        {
            result = self.transports.send_tracked(Outbound { flow: None, ..out.clone() });
        }
        match result {
            Ok(sent) => {
                // Queued on a connection still opening: if it fails to open, the message
                // was never sent, and the transaction ends at once (RFC 3261 §8.1.3.1)
                // rather than by Timer B/F.
                if let (Some(connecting), Some(tx)) = (sent.connecting, t.tx) {
                    let handle = self.handle.clone();
                    let (kind, dest) = (out.kind, out.dest);
                    tokio::spawn(async move {
                        if let Some(why) = connecting.failure().await {
                            let reason = format!("{kind} connection to {dest} failed: {why}");
                            let _ = handle.transport_failed(tx, reason);
                        }
                    });
                }
            }
            Err(e) => {
                tracing::debug!(dest = %t.dest.addr, error = %e, "send failed");
                if let Some(tx) = t.tx {
                    let reason = format!("{} send to {} failed: {e}", out.kind, out.dest);
                    self.transport_failures.insert(tx, reason);
                    self.layer.handle_transport_error(Instant::now(), tx);
                }
            }
        }
    }

    fn dispatch(&mut self, ev: Event, routes: &SharedRoutes) {
        match ev {
            Event::Request { tx, request, source } => self.on_request(tx, request, source, routes),
            Event::Response { tx, response } => {
                if response.status.is_final() {
                    self.clients_open.remove(&tx);
                }
                if let Some(owner) = self.clients.get(&tx) {
                    let _ = owner.send(Box::new(ClientEvent::Response(response)));
                }
            }
            Event::Ack { tx, request, source } => {
                routes.calls().on_ack(&self.handle, tx, request, source)
            }
            Event::Cancel { invite_tx, request, source } => {
                if self.call_txs.contains(&invite_tx) {
                    routes.calls().on_cancel(&self.handle, invite_tx, request, source);
                }
            }
            Event::StrayResponse { response, source } => {
                routes.calls().on_stray_response(&self.handle, response, source);
            }
            Event::Timeout { tx } => {
                self.on_tx_end(tx, ClientEvent::Timeout, ServerTxEvent::Timeout, routes)
            }
            Event::TransportError { tx } => {
                let reason = self
                    .transport_failures
                    .remove(&tx)
                    .unwrap_or_else(|| "transport error".to_owned());
                self.on_tx_end(
                    tx,
                    ClientEvent::TransportError(reason),
                    ServerTxEvent::TransportError,
                    routes,
                );
            }
            Event::Terminated { tx, kind } => {
                self.transport_failures.remove(&tx);
                if kind.is_client() {
                    self.clients.remove(&tx);
                    self.clients_open.remove(&tx);
                } else {
                    self.awaiting.remove(&tx);
                    if self.call_txs.remove(&tx) {
                        routes.calls().on_server_event(&self.handle, tx, ServerTxEvent::Terminated);
                    }
                }
            }
            other => tracing::debug!(event = ?other, "unhandled transaction event"),
        }
    }

    fn on_tx_end(
        &mut self,
        tx: TxId,
        client: ClientEvent,
        server: ServerTxEvent,
        routes: &SharedRoutes,
    ) {
        if let Some(owner) = self.clients.get(&tx) {
            self.clients_open.remove(&tx);
            let _ = owner.send(Box::new(client));
        } else {
            self.awaiting.remove(&tx);
            if self.call_txs.contains(&tx) {
                routes.calls().on_server_event(&self.handle, tx, server);
            }
        }
    }

    fn on_request(&mut self, tx: TxId, request: Request, source: Peer, routes: &SharedRoutes) {
        self.awaiting.insert(tx);
        if self.draining {
            let mut r = checks::local_response(&request, 503);
            r.headers.remove(HeaderName::ContentLength);
            r.headers.push(HeaderName::RetryAfter, "5");
            r.headers.set_content_length(0);
            self.respond(tx, r);
            return;
        }
        match checks::classify(&request, &routes.call_supported) {
            Err(refusal) => self.respond(tx, refusal),
            Ok(Target::Register) => routes.register.handle(tx, request, source),
            Ok(Target::Options) => {
                let r = routes.options.respond(&request);
                self.respond(tx, r);
            }
            Ok(Target::Call) => {
                self.call_txs.insert(tx);
                routes.calls().on_request(&self.handle, tx, request, source);
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
