//! Helpers shared by the transaction tests: message builders and a clock-stepping driver.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ringfence_sip_proto::transaction::{
    Config, Event, Peer, TransactionLayer, Transmit, Transport,
};
use ringfence_sip_types::{Message, Request, Response};

/// A fixed origin for virtual time.
pub fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

pub fn at_ms(ms: u64) -> Instant {
    t0() + Duration::from_millis(ms)
}

pub fn ms_since_t0(t: Instant) -> u64 {
    (t - t0()).as_millis() as u64
}

pub const UAC_ADDR: &str = "192.0.2.10:5060";
pub const UAS_ADDR: &str = "198.51.100.20:5060";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn peer(s: &str, transport: Transport) -> Peer {
    Peer::new(addr(s), transport)
}

pub fn layer() -> TransactionLayer {
    TransactionLayer::new(Config::default())
}

/// A request as a UA at `UAC_ADDR` would send it.
pub fn request(
    method: &str,
    branch: &str,
    transport: Transport,
    to_tag: Option<&str>,
    cseq: u32,
) -> Request {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let text = format!(
        "{method} sip:bob@biloxi.example.com SIP/2.0\r\n\
         Via: SIP/2.0/{t} 192.0.2.10:5060;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         To: Bob <sip:bob@biloxi.example.com>{to_tag}\r\n\
         From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:alice@192.0.2.10>\r\n\
         Content-Length: 0\r\n\r\n",
        t = transport.as_via_str()
    );
    Request::parse(text.as_bytes()).unwrap()
}

pub fn invite(branch: &str, transport: Transport) -> Request {
    request("INVITE", branch, transport, None, 1)
}

pub fn response(req: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let mut r = Response::from_request(req, code);
    if let Some(t) = to_tag {
        r.set_to_tag(t).unwrap();
    }
    r
}

pub fn transmits(layer: &mut TransactionLayer) -> Vec<Transmit> {
    std::iter::from_fn(|| layer.poll_transmit()).collect()
}

pub fn events(layer: &mut TransactionLayer) -> Vec<Event> {
    std::iter::from_fn(|| layer.poll_event()).collect()
}

pub fn parse(t: &Transmit) -> Message {
    Message::parse(&t.bytes).unwrap()
}

pub fn status_of(t: &Transmit) -> Option<u16> {
    parse(t).as_response().map(|r| r.status.code())
}

pub fn method_of(t: &Transmit) -> Option<String> {
    parse(t).as_request().map(|r| r.method.to_string())
}

/// Fires every timer up to and including `until`; returns each transmit with the time
/// (ms since t0) it went out, and the events in order.
pub fn run_until(
    layer: &mut TransactionLayer,
    until: Instant,
) -> (Vec<(u64, Transmit)>, Vec<Event>) {
    let mut sent = Vec::new();
    let mut evs = Vec::new();
    while let Some(at) = layer.poll_timeout() {
        if at > until {
            break;
        }
        layer.handle_timeout(at);
        sent.extend(transmits(layer).into_iter().map(|t| (ms_since_t0(at), t)));
        evs.extend(events(layer));
    }
    (sent, evs)
}

pub fn is_terminated(e: &Event) -> bool {
    matches!(e, Event::Terminated { .. })
}
