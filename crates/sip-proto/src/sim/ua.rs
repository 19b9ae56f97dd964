//! Scripted user agents for the simulation: a UAC that sends one request or INVITE
//! (optionally CANCELs it, ACKs a 2xx and hangs up with BYE) and a UAS that rings,
//! answers, honours CANCEL and retransmits its 2xx until the ACK (RFC 3261 §13.3.1.4).
//! They record what they saw so tests can assert on it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ringfence_sip_types::header::{NameAddr, Via};
use ringfence_sip_types::{Host, Method, Request, Response, Uri};

use super::Tu;
use crate::dialog::{AnswerRetransmit, Dialog, DialogId, RetransmitAction};
use crate::transaction::{Event, IdGenerator, Peer, TransactionLayer, Transport, TxId, TxState};

fn uri(user: &str, addr: SocketAddr) -> Uri {
    // An IP address and port always form a valid SIP URI.
    Uri::parse(&format!("sip:{user}@{addr}"))
        .unwrap_or_else(|_| unreachable!("sip URI from a socket address"))
}

fn via(transport: Transport, addr: SocketAddr, branch: &str) -> Via {
    Via::new(transport.as_via_str(), Host::from(addr.ip()), Some(addr.port()), branch)
}

fn earliest(ts: &[Option<Instant>]) -> Option<Instant> {
    ts.iter().flatten().min().copied()
}

/// What the UAC does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UacPlan {
    /// Send one non-INVITE request (`OPTIONS`, `REGISTER`, ...) and wait for its answer.
    Request(&'static str),
    /// Send an INVITE; CANCEL it after `cancel_after` if set; after a 2xx send the ACK and,
    /// if `bye_after` is set, a BYE that long after the answer.
    Invite {
        /// When to CANCEL, from the start.
        cancel_after: Option<Duration>,
        /// When to hang up, from the 2xx.
        bye_after: Option<Duration>,
    },
}

/// A scripted UAC.
#[derive(Debug)]
pub struct Uac {
    addr: SocketAddr,
    target: SocketAddr,
    transport: Transport,
    plan: UacPlan,
    ids: IdGenerator,
    /// The main client transaction.
    pub tx: Option<TxId>,
    request: Option<Request>,
    /// Provisional status codes received, in order.
    pub provisional: Vec<u16>,
    /// Final status codes passed up for the main transaction (2xx retransmissions
    /// included).
    pub finals: Vec<u16>,
    /// When the first final response arrived.
    pub final_at: Option<Instant>,
    /// Timeouts of the main transaction.
    pub timeouts: u32,
    /// Transport errors of the main transaction.
    pub transport_errors: u32,
    /// The dialog, after a 2xx.
    pub dialog: Option<Dialog>,
    ack: Option<Request>,
    /// ACKs for 2xx sent (the first and one per 2xx retransmission).
    pub acks_sent: u32,
    /// 2xx responses that matched no transaction.
    pub stray_2xx: u32,
    cancel_at: Option<Instant>,
    /// Whether the CANCEL was requested (and `cancel` said it was not too late).
    pub cancel_requested: Option<bool>,
    bye_at: Option<Instant>,
    /// The BYE's client transaction.
    pub bye_tx: Option<TxId>,
    /// The BYE's final status, or 408 on timeout.
    pub bye_final: Option<u16>,
    /// A BYE from the UAS arrived (it gave up waiting for the ACK).
    pub bye_received: bool,
    /// API errors (a correct run has none).
    pub errors: Vec<String>,
}

impl Uac {
    /// A UAC at `addr` that sends to `target` over `transport`; `key` seeds its ids.
    pub fn new(
        addr: SocketAddr,
        target: SocketAddr,
        transport: Transport,
        plan: UacPlan,
        key: [u8; 32],
    ) -> Uac {
        Uac {
            addr,
            target,
            transport,
            plan,
            ids: IdGenerator::new(key),
            tx: None,
            request: None,
            provisional: Vec::new(),
            finals: Vec::new(),
            final_at: None,
            timeouts: 0,
            transport_errors: 0,
            dialog: None,
            ack: None,
            acks_sent: 0,
            stray_2xx: 0,
            cancel_at: None,
            cancel_requested: None,
            bye_at: None,
            bye_tx: None,
            bye_final: None,
            bye_received: false,
            errors: Vec::new(),
        }
    }

    fn dest(&self) -> Peer {
        Peer::new(self.target, self.transport)
    }

