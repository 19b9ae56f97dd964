//! SIP over UDP against real sockets on 127.0.0.1 and [::1] (RFC 3261 §18, RFC 3581).

use crate::transport_support;

use std::net::SocketAddr;

use ringfence_server::transport::{
    Outbound, TransportConfig, TransportError, TransportKind, Transports,
};
use ringfence_sip_types::{Message, Response};
use transport_support::*;

#[tokio::test]
async fn rfc3261_18_udp_options_answered_over_ipv4_and_ipv6() {
    let mut h = start(loopback_config()).await;
    for v6 in [false, true] {
        let client = udp_client(v6).await;
        let me = client.local_addr().unwrap();
        let server = h.addr(TransportKind::Udp, v6);
        client.send_to(options("UDP", me, "udp-basic").as_bytes(), server).await.unwrap();
        let (bytes, from) = udp_recv(&client).await;
        assert_eq!(from, server, "response comes from the socket the request arrived at");
        let resp = Response::parse(&bytes).unwrap();
        assert_eq!(resp.status.code(), 200);
        assert_eq!(header(&resp, "X-Source"), me.to_string());
        assert_eq!(header(&resp, "X-Kind"), "UDP");
        let seen = h.next_seen().await;
        assert_eq!(seen.kind, TransportKind::Udp);
        assert_eq!(seen.source, me);
        assert_eq!(seen.local, server);
    }
    let stats = h.transports.stats();
    assert_eq!(stats.received, 2);
    assert_eq!(stats.sent, 2);
    h.stop().await;
}

#[tokio::test]
async fn rfc3581_4_received_and_rport_filled() {
    let mut h = start(loopback_config()).await;
    let client = udp_client(false).await;
    let me = client.local_addr().unwrap();
    let server = h.addr(TransportKind::Udp, false);

    // Empty rport: filled with the source port, received added even though the
    // sent-by is the source address; the response goes to the source port.
    let lying_port = SocketAddr::new(me.ip(), 9);
    client.send_to(options("UDP", lying_port, "rport-1").as_bytes(), server).await.unwrap();
    let resp = udp_response(&client).await;
    let top = resp.via_top().unwrap();
    assert_eq!(top.rport(), Some(Some(me.port())));
    assert_eq!(top.received(), Some(me.ip()));
    assert_eq!(h.next_seen().await.message.headers().via_top().unwrap(), top);

    // A host name as sent-by, no rport: received added, rport absent; the response goes
    // to the received address and the sent-by port (§18.2.2), here the client's port.
    let host_sent_by = format!("client.invalid:{}", me.port());
    let req = request("OPTIONS", "UDP", &host_sent_by, "rport-2", "");
    client.send_to(req.as_bytes(), server).await.unwrap();
    let resp = udp_response(&client).await;
    let top = resp.via_top().unwrap();
    assert_eq!(top.received(), Some(me.ip()));
    assert_eq!(top.rport(), None);
    h.next_seen().await;

    // Sent-by equal to the source and no rport: the Via is left as it was.
    let req = request("OPTIONS", "UDP", &me.to_string(), "rport-3", "");
    client.send_to(req.as_bytes(), server).await.unwrap();
    let resp = udp_response(&client).await;
    assert_eq!(header(&resp, "Via"), format!("SIP/2.0/UDP {me};branch=z9hG4bK-rport-3"));
    h.stop().await;
}

