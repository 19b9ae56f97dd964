//! Client transactions, RFC 3261 §17.1 figures 5 and 6 with the RFC 6026 Accepted state.

use crate::transaction_support;

use ringfence_sip_proto::Error;
use ringfence_sip_proto::transaction::{Event, Transport, TxState};
use ringfence_sip_types::{Message, Method};
use transaction_support::*;

fn uas(t: Transport) -> ringfence_sip_proto::transaction::Peer {
    peer(UAS_ADDR, t)
}

#[test]
fn rfc3261_17_1_1_2_calling_timer_a_doubles_until_timer_b() {
    let mut l = layer();
    let tx = l
        .start_client_transaction(t0(), invite("z9hG4bKa1", Transport::Udp), uas(Transport::Udp))
        .unwrap();
    let first = transmits(&mut l);
    assert_eq!(first.len(), 1);
    assert!(!first[0].retransmission);
    assert_eq!(first[0].dest.addr, addr(UAS_ADDR));
    assert_eq!(l.state(tx), Some(TxState::Calling));
    let (sent, evs) = run_until(&mut l, at_ms(40_000));
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    // Timer A: T1, 2T1, 4T1, ... with no cap; Timer B at 64*T1.
    assert_eq!(times, [500, 1500, 3500, 7500, 15500, 31500]);
    assert!(sent.iter().all(|(_, t)| t.retransmission && t.tx == Some(tx)));
    assert_eq!(
        evs,
        [
            Event::Timeout { tx },
            Event::Terminated { tx, kind: ringfence_sip_proto::transaction::TxKind::ClientInvite }
        ]
    );
    assert!(l.is_empty());
    assert_eq!(l.stats().timeouts, 1);
}

#[test]
fn rfc3261_17_1_1_2_reliable_transport_has_no_timer_a() {
    let mut l = layer();
    let tx = l
        .start_client_transaction(t0(), invite("z9hG4bKa2", Transport::Tcp), uas(Transport::Tcp))
        .unwrap();
    assert_eq!(transmits(&mut l).len(), 1);
    let (sent, evs) = run_until(&mut l, at_ms(40_000));
    assert!(sent.is_empty());
    assert_eq!(evs.first(), Some(&Event::Timeout { tx }));
    assert_eq!(l.stats().retransmissions, 0);
}

#[test]
fn rfc3261_17_1_1_2_provisional_stops_retransmissions() {
    let mut l = layer();
    let inv = invite("z9hG4bKa3", Transport::Udp);
    let tx = l.start_client_transaction(t0(), inv.clone(), uas(Transport::Udp)).unwrap();
    transmits(&mut l);
    l.handle_incoming(at_ms(100), response(&inv, 180, Some("b1")).into(), uas(Transport::Udp))
        .unwrap();
    assert_eq!(l.state(tx), Some(TxState::Proceeding));
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::Response { tx: t, response }] if *t == tx && response.status.code() == 180)
    );
    assert_eq!(l.poll_timeout(), None, "no Timer A or B in Proceeding");
}

#[test]
fn rfc3261_17_1_1_3_non_2xx_is_acked_inside_the_transaction() {
    let mut l = layer();
    let inv = invite("z9hG4bKa4", Transport::Udp);
    let tx = l.start_client_transaction(t0(), inv.clone(), uas(Transport::Udp)).unwrap();
    transmits(&mut l);
    let busy = response(&inv, 486, Some("b2"));
    l.handle_incoming(at_ms(200), busy.clone().into(), uas(Transport::Udp)).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Completed));
    let out = transmits(&mut l);
    assert_eq!(out.len(), 1);
    let Message::Request(ack) = parse(&out[0]) else { panic!("expected ACK") };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.via_top().unwrap().branch(), Some("z9hG4bKa4"));
    assert_eq!(ack.to().unwrap().tag(), Some("b2"));
    assert_eq!(ack.cseq().unwrap().seq, 1);
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::Response { response, .. }] if response.status.code() == 486)
    );
    // A retransmitted 486 is absorbed and ACKed again.
    l.handle_incoming(at_ms(700), busy.into(), uas(Transport::Udp)).unwrap();
    let again = transmits(&mut l);
    assert_eq!(again.len(), 1);
    assert!(again[0].retransmission);
    assert_eq!(method_of(&again[0]).as_deref(), Some("ACK"));
    assert!(events(&mut l).is_empty());
    // Timer D (32 s on UDP) ends it.
    assert_eq!(l.poll_timeout(), Some(at_ms(32_200)));
    let (_, evs) = run_until(&mut l, at_ms(40_000));
    assert!(matches!(&evs[..], [Event::Terminated { .. }]));
    assert!(l.is_empty());
}