    fn on_2xx(&mut self, now: Instant, layer: &mut TransactionLayer, resp: &Response) {
        if let Some(ack) = &self.ack {
            // A 2xx retransmission: the ACK goes again (§13.2.2.4).
            layer.send_stateless(&ack.clone().into(), self.dest());
            self.acks_sent += 1;
            return;
        }
        let Some(req) = &self.request else { return };
        match Dialog::new_uac(req, resp, self.transport) {
            Ok(d) => {
                let ack = d.create_ack(
                    d.invite_seq(),
                    &via(self.transport, self.addr, &self.ids.branch()),
                );
                layer.send_stateless(&ack.clone().into(), self.dest());
                self.acks_sent += 1;
                self.ack = Some(ack);
                if let UacPlan::Invite { bye_after: Some(b), .. } = self.plan {
                    self.bye_at = Some(now + b);
                }
                self.dialog = Some(d);
            }
            Err(e) => self.errors.push(format!("dialog from 2xx: {e}")),
        }
    }

    fn send_bye(&mut self, now: Instant, layer: &mut TransactionLayer) {
        let v = via(self.transport, self.addr, &self.ids.branch());
        let Some(d) = &mut self.dialog else { return };
        match d.create_request(Method::Bye, &v) {
            Ok(bye) => match layer.start_client_transaction(
                now,
                bye,
                Peer::new(self.target, self.transport),
            ) {
                Ok(tx) => self.bye_tx = Some(tx),
                Err(e) => self.errors.push(format!("BYE: {e}")),
            },
            Err(e) => self.errors.push(format!("BYE: {e}")),
        }
    }
}

impl Tu for Uac {
    fn start(&mut self, now: Instant, layer: &mut TransactionLayer) {
        let method = match self.plan {
            UacPlan::Request(m) => Method::parse(m).unwrap_or(Method::Options),
            UacPlan::Invite { cancel_after, .. } => {
                self.cancel_at = cancel_after.map(|c| now + c);
                Method::Invite
            }
        };
        let me = NameAddr::new(uri("uac", self.addr));
        let req = Request::builder(method, uri("uas", self.target))
            .via(&via(self.transport, self.addr, &self.ids.branch()))
            .max_forwards(70)
            .from(&me.clone().with_tag(&self.ids.tag()))
            .to(&NameAddr::new(uri("uas", self.target)))
            .call_id(&self.ids.call_id(None))
            .cseq(1)
            .contact(&me)
            .build();
        match layer.start_client_transaction(now, req.clone(), self.dest()) {
            Ok(tx) => self.tx = Some(tx),
            Err(e) => self.errors.push(format!("start: {e}")),
        }
        self.request = Some(req);
    }

    fn on_event(&mut self, now: Instant, layer: &mut TransactionLayer, event: Event) {
        match event {
            Event::Response { tx, response } if Some(tx) == self.tx => {
                let code = response.status.code();
                if code < 200 {
                    self.provisional.push(code);
                    return;
                }
                self.final_at.get_or_insert(now);
                self.finals.push(code);
                self.cancel_at = None;
                if code < 300 && self.request.as_ref().is_some_and(|r| r.method == Method::Invite) {
                    self.on_2xx(now, layer, &response);
                }
            }
            Event::Response { tx, response }
                if Some(tx) == self.bye_tx && response.status.is_final() =>
            {
                self.bye_final = Some(response.status.code());
            }
            Event::StrayResponse { response, .. } => {
                self.stray_2xx += 1;
                self.on_2xx(now, layer, &response);
            }
            Event::Timeout { tx } if Some(tx) == self.tx => {
                self.timeouts += 1;
                self.cancel_at = None;
            }
            Event::Timeout { tx } if Some(tx) == self.bye_tx => self.bye_final = Some(408),
            Event::TransportError { tx } if Some(tx) == self.tx => self.transport_errors += 1,
            Event::Request { tx, request, .. } => {
                if request.method == Method::Bye {
                    self.bye_received = true;
                    if let Some(d) = &mut self.dialog {
                        let _ = d.handle_request(&request);
                    }
                }
                if let Err(e) = layer.respond(now, tx, Response::from_request(&request, 200)) {
                    self.errors.push(format!("respond: {e}"));
                }
            }
            _ => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[self.cancel_at, self.bye_at])
    }

    fn on_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        if self.cancel_at.is_some_and(|t| t <= now) {
            self.cancel_at = None;
            if let Some(tx) = self.tx {
                match layer.cancel(now, tx, &[]) {
                    Ok(sent) => self.cancel_requested = Some(sent),
                    Err(e) => self.errors.push(format!("cancel: {e}")),
                }
            }
        }
        if self.bye_at.is_some_and(|t| t <= now) {
            self.bye_at = None;
            self.send_bye(now, layer);
        }
    }
}

/// What the UAS does with an INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UasPlan {
    /// Send 180 Ringing this long after the INVITE.
    pub ring_after: Option<Duration>,
    /// Send the final response this long after the INVITE.
    pub answer_after: Duration,
    /// The final status for the INVITE (200 answers the call).
    pub code: u16,
    /// The final status for any non-INVITE request (BYE always gets 200).
    pub non_invite_code: u16,
}