#[tokio::test]
async fn rfc3261_8_2_6_malformed_request_gets_400_and_server_keeps_serving() {
    let mut h = start(loopback_config()).await;
    let client = udp_client(false).await;
    let me = client.local_addr().unwrap();
    let server = h.addr(TransportKind::Udp, false);

    // CSeq method differs from the request method: parse error, answerable.
    let bad = options("UDP", me, "bad-1").replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
    client.send_to(bad.as_bytes(), server).await.unwrap();
    let resp = udp_response(&client).await;
    assert_eq!(resp.status.code(), 400);
    assert_eq!(resp.reason, "Invalid CSeq header: method does not match request method");
    assert_eq!(header(&resp, "Call-ID"), "bad-1");
    assert_eq!(header(&resp, "CSeq"), "1 INVITE");
    assert!(resp.to().unwrap().tag().is_some(), "400 carries a To tag");

    // Another SIP version: 505.
    let v3 = options("UDP", me, "bad-2").replacen("SIP/2.0\r\n", "SIP/3.0\r\n", 1);
    client.send_to(v3.as_bytes(), server).await.unwrap();
    assert_eq!(udp_response(&client).await.status.code(), 505);

    // A malformed response, garbage, a request without Call-ID, keep-alives: dropped.
    let bad_resp = "SIP/2.0 2000 OK\r\nVia: SIP/2.0/UDP h\r\nCall-ID: x\r\n\r\n";
    client.send_to(bad_resp.as_bytes(), server).await.unwrap();
    client.send_to(b"\x00\x01\xff garbage \r\n\r\n", server).await.unwrap();
    let no_call_id = options("UDP", me, "bad-3").replace("Call-ID: bad-3\r\n", "");
    client.send_to(no_call_id.as_bytes(), server).await.unwrap();
    client.send_to(b"\r\n\r\n", server).await.unwrap();
    client.send_to(b"\r\n", server).await.unwrap();

    // A good request still works, and is the next thing the client hears.
    client.send_to(options("UDP", me, "good").as_bytes(), server).await.unwrap();
    let resp = udp_response(&client).await;
    assert_eq!((resp.status.code(), header(&resp, "Call-ID")), (200, "good"));
    assert_eq!(h.next_seen().await.message.headers().call_id().unwrap(), "good");

    let s = h.transports.stats();
    assert_eq!(s.parse_errors, 5);
    assert_eq!(s.bad_requests_answered, 2);
    assert_eq!(s.malformed_dropped, 3);
    assert_eq!(s.keepalives, 2);
    assert_eq!(s.received, 1);
    h.stop().await;
}

#[tokio::test]
async fn oversized_datagram_answered_with_513() {
    let config = TransportConfig {
        limits: ringfence_sip_types::Limits { max_message_size: 1024, ..Default::default() },
        ..loopback_config()
    };
    let h = start(config).await;
    let client = udp_client(false).await;
    let me = client.local_addr().unwrap();
    let big = options("UDP", me, "big").replace(
        "Max-Forwards: 70\r\n",
        &format!("X-Pad: {}\r\nMax-Forwards: 70\r\n", "a".repeat(2000)),
    );
    client.send_to(big.as_bytes(), h.addr(TransportKind::Udp, false)).await.unwrap();
    let resp = udp_response(&client).await;
    assert_eq!(resp.status.code(), 513);
    assert_eq!(header(&resp, "Call-ID"), "big");
    h.stop().await;
}

#[tokio::test]
async fn guard_hook_drops_before_parsing() {
    let blocked = std::sync::Arc::new(std::sync::Mutex::new(None::<SocketAddr>));
    let b = blocked.clone();
    let h = start_with(loopback_config(), Tu::Answer, move |builder| {
        builder.guard(move |src: SocketAddr, kind: TransportKind| {
            kind != TransportKind::Udp || *b.lock().unwrap() != Some(src)
        })
    })
    .await;
    let server = h.addr(TransportKind::Udp, false);
    let bad = udp_client(false).await;
    let good = udp_client(false).await;
    *blocked.lock().unwrap() = Some(bad.local_addr().unwrap());
    bad.send_to(options("UDP", bad.local_addr().unwrap(), "blocked").as_bytes(), server)
        .await
        .unwrap();
    good.send_to(options("UDP", good.local_addr().unwrap(), "ok").as_bytes(), server)
        .await
        .unwrap();
    assert_eq!(header(&udp_response(&good).await, "Call-ID"), "ok");
    eventually("the blocked datagram is counted", || h.transports.stats().guard_dropped == 1).await;
    let mut buf = [0u8; 16];
    assert!(bad.try_recv_from(&mut buf).is_err(), "no answer to the blocked source");
    assert_eq!(h.transports.stats().received, 1);
    h.stop().await;
}

