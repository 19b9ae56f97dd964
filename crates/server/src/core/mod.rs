//! The SIP core: the tasks that own the transaction layer and drive it.
//!
//! ```text
//! transports --Inbound--> shard task i --Event--> registrar (REGISTER, on a task per request)
//!   (queue i =  |   ^                             OPTIONS responder (inline)
//!   hash(Call-ID))  |                             call handler (INVITE, BYE, ...; B2BUA)
//!      ^        |   +--Command------------------ CoreHandle (respond, start_request, ...)
//!      +--Outbound
//! ```
//!
//! The core is split into shards (`core.shards`, default one per CPU), each a task with
//! its own [`TransactionLayer`], so matching, timers, response building and sending run
//! in parallel. A shard owns the transactions of the Call-IDs that hash to it
//! ([`crate::transport::shard_of`]): every message of a call (INVITE, its
//! retransmissions, CANCEL, ACK, BYE, the responses to requests we send with that
//! Call-ID) carries the same Call-ID (RFC 3261 §8.1.1.4, §9.1), so the transports queue
//! it to that shard and matching never crosses shards. Each shard hands out transaction
//! ids from its own residue class ([`IdSpace`]), so the [`CoreHandle`] sends a command
//! about a transaction to its shard, and a new request to the shard of its Call-ID.
//! Transaction caps are split evenly among the shards.
//!
//! Challenges (401/407) to non-INVITE requests end their transaction once sent (RFC 3261
//! §8.2.7, §26.1.5): an unauthenticated request leaves no state behind, and a challenged
//! REGISTER costs one transaction kept for Timer J (its 200), not two.
//!
//! A shard waits for whichever comes first: a message from its transport queue, a
//! command from a TU, the layer's next timer, or shutdown. After each it drains the
//! layer's output: every [`Transmit`](ringfence_sip_proto::transaction::Transmit) goes to
//! [`Transports::send`] (a failure is fed back
//! with `handle_transport_error`; a response whose connection has closed is retried on a
//! new one, RFC 3261 §18.2.2), and every event is dispatched. A message queued on a
//! connection still opening is watched: when the connection fails to open, its
//! transaction ends at once with a transport error naming why (RFC 3261 §8.1.3.1: the
//! owner treats it as 503 and, for a trunk, moves to the next server, RFC 3263 §4.3).
//!
//! Nothing on a shard task waits for I/O or the store: the registrar and the call handler
//! spawn tasks that answer through the [`CoreHandle`]. The call handler is shared by the
//! shards (behind a lock held only while it routes; a B2BUA's two legs have different
//! Call-IDs, so they may live on different shards).
//!
//! Dispatch of new requests, after the checks of [`checks`] (405/501, 416, 420, 483):
//! REGISTER to the registrar, OPTIONS to [`OptionsResponder`], INVITE, BYE, UPDATE, INFO,
//! PRACK, REFER, MESSAGE and NOTIFY to the [`CallHandler`].
//!
//! Shutdown: when the token fires, new requests get `503` with `Retry-After`; live server
//! transactions are given `shutdown_grace` to get their final responses and client
//! transactions theirs; then [`Core::run`] returns. Every shard keeps answering (503) until
//! all of them have drained, so no Call-ID goes unanswered meanwhile.

mod call;
mod checks;
pub mod convert;
mod error;
pub(crate) mod handle;
mod service;
mod shard;

use std::sync::{Arc, Mutex};

use rand::RngCore as _;
use ringfence_sip_proto::transaction::{
    Config as LayerConfig, IdGenerator, IdSpace, Peer, TransactionLayer, TxId,
};
use ringfence_sip_types::Request;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use call::{AuthOnlyCallHandler, CallHandler, ServerTxEvent, caller_realm};
pub use checks::REGISTRAR_SUPPORTED;
pub use error::CoreError;
pub use handle::{ClientEvent, ClientTransaction, CoreHandle};
pub use service::{CallContext, CallFactory, SipService, SipServiceBuilder};