/// A scripted UAS.
#[derive(Debug)]
pub struct Uas {
    addr: SocketAddr,
    transport: Transport,
    plan: UasPlan,
    ids: IdGenerator,
    timers: crate::transaction::Timers,
    /// The INVITE server transaction.
    pub invite_tx: Option<TxId>,
    invite: Option<Request>,
    source: Option<Peer>,
    tag: String,
    ring_at: Option<Instant>,
    answer_at: Option<Instant>,
    /// The final status sent for the INVITE.
    pub final_sent: Option<u16>,
    /// CANCELs reported by the layer.
    pub cancels: u32,
    /// The dialog, after answering 2xx.
    pub dialog: Option<Dialog>,
    ok: Option<Response>,
    retransmit: Option<AnswerRetransmit>,
    /// 2xx retransmissions sent by this TU.
    pub ok_retransmissions: u32,
    /// The ACK for the 2xx arrived.
    pub acked: bool,
    /// 64*T1 passed without ACK; a BYE was sent.
    pub gave_up: bool,
    /// Methods of new requests received, in order.
    pub requests: Vec<Method>,
    /// Timeouts reported for server transactions.
    pub timeouts: u32,
    /// API errors (a correct run has none).
    pub errors: Vec<String>,
}

impl Uas {
    /// A UAS at `addr`; `key` seeds its tags and branches; `timers` must equal the
    /// layer's so the 2xx retransmission follows them.
    pub fn new(
        addr: SocketAddr,
        transport: Transport,
        plan: UasPlan,
        timers: crate::transaction::Timers,
        key: [u8; 32],
    ) -> Uas {
        let mut ids = IdGenerator::new(key);
        let tag = ids.tag();
        Uas {
            addr,
            transport,
            plan,
            ids,
            timers,
            invite_tx: None,
            invite: None,
            source: None,
            tag,
            ring_at: None,
            answer_at: None,
            final_sent: None,
            cancels: 0,
            dialog: None,
            ok: None,
            retransmit: None,
            ok_retransmissions: 0,
            acked: false,
            gave_up: false,
            requests: Vec::new(),
            timeouts: 0,
            errors: Vec::new(),
        }
    }

    fn respond_invite(&mut self, now: Instant, layer: &mut TransactionLayer, code: u16) {
        let (Some(tx), Some(req)) = (self.invite_tx, &self.invite) else { return };
        let mut resp = Response::from_request(req, code);
        let _ = resp.set_to_tag(&self.tag);
        if (101..300).contains(&code) {
            resp.headers.push("Contact", &NameAddr::new(uri("uas", self.addr)).to_string());
        }
        if let Err(e) = layer.respond(now, tx, resp.clone()) {
            self.errors.push(format!("respond {code}: {e}"));
            return;
        }
        if code >= 200 {
            self.final_sent = Some(code);
            self.ring_at = None;
            self.answer_at = None;
        }
        if (200..300).contains(&code) {
            match Dialog::new_uas(req, &resp, self.transport) {
                Ok(d) => self.dialog = Some(d),
                Err(e) => self.errors.push(format!("dialog: {e}")),
            }
            self.retransmit = Some(AnswerRetransmit::new(now, &self.timers));
            self.ok = Some(resp);
        }
    }
}

impl Tu for Uas {
    fn start(&mut self, _now: Instant, _layer: &mut TransactionLayer) {}

    fn on_event(&mut self, now: Instant, layer: &mut TransactionLayer, event: Event) {
        match event {
            Event::Request { tx, request, source } => {
                self.requests.push(request.method.clone());
                if request.method == Method::Invite && self.invite_tx.is_none() {
                    self.invite_tx = Some(tx);
                    self.source = Some(source);
                    self.ring_at = self.plan.ring_after.map(|d| now + d);
                    self.answer_at = Some(now + self.plan.answer_after);
                    self.invite = Some(request);
                    return;
                }
                let code = if request.method == Method::Bye {
                    if let Some(d) = &mut self.dialog
                        && let Err(e) = d.handle_request(&request)
                    {
                        self.errors.push(format!("BYE: {e}"));
                    }
                    200
                } else {
                    self.plan.non_invite_code
                };
                if let Err(e) = layer.respond(now, tx, Response::from_request(&request, code)) {
                    self.errors.push(format!("respond: {e}"));
                }
            }
            Event::Cancel { invite_tx, .. } => {
                self.cancels += 1;
                if Some(invite_tx) == self.invite_tx && self.final_sent.is_none() {
                    self.respond_invite(now, layer, 487);
                }
            }
            Event::Ack { request, .. } => {
                let id = DialogId::for_incoming_request(&request).ok().flatten();
                if let Some(d) = &self.dialog
                    && id.as_ref() == Some(d.id())
                {
                    self.acked = true;
                    if let Some(r) = &mut self.retransmit {
                        r.ack_received();
                    }
                }
            }
            Event::Timeout { .. } => self.timeouts += 1,
            _ => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[self.ring_at, self.answer_at, self.retransmit.and_then(|r| r.poll_timeout())])
    }

