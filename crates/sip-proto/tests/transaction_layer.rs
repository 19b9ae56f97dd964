//! Layer-wide behaviour: matching (RFC 3261 §17.2.3 and the RFC 2543 fallback), CANCEL
//! (§9.2), merged requests (§8.2.2.2), response routing (§18.2.2, RFC 3581), the server
//! transaction cap.

use crate::transaction_support;

use ringfence_sip_proto::transaction::{
    Config, Event, FlowId, OverloadPolicy, Peer, TransactionLayer, Transport,
};
use ringfence_sip_types::{Message, Request};
use transaction_support::*;

fn uac() -> Peer {
    peer(UAC_ADDR, Transport::Udp)
}

#[test]
fn rfc3261_9_2_cancel_gets_200_and_the_tu_answers_487() {
    let mut l = layer();
    let inv = invite("z9hG4bKc1", Transport::Udp);
    l.handle_incoming(at_ms(0), inv.clone().into(), uac()).unwrap();
    let Some(Event::Request { tx: invite_tx, request, .. }) = l.poll_event() else { panic!() };
    l.respond(at_ms(10), invite_tx, response(&request, 180, Some("u1"))).unwrap();
    transmits(&mut l);
    let cancel = request_with_method(&inv, "CANCEL");
    l.handle_incoming(at_ms(100), cancel.clone().into(), uac()).unwrap();
    let out = transmits(&mut l);
    assert_eq!(out.len(), 1);
    let Message::Response(ok) = parse(&out[0]) else { panic!() };
    assert_eq!(ok.status.code(), 200);
    assert_eq!(ok.cseq().unwrap().to_string(), "1 CANCEL");
    assert_eq!(ok.to().unwrap().tag(), Some("u1"), "same To tag as the INVITE's responses");
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::Cancel { invite_tx: t, request, .. }] if *t == invite_tx && request.method.as_str() == "CANCEL")
    );
    // A retransmitted CANCEL is absorbed and answered again.
    l.handle_incoming(at_ms(600), cancel.into(), uac()).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(200)]);
    assert!(events(&mut l).is_empty());
    l.respond(at_ms(700), invite_tx, response(&request, 487, Some("u1"))).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(487)]);
    let ack = request_with_method(&inv, "ACK");
    l.handle_incoming(at_ms(800), ack.into(), uac()).unwrap();
    assert!(events(&mut l).is_empty());
    run_until(&mut l, at_ms(60_000));
    assert!(l.is_empty());
}

fn request_with_method(orig: &Request, method: &str) -> Request {
    let branch = orig.via_top().unwrap().branch().unwrap().to_owned();
    let to_tag = if method == "ACK" { Some("u1") } else { None };
    let mut r = request(method, &branch, Transport::Udp, to_tag, orig.cseq().unwrap().seq);
    r.headers.remove("Contact");
    r
}

#[test]
fn rfc3261_9_2_cancel_after_final_response_is_answered_but_not_reported() {
    let mut l = layer();
    let inv = invite("z9hG4bKc2", Transport::Udp);
    l.handle_incoming(at_ms(0), inv.clone().into(), uac()).unwrap();
    let Some(Event::Request { tx, request, .. }) = l.poll_event() else { panic!() };
    l.respond(at_ms(1), tx, response(&request, 200, Some("u1"))).unwrap();
    transmits(&mut l);
    l.handle_incoming(at_ms(2), request_with_method(&inv, "CANCEL").into(), uac()).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(200)]);
    assert!(events(&mut l).is_empty());
}

#[test]
fn rfc3261_9_2_unmatched_cancel_gets_481() {
    let mut l = layer();
    let cancel = request("CANCEL", "z9hG4bKnothing", Transport::Udp, None, 1);
    l.handle_incoming(at_ms(0), cancel.into(), uac()).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(481)]);
    assert!(events(&mut l).is_empty());
    assert!(l.is_empty(), "answered statelessly");
    assert_eq!(l.stats().cancel_unmatched, 1);
}

