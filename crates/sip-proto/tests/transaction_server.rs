//! Server transactions, RFC 3261 §17.2 figures 7 and 8 with the RFC 6026 Accepted state.

use crate::transaction_support;

use ringfence_sip_proto::Error;
use ringfence_sip_proto::transaction::{
    Event, Peer, TransactionLayer, Transport, TxId, TxKind, TxState,
};
use ringfence_sip_types::{Message, Request};
use transaction_support::*;

fn uac(t: Transport) -> Peer {
    peer(UAC_ADDR, t)
}

/// Feeds `req` and returns the new transaction and the request as the TU sees it.
fn receive(l: &mut TransactionLayer, at: u64, req: &Request, t: Transport) -> (TxId, Request) {
    l.handle_incoming(at_ms(at), req.clone().into(), uac(t)).unwrap();
    match events(l).pop() {
        Some(Event::Request { tx, request, source }) => {
            assert_eq!(source, uac(t));
            (tx, request)
        }
        other => panic!("expected a request event, got {other:?}"),
    }
}

#[test]
fn rfc3261_17_2_1_automatic_100_trying_after_200ms() {
    let mut l = layer();
    let (tx, _) = receive(&mut l, 0, &invite("z9hG4bKs1", Transport::Udp), Transport::Udp);
    assert_eq!(l.state(tx), Some(TxState::Proceeding));
    assert!(transmits(&mut l).is_empty());
    assert_eq!(l.poll_timeout(), Some(at_ms(200)));
    let (sent, _) = run_until(&mut l, at_ms(200));
    assert_eq!(sent.len(), 1);
    assert_eq!(status_of(&sent[0].1), Some(100));
    assert_eq!(sent[0].1.dest.addr, addr(UAC_ADDR));
    assert_eq!(l.poll_timeout(), None, "Proceeding has no timer");
}

#[test]
fn rfc3261_17_2_1_no_100_when_the_tu_answers_first() {
    let mut l = layer();
    let (tx, req) = receive(&mut l, 0, &invite("z9hG4bKs2", Transport::Udp), Transport::Udp);
    l.respond(at_ms(50), tx, response(&req, 180, Some("u1"))).unwrap();
    let (sent, _) = run_until(&mut l, at_ms(1_000));
    assert!(sent.is_empty());
    // A retransmitted INVITE gets the latest provisional response again.
    l.handle_incoming(at_ms(500), req.clone().into(), uac(Transport::Udp)).unwrap();
    let out = transmits(&mut l);
    let codes: Vec<_> = out.iter().map(status_of).collect();
    assert_eq!(codes, [Some(180), Some(180)]);
    assert!(out[1].retransmission);
    assert!(events(&mut l).is_empty(), "retransmissions are not passed up");
    assert_eq!(l.stats().request_retransmissions_absorbed, 1);
}

#[test]
fn rfc3261_17_2_1_retransmitted_invite_before_200ms_gets_100() {
    let mut l = layer();
    let inv = invite("z9hG4bKs3", Transport::Udp);
    receive(&mut l, 0, &inv, Transport::Udp);
    l.handle_incoming(at_ms(100), inv.into(), uac(Transport::Udp)).unwrap();
    let out = transmits(&mut l);
    assert_eq!(out.iter().map(status_of).collect::<Vec<_>>(), [Some(100)]);
    let (sent, _) = run_until(&mut l, at_ms(1_000));
    assert!(sent.is_empty(), "100 sent only once");
}

