//! Incoming messages: matching to transactions (RFC 3261 §17.1.3, §17.2.3), the
//! RFC 2543 fallback, CANCEL (§9.2), merged requests (§8.2.2.2) and the server
//! transaction cap.

use std::sync::Arc;
use std::time::Instant;

use ringfence_sip_types::{HeaderName, Message, Method, Request, Response};

use super::build::{layer_response, response_destination, stamp_received};
use super::client::CancelState;
use super::ctx::Ctx;
use super::key::{ClientKey, MergeKey, RequestInfo, ServerKey};
use super::layer::{Entry, Machine, TransactionLayer};
use super::server::{AckOutcome, ServerInvite, ServerNonInvite};
use super::types::{Event, OverloadPolicy, Peer, TxId, TxState};
use crate::error::Error;

impl TransactionLayer {
    /// Feeds one parsed message received from `source`.
    ///
    /// Requests: a retransmission is absorbed (the last response is resent); a new one
    /// creates a server transaction and yields [`Event::Request`]. An ACK goes to its
    /// INVITE transaction or, for a 2xx, to the TU as [`Event::Ack`]; a CANCEL is
    /// answered here (200, or 481 when it matches nothing) and reported as
    /// [`Event::Cancel`]. Merged requests get 482, and requests over the transaction cap
    /// meet [`super::Config::overload`].
    ///
    /// Responses go to their client transaction; a 2xx to an INVITE that matches none
    /// yields [`Event::StrayResponse`], other unmatched responses are dropped (§18.1.2).
    ///
    /// An `Err` means the message lacked a header the layer needs and was dropped (a
    /// request with a usable Via but a broken From/To/Call-ID/CSeq is answered 400
    /// first). Messages from the parser have passed these checks already.
    pub fn handle_incoming(
        &mut self,
        now: Instant,
        message: Message,
        source: Peer,
    ) -> Result<(), Error> {
        let r = match message {
            Message::Request(req) => self.handle_request(now, req, source),
            Message::Response(resp) => self.handle_response(now, resp, source),
        };
        if r.is_err() {
            self.out.stats.malformed_dropped += 1;
        }
        r
    }

    fn handle_response(&mut self, now: Instant, resp: Response, source: Peer) -> Result<(), Error> {
        let key = ClientKey::for_response(&resp)?;
        let Some(&id) = self.client_index.get(&key) else {
            self.out.stats.stray_responses += 1;
            if resp.status.is_success() && key.method == Method::Invite {
                self.out.event(Event::StrayResponse { response: resp, source });
            }
            return Ok(());
        };
        let pending = self.with_machine(now, id, |m, ctx| match m {
            Machine::Ci(ci) => {
                ci.on_response(resp, ctx);
                match (&ci.cancel, ci.state()) {
                    (CancelState::Pending(extra), TxState::Proceeding) => Some(extra.clone()),
                    (CancelState::Pending(_), _) if ci.state() != TxState::Calling => {
                        ci.cancel = CancelState::None;
                        None
                    }
                    _ => None,
                }
            }
            Machine::Cn(cn) => {
                cn.on_response(resp, ctx);
                None
            }
            _ => None,
        });
        if let Some(Some(extra)) = pending {
            self.send_cancel(now, id, &extra)?;
        }
        Ok(())
    }

    fn handle_request(
        &mut self,
        now: Instant,
        mut req: Request,
        source: Peer,
    ) -> Result<(), Error> {
        let via = stamp_received(&mut req, source.addr)?;
        let info = match RequestInfo::parse(&req, via) {
            Ok(info) => info,
            Err(e) => {
                // Parse the Via again: `RequestInfo::parse` consumed it.
                if let Ok(via) = req.via_top() {
                    let mut bad = layer_response(&req, 400, None);
                    bad.reason = format!("Bad Request ({e})");
                    let dest = response_destination(&via, &source);
                    self.out.send(None, dest, bad.to_bytes().into(), false);
                }
                return Err(e.into());
            }
        };
        let key = ServerKey::for_request(&req, &info);
        match req.method {
            Method::Ack => self.handle_ack(now, req, source, &info, &key),
            Method::Cancel => self.handle_cancel(now, req, source, &info, key),
            _ => self.handle_other(now, req, source, &info, key),
        }
    }

    /// Looks `key` up, applying the RFC 2543 To-tag rule (§17.2.3) for old-style keys.
    fn lookup(&self, key: &ServerKey, req: &Request, info: &RequestInfo) -> Option<TxId> {
        let id = *self.server_index.get(key)?;
        if !key.is_rfc2543() {
            return Some(id);
        }
        let entry = self.txs.get(&id)?;
        let to_tag = info.to_tag.clone();
        let expected = if req.method == Method::Ack {
            match &entry.machine {
                Machine::Si(s) if s.to_tag.is_some() => s.to_tag.clone(),
                _ => return Some(id),
            }
        } else {
            entry.request_to_tag.clone()
        };
        (to_tag == expected).then_some(id)
    }