#[test]
fn rfc3261_8_2_2_2_merged_request_gets_482() {
    let mut l = layer();
    l.handle_incoming(at_ms(0), invite("z9hG4bKm1", Transport::Udp).into(), uac()).unwrap();
    assert_eq!(events(&mut l).len(), 1);
    // Same From tag, Call-ID and CSeq, another branch (it forked and came back).
    let merged = invite("z9hG4bKm2", Transport::Udp);
    l.handle_incoming(at_ms(5), merged.clone().into(), uac()).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(482)]);
    assert!(events(&mut l).is_empty(), "the TU never sees it");
    // Its retransmission and ACK are absorbed by the 482 transaction.
    l.handle_incoming(at_ms(505), merged.into(), uac()).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(482)]);
    let mut ack = request("ACK", "z9hG4bKm2", Transport::Udp, None, 1);
    ack.headers.remove("Contact");
    l.handle_incoming(at_ms(600), ack.into(), uac()).unwrap();
    assert!(events(&mut l).is_empty());
    assert_eq!(l.stats().merged_rejected, 1);
    // In-dialog requests (To tag) are never merged.
    let cfg = Config { reject_merged_requests: false, ..Config::default() };
    let mut proxy = TransactionLayer::new(cfg);
    proxy.handle_incoming(at_ms(0), invite("z9hG4bKm1", Transport::Udp).into(), uac()).unwrap();
    proxy.handle_incoming(at_ms(0), invite("z9hG4bKm2", Transport::Udp).into(), uac()).unwrap();
    assert_eq!(events(&mut proxy).len(), 2, "a proxy turns the check off");
}

#[test]
fn server_transaction_cap_answers_503_or_drops() {
    let mut cfg = Config { max_server_transactions: 2, ..Config::default() };
    let mut l = TransactionLayer::new(cfg);
    for i in 0..3 {
        let r = request("OPTIONS", &format!("z9hG4bKcap{i}"), Transport::Udp, None, 10 + i);
        l.handle_incoming(at_ms(0), r.into(), uac()).unwrap();
    }
    assert_eq!(events(&mut l).len(), 2);
    let out = transmits(&mut l);
    assert_eq!(out.len(), 1);
    let Message::Response(busy) = parse(&out[0]) else { panic!() };
    assert_eq!(busy.status.code(), 503);
    assert_eq!(busy.header_str("Retry-After"), Some("5"));
    assert_eq!(l.server_transactions(), 2);
    cfg.overload = OverloadPolicy::Drop;
    let mut quiet = TransactionLayer::new(cfg);
    for i in 0..3 {
        let r = request("OPTIONS", &format!("z9hG4bKdrop{i}"), Transport::Udp, None, 10 + i);
        quiet.handle_incoming(at_ms(0), r.into(), uac()).unwrap();
    }
    assert!(transmits(&mut quiet).is_empty());
    assert_eq!(quiet.stats().overload_rejected, 1);
}

#[test]
fn rfc3581_responses_follow_rport_and_received() {
    let mut l = layer();
    let mut r = request("OPTIONS", "z9hG4bKr1", Transport::Udp, None, 3);
    r.headers.set("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKr1;rport");
    let nat = peer("203.0.113.50:61000", Transport::Udp);
    l.handle_incoming(at_ms(0), r.into(), nat).unwrap();
    let Some(Event::Request { tx, request, .. }) = l.poll_event() else { panic!() };
    let via = request.via_top().unwrap();
    assert_eq!(via.received(), Some("203.0.113.50".parse().unwrap()));
    assert_eq!(via.rport(), Some(Some(61000)));
    l.respond(at_ms(1), tx, response(&request, 200, None)).unwrap();
    let out = transmits(&mut l);
    assert_eq!(out[0].dest.addr, nat.addr);
    let Message::Response(resp) = parse(&out[0]) else { panic!() };
    let via = resp.header_str("Via").unwrap();
    assert!(via.contains(";rport=61000") && via.contains(";received=203.0.113.50"), "{via}");
}