    fn on_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        if self.ring_at.is_some_and(|t| t <= now) {
            self.ring_at = None;
            self.respond_invite(now, layer, 180);
        }
        if self.answer_at.is_some_and(|t| t <= now) {
            self.answer_at = None;
            self.respond_invite(now, layer, self.plan.code);
        }
        let action = match &mut self.retransmit {
            Some(r) if r.poll_timeout().is_some_and(|t| t <= now) => r.handle_timeout(now),
            _ => None,
        };
        match action {
            Some(RetransmitAction::Retransmit) => {
                let (Some(ok), Some(tx), Some(src)) = (&self.ok, self.invite_tx, self.source)
                else {
                    return;
                };
                self.ok_retransmissions += 1;
                let r = if layer.state(tx) == Some(TxState::Accepted) {
                    layer.respond(now, tx, ok.clone())
                } else {
                    layer.send_response_stateless(ok, &src)
                };
                if let Err(e) = r {
                    self.errors.push(format!("2xx retransmission: {e}"));
                }
            }
            Some(RetransmitAction::GiveUp) => {
                self.gave_up = true;
                let v = via(self.transport, self.addr, &self.ids.branch());
                let (Some(d), Some(src)) = (&mut self.dialog, self.source) else { return };
                match d.create_request(Method::Bye, &v) {
                    Ok(bye) => {
                        if let Err(e) = layer.start_client_transaction(
                            now,
                            bye,
                            Peer::new(src.addr, self.transport),
                        ) {
                            self.errors.push(format!("BYE: {e}"));
                        }
                    }
                    Err(e) => self.errors.push(format!("BYE: {e}")),
                }
            }
            None => {}
        }
    }
}

/// Either scripted agent, so one simulation can hold both.
#[derive(Debug)]
pub enum ScriptedUa {
    /// A UAC.
    Uac(Uac),
    /// A UAS.
    Uas(Uas),
}

impl ScriptedUa {
    /// The UAC, if this is one.
    pub fn uac(&self) -> Option<&Uac> {
        match self {
            ScriptedUa::Uac(u) => Some(u),
            ScriptedUa::Uas(_) => None,
        }
    }

    /// The UAS, if this is one.
    pub fn uas(&self) -> Option<&Uas> {
        match self {
            ScriptedUa::Uas(u) => Some(u),
            ScriptedUa::Uac(_) => None,
        }
    }
}

impl Tu for ScriptedUa {
    fn start(&mut self, now: Instant, layer: &mut TransactionLayer) {
        match self {
            ScriptedUa::Uac(u) => u.start(now, layer),
            ScriptedUa::Uas(u) => u.start(now, layer),
        }
    }

    fn on_event(&mut self, now: Instant, layer: &mut TransactionLayer, event: Event) {
        match self {
            ScriptedUa::Uac(u) => u.on_event(now, layer, event),
            ScriptedUa::Uas(u) => u.on_event(now, layer, event),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ScriptedUa::Uac(u) => u.poll_timeout(),
            ScriptedUa::Uas(u) => u.poll_timeout(),
        }
    }

    fn on_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        match self {
            ScriptedUa::Uac(u) => u.on_timeout(now, layer),
            ScriptedUa::Uas(u) => u.on_timeout(now, layer),
        }
    }
}

/// The UAC's address in [`pair`].
pub const UAC_ADDR: &str = "10.0.0.1:5060";
/// The UAS's address in [`pair`].
pub const UAS_ADDR: &str = "10.0.0.2:5060";

/// A two-node simulation: node 0 is a [`Uac`] following `uac`, node 1 a [`Uas`]
/// following `uas`, both with `config`, over `transport` on a network `net`; `seed`
/// drives the network and both agents' ids.
pub fn pair(
    seed: u64,
    net: super::NetConfig,
    transport: Transport,
    config: crate::transaction::Config,
    uac: UacPlan,
    uas: UasPlan,
) -> super::Sim<ScriptedUa> {
    let mut rng = super::SimRng::new(seed);
    let a: SocketAddr = UAC_ADDR.parse().unwrap_or_else(|_| unreachable!("constant address"));
    let b: SocketAddr = UAS_ADDR.parse().unwrap_or_else(|_| unreachable!("constant address"));
    let mut sim = super::Sim::new(seed, net);
    sim.add_node(a, config, ScriptedUa::Uac(Uac::new(a, b, transport, uac, rng.key())));
    sim.add_node(b, config, ScriptedUa::Uas(Uas::new(b, transport, uas, config.timers, rng.key())));
    sim
}
