//! [`CoreHandle`]: how transaction users (registrar, B2BUA, ...) talk to the core task.
//!
//! Every method is non-blocking except [`CoreHandle::start_request`], which waits for the
//! core to allocate the transaction id. Commands travel over an unbounded channel: their
//! number is bounded by the transactions the layer admits (one final response per server
//! transaction), and a TU running on the core task itself can never deadlock on it.
//!
//! The core is sharded (see [`super`]): a command about a transaction goes to the shard
//! whose id space holds it ([`IdSpace::owner`]), a new request or a stateless message to
//! the shard of its Call-ID ([`shard_of`]), the one that also receives the responses and
//! in-dialog requests carrying that Call-ID. Commands for one shard keep their order.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use ringfence_sip_proto::transaction::{IdGenerator, IdSpace, Peer, Transport, TxId};
use ringfence_sip_types::{Message, Request, Response};
use tokio::sync::{mpsc, oneshot};

use super::error::CoreError;
use crate::transport::shard_of;

/// A command for the core task.
#[derive(Debug)]
pub(crate) enum Command {
    Respond {
        tx: TxId,
        response: Response,
    },
    Start {
        request: Request,
        dest: Peer,
        reply: oneshot::Sender<Result<ClientTransaction, CoreError>>,
    },
    Cancel {
        tx: TxId,
        extra: Vec<(String, String)>,
    },
    Stateless {
        message: Message,
        dest: Peer,
    },
    StatelessResponse {
        response: Response,
        source: Peer,
    },
    /// The connection a transaction's message waited on failed to open.
    TransportFailed {
        tx: TxId,
        reason: String,
    },
}

/// What a client transaction reports to its owner (see [`CoreHandle::start_request`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A response: every provisional, the final one, and for an INVITE any further 2xx
    /// (retransmissions, other forks) while the transaction lives (RFC 6026).
    Response(Response),
    /// No final response in time (Timer B or F, RFC 3261 §8.1.3.1: treat as 408), or no
    /// final response after a CANCEL (§9.1).
    Timeout,
    /// The request could not be sent (RFC 3261 §8.1.3.1: treat as 503), with why: the
    /// transport refused it, or the connection it waited on failed to open (refused,
    /// unreachable, timed out, TLS handshake failed). For a request sent over the flow of
    /// a contact registered behind NAT this means the flow has closed (RFC 5626 §5.3:
    /// answer the caller 430 Flow Failed).
    TransportError(String),
}

/// A client transaction started with [`CoreHandle::start_request`]. Its events arrive in
/// order; the channel closes when the transaction has ended.
#[derive(Debug)]
pub struct ClientTransaction {
    /// The transaction, for [`CoreHandle::cancel`].
    pub id: TxId,
    /// Boxed: a channel allocates its slots 32 at a time, each as large as the message,
    /// and an answered INVITE's channel lives 32 s (Timer M). Inline responses made that
    /// about 10 KB per call.
    events: mpsc::UnboundedReceiver<Box<ClientEvent>>,
}

impl ClientTransaction {
    pub(crate) fn new(id: TxId, events: mpsc::UnboundedReceiver<Box<ClientEvent>>) -> Self {
        ClientTransaction { id, events }
    }

    /// The next event, `None` once the transaction has ended.
    pub async fn next(&mut self) -> Option<ClientEvent> {
        self.events.recv().await.map(|e| *e)
    }
}

#[derive(Debug)]
struct Inner {
    /// One queue per shard.
    commands: Vec<mpsc::UnboundedSender<Command>>,
    ids: Mutex<IdGenerator>,
    locals: Vec<(Transport, SocketAddr)>,
    /// The transports (absent in unit tests of TUs).
    transports: Option<crate::transport::Transports>,
}

/// A cheap-to-clone handle to the core task, for transaction users.
///
/// Responses and requests built by a TU are complete messages; the core only adds the
/// configured `Server` header to responses (and a To tag to responses that need one but
/// lack it, RFC 3261 §8.2.6.2). Build Via branches, tags and Call-IDs with
/// [`CoreHandle::new_branch`], [`CoreHandle::new_tag`] and [`CoreHandle::new_call_id`].
#[derive(Debug, Clone)]
pub struct CoreHandle {
    inner: Arc<Inner>,
}

impl CoreHandle {
    /// A handle to a core of one shard.
    #[cfg(test)]
    pub(crate) fn new(
        commands: mpsc::UnboundedSender<Command>,
        ids: IdGenerator,
        locals: Vec<(Transport, SocketAddr)>,
    ) -> CoreHandle {
        CoreHandle::sharded(vec![commands], ids, locals, None)
    }

    /// A handle to the shards reading `commands` (in shard order).
    pub(crate) fn sharded(
        commands: Vec<mpsc::UnboundedSender<Command>>,
        ids: IdGenerator,
        locals: Vec<(Transport, SocketAddr)>,
        transports: Option<crate::transport::Transports>,
    ) -> CoreHandle {
        assert!(!commands.is_empty(), "a core has at least one shard");
        CoreHandle { inner: Arc::new(Inner { commands, ids: Mutex::new(ids), locals, transports }) }
    }