#[test]
fn rfc3261_18_2_2_reliable_responses_reuse_the_flow() {
    let mut l = layer();
    let mut r = request("OPTIONS", "z9hG4bKr2", Transport::Tcp, None, 3);
    r.headers.set("Via", "SIP/2.0/TCP client.example;branch=z9hG4bKr2");
    let src = peer("203.0.113.51:40001", Transport::Tcp).with_flow(FlowId(77));
    l.handle_incoming(at_ms(0), r.into(), src).unwrap();
    let Some(Event::Request { tx, request, .. }) = l.poll_event() else { panic!() };
    assert_eq!(l.response_destination(tx).unwrap().flow, Some(FlowId(77)));
    l.respond(at_ms(1), tx, response(&request, 200, None)).unwrap();
    let out = transmits(&mut l);
    assert_eq!(out[0].dest.flow, Some(FlowId(77)));
    assert_eq!(out[0].dest.transport, Transport::Tcp);
    assert_eq!(
        out[0].dest.addr,
        addr("203.0.113.51:5060"),
        "fallback: received address, sent-by port"
    );
}

#[test]
fn rfc3261_17_2_3_rfc2543_fallback_matching() {
    let mut l = layer();
    let inv = invite("old-style-1", Transport::Udp);
    l.handle_incoming(at_ms(0), inv.clone().into(), uac()).unwrap();
    let Some(Event::Request { tx, request, .. }) = l.poll_event() else { panic!() };
    l.handle_incoming(at_ms(500), inv.clone().into(), uac()).unwrap();
    assert!(events(&mut l).is_empty(), "retransmission matched without a magic cookie");
    l.respond(at_ms(600), tx, response(&request, 486, Some("u1"))).unwrap();
    let mut ack = request_with_method(&inv, "ACK");
    ack.headers.set("Via", inv.header_str("Via").unwrap());
    l.handle_incoming(at_ms(700), ack.clone().into(), uac()).unwrap();
    assert!(events(&mut l).is_empty());
    assert_eq!(l.state(tx), Some(ringfence_sip_proto::transaction::TxState::Confirmed));
    // An ACK with another To tag is not for this transaction.
    let mut l2 = layer();
    l2.handle_incoming(at_ms(0), inv.clone().into(), uac()).unwrap();
    let Some(Event::Request { tx, request, .. }) = l2.poll_event() else { panic!() };
    l2.respond(at_ms(1), tx, response(&request, 486, Some("u1"))).unwrap();
    ack.headers.set("To", "Bob <sip:bob@biloxi.example.com>;tag=other");
    l2.handle_incoming(at_ms(2), ack.into(), uac()).unwrap();
    assert!(matches!(&events(&mut l2)[..], [Event::Ack { tx: None, .. }]));
}

#[test]
fn rfc3261_8_2_bad_cseq_method_gets_400() {
    let mut l = layer();
    let mut r = request("OPTIONS", "z9hG4bKb1", Transport::Udp, None, 3);
    r.headers.set("CSeq", "3 INFO");
    assert!(l.handle_incoming(at_ms(0), r.into(), uac()).is_err());
    let out = transmits(&mut l);
    let Message::Response(bad) = parse(&out[0]) else { panic!() };
    assert_eq!(bad.status.code(), 400);
    assert!(bad.reason.contains("CSeq"), "{}", bad.reason);
    assert!(l.is_empty());
    assert_eq!(l.stats().malformed_dropped, 1);
    // Without a Via nothing can be answered.
    let mut no_via = request("OPTIONS", "z9hG4bKb2", Transport::Udp, None, 3);
    no_via.headers.remove("Via");
    assert!(l.handle_incoming(at_ms(0), no_via.into(), uac()).is_err());
    assert!(transmits(&mut l).is_empty());
}

#[test]
fn stateless_sends() {
    let mut l = layer();
    let req = request("OPTIONS", "z9hG4bKst", Transport::Udp, None, 3);
    let resp = response(&req, 404, None);
    l.send_response_stateless(&resp, &uac()).unwrap();
    l.send_stateless(&Message::Request(req), peer(UAS_ADDR, Transport::Tcp));
    let out = transmits(&mut l);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].dest.addr, addr(UAC_ADDR));
    assert_eq!(out[0].tx, None);
    assert_eq!(out[1].dest.transport, Transport::Tcp);
    assert!(l.is_empty());
}