#[test]
fn rfc3261_17_1_1_2_timer_d_is_zero_on_reliable_transports() {
    let mut l = layer();
    let inv = invite("z9hG4bKa5", Transport::Tls);
    let tx = l.start_client_transaction(t0(), inv.clone(), uas(Transport::Tls)).unwrap();
    l.handle_incoming(at_ms(10), response(&inv, 603, Some("x")).into(), uas(Transport::Tls))
        .unwrap();
    assert_eq!(l.state(tx), None);
    let evs = events(&mut l);
    assert!(matches!(&evs[..], [Event::Response { .. }, Event::Terminated { .. }]));
}

#[test]
fn rfc6026_7_2_accepted_passes_every_2xx_and_ends_with_timer_m() {
    let mut l = layer();
    let inv = invite("z9hG4bKa6", Transport::Udp);
    let tx = l.start_client_transaction(t0(), inv.clone(), uas(Transport::Udp)).unwrap();
    transmits(&mut l);
    let ok = response(&inv, 200, Some("b3"));
    l.handle_incoming(at_ms(300), ok.clone().into(), uas(Transport::Udp)).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Accepted));
    assert!(transmits(&mut l).is_empty(), "the ACK for a 2xx is the TU's");
    l.handle_incoming(at_ms(800), ok.into(), uas(Transport::Udp)).unwrap();
    let fork = response(&inv, 200, Some("other-fork"));
    l.handle_incoming(at_ms(900), fork.into(), uas(Transport::Udp)).unwrap();
    l.handle_incoming(at_ms(950), response(&inv, 486, Some("late")).into(), uas(Transport::Udp))
        .unwrap();
    let codes: Vec<u16> = events(&mut l)
        .iter()
        .map(|e| match e {
            Event::Response { response, .. } => response.status.code(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(codes, [200, 200, 200]);
    assert_eq!(l.poll_timeout(), Some(at_ms(32_300)));
    run_until(&mut l, at_ms(33_000));
    assert!(l.is_empty());
}

#[test]
fn rfc3261_17_1_2_2_timer_e_caps_at_t2_and_timer_f_times_out() {
    let mut l = layer();
    let tx = l
        .start_client_transaction(
            t0(),
            request("OPTIONS", "z9hG4bKn1", Transport::Udp, None, 5),
            uas(Transport::Udp),
        )
        .unwrap();
    assert_eq!(l.state(tx), Some(TxState::Trying));
    transmits(&mut l);
    let (sent, evs) = run_until(&mut l, at_ms(40_000));
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert_eq!(evs[0], Event::Timeout { tx });
    assert!(l.is_empty());
}

#[test]
fn rfc3261_17_1_2_2_proceeding_retransmits_every_t2() {
    let mut l = layer();
    let req = request("REGISTER", "z9hG4bKn2", Transport::Udp, None, 7);
    let tx = l.start_client_transaction(t0(), req.clone(), uas(Transport::Udp)).unwrap();
    transmits(&mut l);
    l.handle_incoming(at_ms(100), response(&req, 100, None).into(), uas(Transport::Udp)).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Proceeding));
    let (sent, _) = run_until(&mut l, at_ms(9_000));
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    // The pending Timer E (500 ms) fires, then every T2.
    assert_eq!(times, [500, 4500, 8500]);
}