use crate::config::CoreConfig;
use crate::options::OptionsResponder;
use crate::transport::{Inbound, Transports};
use convert::to_proto;
use shard::{Drain, Shard, SharedRoutes};

/// A TU that takes requests of one method and answers through the [`CoreHandle`]; runs on
/// a core shard's task (any of them, concurrently), so it must return at once (spawn the
/// work).
pub trait RequestHandler: Send + Sync + 'static {
    /// A new request created server transaction `tx`.
    fn handle(&self, tx: TxId, request: Request, source: Peer);
}

/// Where the core sends requests.
pub struct Routes {
    /// REGISTER.
    pub register: Arc<dyn RequestHandler>,
    /// OPTIONS.
    pub options: OptionsResponder,
    /// INVITE, ACK, BYE, CANCEL, UPDATE, INFO, PRACK, REFER, MESSAGE, NOTIFY.
    pub calls: Box<dyn CallHandler>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes").field("options", &self.options).finish_non_exhaustive()
    }
}

/// The core's shards, built and not yet running. Build with [`Core::new`], run with
/// [`Core::run`].
#[derive(Debug)]
pub struct Core {
    shards: Vec<Shard>,
}

impl Core {
    /// A core of `config.shard_count()` shards sending through `transports`, and the
    /// handle TUs use to reach it. Bind the transports with as many inbound queues
    /// ([`crate::transport::TransportsBuilder::bind_sharded`]).
    pub fn new(config: &CoreConfig, transports: Transports) -> (Core, CoreHandle) {
        let n = config.shard_count();
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let locals = transports.local_addrs().into_iter().map(|(k, a)| (to_proto(k), a)).collect();
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..n).map(|_| mpsc::unbounded_channel()).unzip();
        let handle =
            CoreHandle::sharded(senders, IdGenerator::new(key), locals, Some(transports.clone()));
        let shards = receivers
            .into_iter()
            .enumerate()
            .map(|(i, commands)| {
                let layer = TransactionLayer::new(LayerConfig {
                    max_server_transactions: config.max_server_transactions.div_ceil(n),
                    max_client_transactions: config.max_client_transactions.div_ceil(n),
                    ids: IdSpace::new(i, n),
                    // RFC 3261 §8.2.7, §26.1.5: no state kept per challenge.
                    stateless_challenges: true,
                    ..LayerConfig::default()
                });
                Shard::new(i, layer, transports.clone(), commands, handle.clone(), config)
            })
            .collect();
        (Core { shards }, handle)
    }

    /// The number of shards (inbound queues [`Core::run`] expects).
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Runs every shard until `shutdown` fires and the live transactions have finished
    /// (or `shutdown_grace` has passed). `inbound` holds one queue per shard, in shard
    /// order.
    ///
    /// # Panics
    /// When `inbound` does not hold [`Core::shards`] queues.
    pub async fn run(
        self,
        inbound: Vec<mpsc::Receiver<Inbound>>,
        routes: Routes,
        shutdown: CancellationToken,
    ) {
        assert_eq!(inbound.len(), self.shards.len(), "one inbound queue per core shard");
        let call_supported = routes.calls.supported().to_vec();
        let routes = Arc::new(SharedRoutes {
            register: routes.register,
            options: routes.options,
            calls: Mutex::new(routes.calls),
            call_supported,
        });
        tracing::info!(shards = self.shards.len(), "SIP core running");
        let drain = Arc::new(Drain::new(self.shards.len()));
        let mut tasks = Vec::new();
        let mut first = None;
        for (shard, queue) in self.shards.into_iter().zip(inbound) {
            if first.is_none() {
                first = Some((shard, queue));
                continue;
            }
            let run = shard.run(queue, routes.clone(), shutdown.clone(), drain.clone());
            tasks.push(tokio::spawn(run));
        }
        if let Some((shard, queue)) = first {
            shard.run(queue, routes, shutdown, drain).await;
        }
        for t in tasks {
            if let Err(e) = t.await {
                tracing::error!(error = %e, "a SIP core shard failed");
            }
        }
        tracing::info!("SIP core stopped");
    }
}