    fn handle_ack(
        &mut self,
        now: Instant,
        req: Request,
        source: Peer,
        info: &RequestInfo,
        key: &ServerKey,
    ) -> Result<(), Error> {
        let invite = self
            .lookup(key, &req, info)
            .filter(|id| matches!(self.txs.get(id).map(|e| &e.machine), Some(Machine::Si(_))));
        let Some(id) = invite else {
            self.out.event(Event::Ack { tx: None, request: req, source });
            return Ok(());
        };
        let outcome = self.with_machine(now, id, |m, ctx| match m {
            Machine::Si(s) => s.on_ack(ctx),
            _ => AckOutcome::Absorbed,
        });
        if outcome == Some(AckOutcome::PassUp) {
            self.out.event(Event::Ack { tx: Some(id), request: req, source });
        }
        Ok(())
    }

    fn handle_cancel(
        &mut self,
        now: Instant,
        req: Request,
        source: Peer,
        info: &RequestInfo,
        key: ServerKey,
    ) -> Result<(), Error> {
        if let Some(id) = self.lookup(&key, &req, info) {
            self.retransmission(now, id);
            return Ok(());
        }
        let target = self.lookup(&key.with_method(Method::Invite), &req, info);
        let invite = target.and_then(|id| match self.txs.get(&id).map(|e| &e.machine) {
            Some(Machine::Si(s)) => Some((id, s.is_final(), s.to_tag.clone())),
            _ => None,
        });
        let Some((invite_tx, answered, to_tag)) = invite else {
            // §9.2: a CANCEL that matches no transaction gets 481, statelessly.
            self.out.stats.cancel_unmatched += 1;
            let resp = layer_response(&req, 481, None);
            self.out.send(
                None,
                response_destination(&info.via, &source),
                resp.to_bytes().into(),
                false,
            );
            return Ok(());
        };
        // §9.2: the CANCEL is answered 200 whatever the state of the INVITE; its To tag
        // should equal the one of the INVITE's responses.
        let ok = layer_response(&req, 200, to_tag.as_deref());
        let id = self.create_server(now, &req, info, source, key, None, true);
        self.with_machine(now, id, |m, ctx| {
            if let Machine::Sn(s) = m {
                // A fresh transaction in Trying accepts any response.
                let _ = s.respond(&ok, ctx);
            }
        });
        if !answered {
            self.out.event(Event::Cancel { invite_tx, request: req, source });
        }
        Ok(())
    }

    fn handle_other(
        &mut self,
        now: Instant,
        req: Request,
        source: Peer,
        info: &RequestInfo,
        key: ServerKey,
    ) -> Result<(), Error> {
        if let Some(id) = self.lookup(&key, &req, info) {
            self.retransmission(now, id);
            return Ok(());
        }
        if self.server_count >= self.config.max_server_transactions {
            self.out.stats.overload_rejected += 1;
            if let OverloadPolicy::Reject { retry_after } = self.config.overload {
                let mut resp = layer_response(&req, 503, None);
                resp.headers.push(HeaderName::RetryAfter, &retry_after.to_string());
                self.out.send(
                    None,
                    response_destination(&info.via, &source),
                    resp.to_bytes().into(),
                    false,
                );
            }
            return Ok(());
        }
        let merge_key = MergeKey::for_request(info);
        if self.config.reject_merged_requests
            && let Some(mk) = &merge_key
            && self.merge_index.contains_key(mk)
        {
            // §8.2.2.2: same From tag, Call-ID and CSeq, another transaction.
            self.out.stats.merged_rejected += 1;
            let resp = layer_response(&req, 482, None);
            let id = self.create_server(now, &req, info, source, key, None, true);
            self.with_machine(now, id, |m, ctx| {
                // A fresh transaction accepts any response.
                let _ = match m {
                    Machine::Si(s) => s.respond(&resp, ctx),
                    Machine::Sn(s) => s.respond(&resp, ctx),
                    _ => Ok(()),
                };
            });
            return Ok(());
        }
        let id = self.create_server(now, &req, info, source, key, merge_key, false);
        self.out.event(Event::Request { tx: id, request: req, source });
        Ok(())
    }

    fn retransmission(&mut self, now: Instant, id: TxId) {
        self.with_machine(now, id, |m, ctx| match m {
            Machine::Si(s) => s.on_request_retransmission(ctx),
            Machine::Sn(s) => s.on_request_retransmission(ctx),
            _ => {}
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn create_server(
        &mut self,
        now: Instant,
        req: &Request,
        info: &RequestInfo,
        source: Peer,
        key: ServerKey,
        merge_key: Option<MergeKey>,
        quiet: bool,
    ) -> TxId {
        let id = self.alloc_id();
        let dest = response_destination(&info.via, &source);
        let ctx = Ctx { now, timers: &self.config.timers, out: &mut self.out, quiet };
        let machine = if req.method == Method::Invite {
            Machine::Si(Box::new(ServerInvite::new(id, dest, layer_response(req, 100, None), &ctx)))
        } else {
            Machine::Sn(ServerNonInvite::new(id, dest, &ctx))
        };
        let mut entry = Entry::new(machine, quiet);
        if key.is_rfc2543() {
            entry.request_to_tag = info.to_tag.clone();
        }
        entry.server_key = Some(Arc::new(key));
        entry.merge_key = merge_key.map(Arc::new);
        self.out.stats.server_created += 1;
        self.insert(id, entry);
        id
    }
}