#[tokio::test]
async fn full_inbound_queue_drops_udp_and_counts() {
    let config = TransportConfig { inbound_queue: 2, ..loopback_config() };
    let mut h = start_with(config, Tu::Stalled, |b| b).await;
    let client = udp_client(false).await;
    let me = client.local_addr().unwrap();
    let server = h.addr(TransportKind::Udp, false);
    for i in 0..5 {
        client.send_to(options("UDP", me, &format!("q{i}")).as_bytes(), server).await.unwrap();
    }
    eventually("five datagrams processed", || {
        let s = h.transports.stats();
        s.received + s.queue_full_dropped == 5
    })
    .await;
    let s = h.transports.stats();
    assert_eq!((s.received, s.queue_full_dropped), (2, 3));
    let mut rx = h.stalled.take().unwrap();
    let first = rx.recv().await.unwrap();
    assert_eq!(first.message.headers().call_id().unwrap(), "q0");
    h.stop().await;
}

#[tokio::test]
async fn core_sends_requests_over_udp() {
    let h = start(loopback_config()).await;
    let peer = udp_client(false).await;
    let dest = peer.local_addr().unwrap();
    let req = request("OPTIONS", "UDP", "127.0.0.1:5060", "out-1", "");
    let flow = h.transports.send(Outbound::new(TransportKind::Udp, dest, req.clone())).unwrap();
    let (bytes, from) = udp_recv(&peer).await;
    assert_eq!(from, h.addr(TransportKind::Udp, false));
    assert!(matches!(Message::parse(&bytes).unwrap(), Message::Request(_)));

    // Over a chosen UDP flow (the IPv4 socket), and the errors a caller can get.
    let on_flow = Outbound::new(TransportKind::Udp, dest, req.clone()).on_flow(flow);
    assert_eq!(h.transports.send(on_flow).unwrap(), flow);
    udp_recv(&peer).await;
    let as_tcp = Outbound::new(TransportKind::Tcp, dest, req.clone()).on_flow(flow);
    assert!(matches!(
        h.transports.send(as_tcp),
        Err(TransportError::FlowKindMismatch { actual: TransportKind::Udp, .. })
    ));
    let ws = Outbound::new(TransportKind::Ws, dest, req.clone());
    assert!(matches!(h.transports.send(ws), Err(TransportError::CannotConnect(TransportKind::Ws))));
    h.stop().await;

    let config = TransportConfig {
        udp: vec!["127.0.0.1:0".parse().unwrap()],
        ..TransportConfig::without_listeners()
    };
    let h = start(config).await;
    let v6_dest: SocketAddr = "[::1]:5060".parse().unwrap();
    let out = Outbound::new(TransportKind::Udp, v6_dest, "x");
    assert!(matches!(h.transports.send(out), Err(TransportError::NoSocket { .. })));
    h.stop().await;
}

#[tokio::test]
async fn several_sockets_per_address_share_the_port() {
    let config = TransportConfig {
        udp: vec!["127.0.0.1:0".parse().unwrap()],
        udp_sockets_per_addr: 3,
        ..TransportConfig::without_listeners()
    };
    let h = start(config).await;
    let server = h.addr(TransportKind::Udp, false);
    // Several clients (different source ports) are spread by the kernel; all answered.
    for i in 0..12 {
        let c = udp_client(false).await;
        let me = c.local_addr().unwrap();
        c.send_to(options("UDP", me, &format!("rp{i}")).as_bytes(), server).await.unwrap();
        let resp = udp_response(&c).await;
        assert_eq!(header(&resp, "Call-ID"), format!("rp{i}"));
    }
    h.stop().await;
}

#[tokio::test]
async fn bind_errors_name_the_listener() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let config = TransportConfig { udp: vec![addr], ..TransportConfig::without_listeners() };
    let err = Transports::builder(config)
        .bind(tokio_util::sync::CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Bind { kind: TransportKind::Udp, .. }));
    assert!(err.to_string().contains(&addr.to_string()), "{err}");

    let config = TransportConfig {
        tls: vec!["127.0.0.1:0".parse().unwrap()],
        ..TransportConfig::without_listeners()
    };
    let err = Transports::builder(config)
        .bind(tokio_util::sync::CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::TlsNotConfigured));
}