#[test]
fn rfc3261_17_2_1_completed_timer_g_then_ack_confirms_then_timer_i() {
    let mut l = layer();
    let inv = invite("z9hG4bKs4", Transport::Udp);
    let (tx, req) = receive(&mut l, 0, &inv, Transport::Udp);
    let busy = response(&req, 486, Some("u2"));
    l.respond(at_ms(10), tx, busy).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Completed));
    transmits(&mut l);
    let (sent, _) = run_until(&mut l, at_ms(8_000));
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    // Timer G: T1, 2T1, 4T1, then T2.
    assert_eq!(times, [510, 1510, 3510, 7510]);
    assert!(sent.iter().all(|(_, t)| t.retransmission && status_of(t) == Some(486)));
    // A retransmitted INVITE gets the final response again.
    l.handle_incoming(at_ms(8_100), inv.clone().into(), uac(Transport::Udp)).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(486)]);
    let ack = request("ACK", "z9hG4bKs4", Transport::Udp, Some("u2"), 1);
    l.handle_incoming(at_ms(8_200), ack.clone().into(), uac(Transport::Udp)).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Confirmed));
    assert!(events(&mut l).is_empty(), "the ACK for a non-2xx stays in the transaction");
    // Confirmed absorbs further ACKs and INVITEs and sends nothing.
    l.handle_incoming(at_ms(8_300), ack.into(), uac(Transport::Udp)).unwrap();
    l.handle_incoming(at_ms(8_300), inv.into(), uac(Transport::Udp)).unwrap();
    assert!(transmits(&mut l).is_empty());
    assert_eq!(l.poll_timeout(), Some(at_ms(13_200)), "Timer I = T4");
    let (sent, evs) = run_until(&mut l, at_ms(20_000));
    assert!(sent.is_empty());
    assert_eq!(evs, [Event::Terminated { tx, kind: TxKind::ServerInvite }]);
}

#[test]
fn rfc3261_17_2_1_timer_h_reports_missing_ack() {
    let mut l = layer();
    let (tx, req) = receive(&mut l, 0, &invite("z9hG4bKs5", Transport::Udp), Transport::Udp);
    l.respond(at_ms(0), tx, response(&req, 404, Some("u3"))).unwrap();
    let (sent, evs) = run_until(&mut l, at_ms(40_000));
    assert!(sent.iter().all(|(t, _)| *t < 32_000));
    assert_eq!(evs[0], Event::Timeout { tx });
    assert!(l.is_empty());
}

#[test]
fn rfc3261_17_2_1_reliable_no_timer_g_and_zero_timer_i() {
    let mut l = layer();
    let inv = invite("z9hG4bKs6", Transport::Tcp);
    let (tx, req) = receive(&mut l, 0, &inv, Transport::Tcp);
    l.respond(at_ms(0), tx, response(&req, 486, Some("u4"))).unwrap();
    assert_eq!(l.poll_timeout(), Some(at_ms(32_000)), "only Timer H");
    let ack = request("ACK", "z9hG4bKs6", Transport::Tcp, Some("u4"), 1);
    l.handle_incoming(at_ms(5), ack.into(), uac(Transport::Tcp)).unwrap();
    assert_eq!(l.state(tx), None);
    assert_eq!(l.stats().retransmissions, 0);
}

#[test]
fn rfc6026_7_1_accepted_absorbs_invites_and_passes_acks() {
    let mut l = layer();
    let inv = invite("z9hG4bKs7", Transport::Udp);
    let (tx, req) = receive(&mut l, 0, &inv, Transport::Udp);
    let ok = response(&req, 200, Some("u5"));
    l.respond(at_ms(20), tx, ok.clone()).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Accepted));
    transmits(&mut l);
    l.handle_incoming(at_ms(500), inv.into(), uac(Transport::Udp)).unwrap();
    assert!(transmits(&mut l).is_empty(), "no 2xx retransmission by the transaction");
    assert!(events(&mut l).is_empty());
    // The TU retransmits its 2xx through the transaction.
    l.respond(at_ms(520), tx, ok.clone()).unwrap();
    let out = transmits(&mut l);
    assert_eq!(out.len(), 1);
    assert!(out[0].retransmission);
    assert!(matches!(
        l.respond(at_ms(530), tx, response(&req, 486, Some("u5"))),
        Err(Error::ResponseNotAllowed { .. })
    ));
    // An ACK that reuses the INVITE branch matches and is passed up.
    let ack = request("ACK", "z9hG4bKs7", Transport::Udp, Some("u5"), 1);
    l.handle_incoming(at_ms(600), ack.into(), uac(Transport::Udp)).unwrap();
    assert!(matches!(&events(&mut l)[..], [Event::Ack { tx: Some(t), .. }] if *t == tx));
    // The usual ACK for a 2xx has its own branch: no transaction matches.
    let ack2 = request("ACK", "z9hG4bKother", Transport::Udp, Some("u5"), 1);
    l.handle_incoming(at_ms(610), ack2.into(), uac(Transport::Udp)).unwrap();
    assert!(matches!(&events(&mut l)[..], [Event::Ack { tx: None, .. }]));
    assert_eq!(l.poll_timeout(), Some(at_ms(32_020)), "Timer L");
    run_until(&mut l, at_ms(40_000));
    assert!(l.is_empty());
}