#[test]
fn rfc3261_17_1_2_2_completed_absorbs_and_timer_k_ends() {
    let mut l = layer();
    let req = request("BYE", "z9hG4bKn3", Transport::Udp, Some("b9"), 8);
    let tx = l.start_client_transaction(t0(), req.clone(), uas(Transport::Udp)).unwrap();
    transmits(&mut l);
    let ok = response(&req, 200, None);
    l.handle_incoming(at_ms(50), ok.clone().into(), uas(Transport::Udp)).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Completed));
    l.handle_incoming(at_ms(60), ok.into(), uas(Transport::Udp)).unwrap();
    let evs = events(&mut l);
    assert_eq!(evs.len(), 1, "the repeated 200 is absorbed");
    assert_eq!(l.stats().responses_absorbed, 1);
    assert_eq!(l.poll_timeout(), Some(at_ms(5_050)), "Timer K = T4");
    let (sent, _) = run_until(&mut l, at_ms(6_000));
    assert!(sent.is_empty());
    assert!(l.is_empty());
}

#[test]
fn rfc3261_17_1_2_2_reliable_completes_at_once() {
    let mut l = layer();
    let req = request("OPTIONS", "z9hG4bKn4", Transport::Tcp, None, 9);
    let tx = l.start_client_transaction(t0(), req.clone(), uas(Transport::Tcp)).unwrap();
    l.handle_incoming(at_ms(50), response(&req, 200, None).into(), uas(Transport::Tcp)).unwrap();
    assert_eq!(l.state(tx), None);
}

#[test]
fn rfc3261_17_1_4_transport_error_terminates() {
    let mut l = layer();
    let tx = l
        .start_client_transaction(
            t0(),
            request("OPTIONS", "z9hG4bKn5", Transport::Tcp, None, 9),
            uas(Transport::Tcp),
        )
        .unwrap();
    l.handle_transport_error(at_ms(1), tx);
    let evs = events(&mut l);
    assert_eq!(evs[0], Event::TransportError { tx });
    assert!(l.is_empty());
    // Reporting again for a gone transaction is harmless.
    l.handle_transport_error(at_ms(2), tx);
}

#[test]
fn start_client_transaction_rejects_bad_requests() {
    let mut l = layer();
    let ack = request("ACK", "z9hG4bKe1", Transport::Udp, Some("t"), 1);
    assert_eq!(
        l.start_client_transaction(t0(), ack, uas(Transport::Udp)),
        Err(Error::AckIsNotATransaction)
    );
    let old = request("OPTIONS", "oldbranch", Transport::Udp, None, 1);
    assert_eq!(
        l.start_client_transaction(t0(), old, uas(Transport::Udp)),
        Err(Error::MissingBranch)
    );
    let ok = request("OPTIONS", "z9hG4bKe2", Transport::Udp, None, 1);
    l.start_client_transaction(t0(), ok.clone(), uas(Transport::Udp)).unwrap();
    assert_eq!(
        l.start_client_transaction(t0(), ok, uas(Transport::Udp)),
        Err(Error::DuplicateTransaction)
    );
    let mut mismatch = request("OPTIONS", "z9hG4bKe3", Transport::Udp, None, 1);
    mismatch.headers.set("CSeq", "1 INFO");
    assert_eq!(
        l.start_client_transaction(t0(), mismatch, uas(Transport::Udp)),
        Err(Error::CSeqMethodMismatch)
    );
}