/// Layers of one endpoint with disjoint id spaces (the server's core shards) never hand
/// out the same id, and each id names the layer that owns it.
#[test]
fn id_spaces_are_disjoint_and_name_their_layer() {
    use ringfence_sip_proto::transaction::IdSpace;
    let mut seen = std::collections::HashSet::new();
    for shard in 0..3 {
        let mut l =
            TransactionLayer::new(Config { ids: IdSpace::new(shard, 3), ..Config::default() });
        for n in 0..5u32 {
            // Another CSeq each time, or the layer would answer 482 (merged request).
            let branch = format!("z9hG4bKs{shard}n{n}");
            let inv = request("INVITE", &branch, Transport::Udp, None, n + 1);
            l.handle_incoming(at_ms(0), inv.into(), uac()).unwrap();
            let Some(Event::Request { tx, .. }) = l.poll_event() else { panic!() };
            assert_eq!(IdSpace::owner(tx, 3), shard, "{tx}");
            assert!(seen.insert(tx), "{tx} handed out twice");
        }
    }
    assert_eq!(seen.len(), 15);
    // The default space is all ids: one layer owns everything.
    let mut l = layer();
    l.handle_incoming(at_ms(0), invite("z9hG4bKall", Transport::Udp).into(), uac()).unwrap();
    let Some(Event::Request { tx, .. }) = l.poll_event() else { panic!() };
    assert_eq!((tx.as_u64(), IdSpace::owner(tx, 1)), (1, 0));
}

/// RFC 3261 §8.2.7, §26.1.5: with `stateless_challenges` a 401/407 to a non-INVITE ends
/// its transaction at once (no Timer J state per unauthenticated request); a
/// retransmission is a new request, challenged again. Other final responses keep the
/// transaction, and without the setting a challenge does too.
#[test]
fn rfc3261_8_2_7_challenges_can_be_answered_statelessly() {
    let cfg = Config { stateless_challenges: true, ..Config::default() };
    let mut l = TransactionLayer::new(cfg);
    let reg = request("REGISTER", "z9hG4bKreg1", Transport::Udp, None, 1);
    l.handle_incoming(at_ms(0), reg.clone().into(), uac()).unwrap();
    let Some(Event::Request { tx, request: r, .. }) = l.poll_event() else { panic!() };
    l.respond(at_ms(1), tx, response(&r, 401, Some("t1"))).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(401)]);
    assert!(matches!(&events(&mut l)[..], [Event::Terminated { tx: t, .. }] if *t == tx));
    assert!(l.is_empty(), "no state kept for the challenge");
    // The retransmission reaches the TU as a new request.
    l.handle_incoming(at_ms(500), reg.into(), uac()).unwrap();
    let Some(Event::Request { tx: again, request: r2, .. }) = l.poll_event() else { panic!() };
    assert_ne!(again, tx);
    // A 200 keeps the transaction for Timer J, so a retransmission gets the same 200.
    l.respond(at_ms(501), again, response(&r2, 200, Some("t2"))).unwrap();
    transmits(&mut l);
    assert_eq!(l.server_transactions(), 1);
    l.handle_incoming(at_ms(900), r2.into(), uac()).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(200)]);
    assert!(events(&mut l).is_empty());

    // Default: the challenge is kept and absorbs retransmissions.
    let mut l = layer();
    let reg = request("REGISTER", "z9hG4bKreg2", Transport::Udp, None, 1);
    l.handle_incoming(at_ms(0), reg.clone().into(), uac()).unwrap();
    let Some(Event::Request { tx, request: r, .. }) = l.poll_event() else { panic!() };
    l.respond(at_ms(1), tx, response(&r, 401, Some("t1"))).unwrap();
    transmits(&mut l);
    l.handle_incoming(at_ms(500), reg.into(), uac()).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(401)]);
    assert!(events(&mut l).is_empty());
}
