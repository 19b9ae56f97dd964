//! The seam between the core and the call logic (the B2BUA).
//!
//! The core hands INVITE, ACK, BYE, CANCEL, UPDATE, INFO, PRACK, REFER, MESSAGE and NOTIFY
//! to one [`CallHandler`]. Its methods run **on the core task**: they must return at once
//! and spawn anything that waits (store, authentication, other legs), answering later
//! through the [`CoreHandle`].
//!
//! Until the B2BUA exists, [`AuthOnlyCallHandler`] stands in: out-of-dialog requests go
//! through the same authentication as REGISTER (407 challenge, identical for every kind of
//! failure), and once authenticated are answered `480 Temporarily Unavailable`, so an
//! INVITE scan (svwar `-m INVITE`) learns nothing either; in-dialog requests get `481`.

use std::sync::Arc;

use ringfence_sip_proto::transaction::{Peer, TxId};
use ringfence_sip_types::{HeaderName, Request, Response};

use super::handle::CoreHandle;
use crate::auth::{AuthOutcome, Authenticator, ChallengeKind, realm_of};

/// What happened to a server transaction the call handler owns, besides its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerTxEvent {
    /// Timer H fired (the ACK for a non-2xx final response never came), or the handler
    /// never answered before the transaction's deadline.
    Timeout,
    /// A response could not be sent.
    TransportError,
    /// The transaction ended; its id will not be seen again.
    Terminated,
}

/// The call logic, as seen by the core. All methods run on the core task: return quickly.
pub trait CallHandler: Send + 'static {
    /// Option tags this handler supports in `Require` (RFC 3261 §8.2.2.3); requests
    /// requiring others get `420 Bad Extension` before they reach the handler.
    fn supported(&self) -> &[&'static str] {
        &[]
    }

    /// A new request (INVITE, BYE, UPDATE, INFO, PRACK, REFER, MESSAGE, NOTIFY) created
    /// server transaction `tx`; answer it with [`CoreHandle::respond`]. The core has
    /// already checked the method, the URI scheme, `Require` and `Max-Forwards` (483).
    fn on_request(&mut self, core: &CoreHandle, tx: TxId, request: Request, source: Peer);

    /// An ACK for a 2xx (RFC 3261 §17.2.3: outside the INVITE transaction). `tx` is the
    /// INVITE server transaction in Accepted it matched, if any (RFC 6026 §7.1).
    fn on_ack(&mut self, core: &CoreHandle, tx: Option<TxId>, request: Request, source: Peer) {
        let _ = (core, tx, request, source);
    }

    /// A CANCEL matched INVITE server transaction `invite_tx` before its final response.
    /// The core has answered the CANCEL with 200; answer the INVITE `487 Request
    /// Terminated` (and cancel the other legs).
    fn on_cancel(&mut self, core: &CoreHandle, invite_tx: TxId, request: Request, source: Peer);

    /// A 2xx to an INVITE that matched no client transaction (a retransmission after the
    /// transaction ended, or another fork): ACK it, and BYE it if unwanted.
    fn on_stray_response(&mut self, core: &CoreHandle, response: Response, source: Peer) {
        let _ = (core, response, source);
    }

    /// Something happened to server transaction `tx` (one given to
    /// [`CallHandler::on_request`]).
    fn on_server_event(&mut self, core: &CoreHandle, tx: TxId, event: ServerTxEvent) {
        let _ = (core, tx, event);
    }
}

/// The realm for authenticating the caller of an out-of-dialog request: the domain of its
/// `From` address (the caller's tenant), falling back to the Request-URI's.
pub fn caller_realm(request: &Request) -> String {
    request
        .from()
        .ok()
        .and_then(|f| realm_of(&f.uri))
        .or_else(|| realm_of(&request.uri))
        .unwrap_or_else(|| "invalid".to_owned())
}

/// The stand-in call handler: authenticates, then refuses (see the module docs).
#[derive(Debug)]
pub struct AuthOnlyCallHandler {
    auth: Arc<Authenticator>,
}

impl AuthOnlyCallHandler {
    /// A handler authenticating with `auth`.
    pub fn new(auth: Arc<Authenticator>) -> Self {
        AuthOnlyCallHandler { auth }
    }
}

impl CallHandler for AuthOnlyCallHandler {
    fn on_request(&mut self, core: &CoreHandle, tx: TxId, request: Request, source: Peer) {
        let in_dialog = request.to().ok().is_some_and(|t| t.tag().is_some());
        if in_dialog {
            let _ = core.respond(tx, Response::from_request(&request, 481));
            return;
        }
        let auth = self.auth.clone();
        let core = core.clone();
        tokio::spawn(async move {
            let realm = caller_realm(&request);
            let response =
                match auth.authenticate(&request, &source, &realm, ChallengeKind::Proxy).await {
                    AuthOutcome::Authenticated(_) => Response::from_request(&request, 480),
                    AuthOutcome::Challenge(r) | AuthOutcome::Unavailable(r) => r,
                };
            let _ = core.respond(tx, response);
        });
    }

    fn on_cancel(&mut self, core: &CoreHandle, invite_tx: TxId, request: Request, _source: Peer) {
        // The CANCEL carries the INVITE's Via, From, To, Call-ID and CSeq number
        // (RFC 3261 §9.1); only the CSeq method differs.
        let mut r = Response::from_request(&request, 487);
        if let Ok(cseq) = request.cseq() {
            r.headers.set(HeaderName::CSeq, &format!("{} INVITE", cseq.seq));
        }
        let _ = core.respond(invite_tx, r);
    }
}