    /// The number of shards.
    pub fn shards(&self) -> usize {
        self.inner.commands.len()
    }

    /// The shard owning transaction `tx`.
    pub fn shard_of_tx(&self, tx: TxId) -> usize {
        IdSpace::owner(tx, self.shards())
    }

    /// The shard owning the transactions of Call-ID `call_id`.
    pub fn shard_of_call_id(&self, call_id: &str) -> usize {
        shard_of(call_id, self.shards())
    }

    fn shard_of_message(&self, headers: &ringfence_sip_types::Headers) -> usize {
        headers.call_id().map_or(0, |c| self.shard_of_call_id(c))
    }

    fn send(&self, shard: usize, command: Command) -> Result<(), CoreError> {
        self.inner.commands[shard].send(command).map_err(|_| CoreError::Stopped)
    }

    /// Answers server transaction `tx` (from [`super::Routes`] dispatch). A final
    /// response ends the TU's part; errors the layer reports (transaction gone, second
    /// final response) are logged by the core, since the caller cannot act on them.
    ///
    /// # Errors
    /// [`CoreError::Stopped`] once the core has stopped.
    pub fn respond(&self, tx: TxId, response: Response) -> Result<(), CoreError> {
        self.send(self.shard_of_tx(tx), Command::Respond { tx, response })
    }

    /// Starts a client transaction: sends `request` (complete, with a Via whose branch
    /// comes from [`CoreHandle::new_branch`]) to `dest`. For a contact registered behind
    /// NAT pass the [`Peer`] the registrar recorded (its flow), so the request goes back
    /// over the same connection (RFC 5626).
    ///
    /// # Errors
    /// The layer's refusal ([`CoreError::Transaction`]), or [`CoreError::Stopped`].
    pub async fn start_request(
        &self,
        request: Request,
        dest: Peer,
    ) -> Result<ClientTransaction, CoreError> {
        let (reply, answer) = oneshot::channel();
        let shard = self.shard_of_message(&request.headers);
        self.send(shard, Command::Start { request, dest, reply })?;
        answer.await.map_err(|_| CoreError::Stopped)?
    }

    /// Cancels client INVITE transaction `tx` (RFC 3261 §9.1), with `extra` headers on
    /// the CANCEL (for example `Reason`). Harmless when too late or repeated.
    ///
    /// # Errors
    /// [`CoreError::Stopped`] once the core has stopped.
    pub fn cancel(&self, tx: TxId, extra: &[(&str, &str)]) -> Result<(), CoreError> {
        let extra = extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        self.send(self.shard_of_tx(tx), Command::Cancel { tx, extra })
    }

    /// Sends a message outside any transaction: the ACK for a 2xx, a 2xx retransmitted by
    /// the UAS core of a dialog, ...
    ///
    /// # Errors
    /// [`CoreError::Stopped`] once the core has stopped.
    pub fn send_stateless(&self, message: Message, dest: Peer) -> Result<(), CoreError> {
        self.send(self.shard_of_message(message.headers()), Command::Stateless { message, dest })
    }

    /// Sends a response outside any transaction to where its top Via says (RFC 3261
    /// §18.2.2), for a request that came from `source`.
    ///
    /// # Errors
    /// [`CoreError::Stopped`] once the core has stopped.
    pub fn send_response_stateless(
        &self,
        response: Response,
        source: Peer,
    ) -> Result<(), CoreError> {
        self.send(
            self.shard_of_message(&response.headers),
            Command::StatelessResponse { response, source },
        )
    }

    /// Ends client or server transaction `tx` with a transport error (RFC 3261 §8.1.3.1,
    /// §17.1.4): the connection its message waited on failed to open, for `reason`.
    pub(crate) fn transport_failed(&self, tx: TxId, reason: String) -> Result<(), CoreError> {
        self.send(self.shard_of_tx(tx), Command::TransportFailed { tx, reason })
    }

    /// New TLS connections to `dest` must prove `peer`'s identity (see
    /// [`crate::transport::Transports::set_tls_peer`]). Call before sending there.
    pub fn set_tls_peer(&self, dest: SocketAddr, peer: crate::transport::tls::TlsPeer) {
        if let Some(t) = &self.inner.transports {
            t.set_tls_peer(dest, peer);
        }
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, IdGenerator> {
        self.inner.ids.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh Via branch (`z9hG4bK` + 128 unguessable bits).
    pub fn new_branch(&self) -> String {
        self.ids().branch()
    }

    /// A fresh From/To tag (64 unguessable bits).
    pub fn new_tag(&self) -> String {
        self.ids().tag()
    }

    /// A fresh Call-ID (128 unguessable bits, `@host` appended when given).
    pub fn new_call_id(&self, host: Option<&str>) -> String {
        self.ids().call_id(host)
    }

    /// Our first listening address for `transport` (for Via sent-by and Contact).
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.inner.locals.iter().find(|(t, _)| *t == transport).map(|(_, a)| *a)
    }

    /// Every listening address with its transport.
    pub fn local_addrs(&self) -> &[(Transport, SocketAddr)] {
        &self.inner.locals
    }
}