#[test]
fn rfc3261_17_2_2_non_invite_trying_proceeding_completed() {
    let mut l = layer();
    let reg = request("REGISTER", "z9hG4bKs8", Transport::Udp, None, 2);
    let (tx, req) = receive(&mut l, 0, &reg, Transport::Udp);
    assert_eq!(l.state(tx), Some(TxState::Trying));
    // Trying: retransmissions are discarded silently.
    l.handle_incoming(at_ms(500), reg.clone().into(), uac(Transport::Udp)).unwrap();
    assert!(transmits(&mut l).is_empty());
    l.respond(at_ms(600), tx, response(&req, 100, None)).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Proceeding));
    l.handle_incoming(at_ms(1_500), reg.clone().into(), uac(Transport::Udp)).unwrap();
    assert_eq!(transmits(&mut l).iter().map(status_of).collect::<Vec<_>>(), [Some(100), Some(100)]);
    l.respond(at_ms(1_600), tx, response(&req, 200, Some("r1"))).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Completed));
    l.handle_incoming(at_ms(3_500), reg.into(), uac(Transport::Udp)).unwrap();
    let out = transmits(&mut l);
    assert_eq!(out.iter().map(status_of).collect::<Vec<_>>(), [Some(200), Some(200)]);
    assert!(out[1].retransmission);
    assert!(matches!(
        l.respond(at_ms(3_600), tx, response(&req, 500, None)),
        Err(Error::ResponseNotAllowed { .. })
    ));
    assert_eq!(l.poll_timeout(), Some(at_ms(33_600)), "Timer J = 64*T1");
    let (sent, _) = run_until(&mut l, at_ms(40_000));
    assert!(sent.is_empty(), "the server never retransmits on its own");
    assert!(l.is_empty());
}

#[test]
fn rfc3261_17_2_2_reliable_timer_j_is_zero() {
    let mut l = layer();
    let (tx, req) = receive(
        &mut l,
        0,
        &request("OPTIONS", "z9hG4bKs9", Transport::Tls, None, 2),
        Transport::Tls,
    );
    l.respond(at_ms(1), tx, response(&req, 200, None)).unwrap();
    assert_eq!(l.state(tx), None);
    assert!(matches!(&events(&mut l)[..], [Event::Terminated { .. }]));
    assert_eq!(
        l.respond(at_ms(2), tx, response(&req, 200, None)),
        Err(Error::UnknownTransaction(tx))
    );
}

#[test]
fn server_non_invite_without_answer_ends_after_lifetime() {
    let mut l = layer();
    let (tx, _) = receive(
        &mut l,
        0,
        &request("OPTIONS", "z9hG4bKs10", Transport::Udp, None, 2),
        Transport::Udp,
    );
    let (_, evs) = run_until(&mut l, at_ms(60_000));
    assert_eq!(evs[0], Event::Timeout { tx });
    assert!(l.is_empty());
}

#[test]
fn rfc3261_17_2_4_transport_error_on_response() {
    let mut l = layer();
    let (tx, req) = receive(
        &mut l,
        0,
        &request("OPTIONS", "z9hG4bKs11", Transport::Tcp, None, 2),
        Transport::Tcp,
    );
    l.respond(at_ms(0), tx, response(&req, 180, None)).unwrap();
    let t = transmits(&mut l).remove(0);
    assert_eq!(t.tx, Some(tx));
    l.handle_transport_error(at_ms(1), tx);
    assert_eq!(events(&mut l)[0], Event::TransportError { tx });
    assert!(l.is_empty());
}

#[test]
fn respond_is_only_for_server_transactions() {
    let mut l = layer();
    let req = request("OPTIONS", "z9hG4bKs12", Transport::Udp, None, 2);
    let tx = l.start_client_transaction(t0(), req.clone(), peer(UAS_ADDR, Transport::Udp)).unwrap();
    let r = l.respond(t0(), tx, response(&req, 200, None));
    assert!(matches!(r, Err(Error::WrongTransactionKind { kind: TxKind::ClientNonInvite, .. })));
    let Message::Request(_) = parse(&transmits(&mut l)[0]) else { panic!() };
}