#[test]
fn rfc3261_9_1_cancel_waits_for_a_provisional_response() {
    let mut l = layer();
    let inv = invite("z9hG4bKc1", Transport::Udp);
    let tx = l.start_client_transaction(t0(), inv.clone(), uas(Transport::Udp)).unwrap();
    transmits(&mut l);
    assert_eq!(l.cancel(at_ms(10), tx, &[("Reason", "SIP;cause=487")]), Ok(true));
    assert!(transmits(&mut l).is_empty(), "no CANCEL before a provisional response");
    l.handle_incoming(at_ms(100), response(&inv, 180, Some("b")).into(), uas(Transport::Udp))
        .unwrap();
    let out = transmits(&mut l);
    assert_eq!(out.len(), 1);
    let Message::Request(cancel) = parse(&out[0]) else { panic!() };
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.via_top().unwrap().branch(), Some("z9hG4bKc1"));
    assert_eq!(cancel.header_str("Reason"), Some("SIP;cause=487"));
    assert_eq!(l.cancel(at_ms(110), tx, &[]), Ok(true), "idempotent");
    assert!(transmits(&mut l).is_empty());
    // The CANCEL's 200 is consumed by the layer; the INVITE's 487 reaches the TU.
    l.handle_incoming(
        at_ms(150),
        Message::Response(response(&cancel, 200, Some("b"))),
        uas(Transport::Udp),
    )
    .unwrap();
    l.handle_incoming(at_ms(160), response(&inv, 487, Some("b")).into(), uas(Transport::Udp))
        .unwrap();
    let codes: Vec<u16> = events(&mut l)
        .iter()
        .filter_map(|e| match e {
            Event::Response { response, .. } => Some(response.status.code()),
            _ => None,
        })
        .collect();
    assert_eq!(codes, [180, 487]);
    assert_eq!(l.cancel(at_ms(170), tx, &[]), Ok(false), "too late after a final response");
}

#[test]
fn rfc3261_9_1_cancelled_invite_ends_after_64_t1_without_final() {
    let mut l = layer();
    let inv = invite("z9hG4bKc2", Transport::Tcp);
    let tx = l.start_client_transaction(t0(), inv.clone(), uas(Transport::Tcp)).unwrap();
    l.handle_incoming(at_ms(100), response(&inv, 183, Some("b")).into(), uas(Transport::Tcp))
        .unwrap();
    assert_eq!(l.cancel(at_ms(1_000), tx, &[]), Ok(true));
    let (_, evs) = run_until(&mut l, at_ms(60_000));
    assert!(evs.contains(&Event::Timeout { tx }));
    assert!(l.is_empty(), "the CANCEL transaction timed out quietly too");
}

#[test]
fn rfc3261_9_1_pending_cancel_dropped_when_final_arrives_first() {
    let mut l = layer();
    let inv = invite("z9hG4bKc3", Transport::Udp);
    let tx = l.start_client_transaction(t0(), inv.clone(), uas(Transport::Udp)).unwrap();
    transmits(&mut l);
    assert_eq!(l.cancel(at_ms(10), tx, &[]), Ok(true));
    l.handle_incoming(at_ms(100), response(&inv, 200, Some("b")).into(), uas(Transport::Udp))
        .unwrap();
    assert!(transmits(&mut l).iter().all(|t| method_of(t).as_deref() != Some("CANCEL")));
    assert_eq!(l.client_transactions(), 1);
    assert_eq!(l.cancel(at_ms(20), tx, &[]), Ok(false));
    let non_invite = l
        .start_client_transaction(
            t0(),
            request("OPTIONS", "z9hG4bKc4", Transport::Udp, None, 2),
            uas(Transport::Udp),
        )
        .unwrap();
    assert!(matches!(
        l.cancel(at_ms(20), non_invite, &[]),
        Err(Error::WrongTransactionKind { .. })
    ));
}

#[test]
fn rfc3261_17_1_3_stray_responses() {
    let mut l = layer();
    let inv = invite("z9hG4bKs1", Transport::Udp);
    l.handle_incoming(t0(), response(&inv, 200, Some("x")).into(), uas(Transport::Udp)).unwrap();
    l.handle_incoming(t0(), response(&inv, 180, Some("x")).into(), uas(Transport::Udp)).unwrap();
    let evs = events(&mut l);
    assert!(
        matches!(&evs[..], [Event::StrayResponse { response, .. }] if response.status.code() == 200)
    );
    assert_eq!(l.stats().stray_responses, 2);
    // Same branch, other method: no match (§17.1.3 compares the CSeq method).
    let tx = l
        .start_client_transaction(
            t0(),
            request("OPTIONS", "z9hG4bKs2", Transport::Udp, None, 3),
            uas(Transport::Udp),
        )
        .unwrap();
    let other = request("INFO", "z9hG4bKs2", Transport::Udp, None, 3);
    l.handle_incoming(t0(), response(&other, 200, None).into(), uas(Transport::Udp)).unwrap();
    assert_eq!(l.state(tx), Some(TxState::Trying));
}
