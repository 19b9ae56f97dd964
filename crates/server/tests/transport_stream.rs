//! SIP over TCP and TLS against real sockets (RFC 3261 §18.3, RFC 5626 §3.5.1).

use crate::transport_support;

use std::net::SocketAddr;
use std::time::Duration;

use ringfence_server::transport::{
    Outbound, TransportConfig, TransportError, TransportKind, Transports, tls,
};
use ringfence_sip_types::framing::Framed;
use ringfence_sip_types::{Limits, Message};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use transport_support::*;

#[tokio::test]
async fn rfc3261_18_3_tcp_messages_split_at_arbitrary_boundaries() {
    let mut h = start(loopback_config()).await;
    for v6 in [false, true] {
        let mut s = TcpStream::connect(h.addr(TransportKind::Tcp, v6)).await.unwrap();
        s.set_nodelay(true).unwrap();
        let me = s.local_addr().unwrap();
        let mut reader = StreamReader::default();
        let msg = options("TCP", me, "split");
        // Cut the message at every boundary from 1 to 40 bytes, in turn.
        let bytes = msg.as_bytes();
        let mut at = 0;
        let mut step = 1;
        while at < bytes.len() {
            let end = (at + step).min(bytes.len());
            write(&mut s, &bytes[at..end]).await;
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
            at = end;
            step = step % 40 + 1;
        }
        let resp = reader.response(&mut s).await;
        assert_eq!(resp.status.code(), 200);
        assert_eq!(header(&resp, "X-Source"), me.to_string());
        assert_eq!(header(&resp, "X-Kind"), "TCP");
        let seen = h.next_seen().await;
        assert_eq!((seen.kind, seen.source), (TransportKind::Tcp, me));
    }
    h.stop().await;
}

#[tokio::test]
async fn several_messages_in_one_segment_and_keepalive_ping() {
    let h = start(loopback_config()).await;
    let mut s = TcpStream::connect(h.addr(TransportKind::Tcp, false)).await.unwrap();
    let me = s.local_addr().unwrap();
    let mut burst = String::new();
    for i in 0..5 {
        burst.push_str(&options("TCP", me, &format!("burst-{i}")));
    }
    burst.push_str("\r\n\r\n"); // RFC 5626 §3.5.1 ping after the messages
    write(&mut s, burst.as_bytes()).await;
    let mut reader = StreamReader::default();
    // The pong is sent by the transport at once, so it may overtake the responses,
    // which come from the core; responses keep their order.
    let mut call_ids = Vec::new();
    let mut pongs = 0;
    while call_ids.len() < 5 || pongs < 1 {
        match reader.next(&mut s).await {
            Some(Framed::Pong) => pongs += 1,
            Some(Framed::Message(Message::Response(r))) => {
                call_ids.push(r.call_id().unwrap().to_owned());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pongs, 1);
    assert_eq!(call_ids, (0..5).map(|i| format!("burst-{i}")).collect::<Vec<_>>());
    // A ping on its own, split in two writes.
    write(&mut s, b"\r\n").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    write(&mut s, b"\r\n").await;
    assert_eq!(reader.next(&mut s).await, Some(Framed::Pong));
    assert_eq!(h.transports.stats().keepalives, 2);
    h.stop().await;
}

#[tokio::test]
async fn malformed_request_on_tcp_gets_400_then_close_and_others_keep_working() {
    let h = start(loopback_config()).await;
    let server = h.addr(TransportKind::Tcp, false);
    let mut bystander = TcpStream::connect(server).await.unwrap();
    let by_me = bystander.local_addr().unwrap();
    let mut by_reader = StreamReader::default();
    write(&mut bystander, options("TCP", by_me, "before").as_bytes()).await;
    by_reader.response(&mut bystander).await;

    let mut s = TcpStream::connect(server).await.unwrap();
    let me = s.local_addr().unwrap();
    let bad = options("TCP", me, "bad-tcp").replace("Max-Forwards: 70", "Max-Forwards: many");
    write(&mut s, bad.as_bytes()).await;
    let mut reader = StreamReader::default();
    let resp = reader.response(&mut s).await;
    assert_eq!(resp.status.code(), 400);
    assert!(resp.reason.starts_with("Invalid Max-Forwards header"), "{}", resp.reason);
    assert_eq!(header(&resp, "Call-ID"), "bad-tcp");
    expect_closed(&mut s).await;

    // Garbage on a fresh connection: closed without an answer.
    let mut g = TcpStream::connect(server).await.unwrap();
    write(&mut g, b"\x16\x03\x01 not sip at all\r\n\r\n").await;
    let mut rest = Vec::new();
    tokio::time::timeout(DEADLINE, g.read_to_end(&mut rest)).await.unwrap().ok();
    assert!(rest.is_empty(), "nothing is sent back to garbage");

    // A response that does not parse: dropped, connection closed.
    let mut r = TcpStream::connect(server).await.unwrap();
    write(&mut r, b"SIP/2.0 20 OK\r\nContent-Length: 0\r\n\r\n").await;
    expect_closed(&mut r).await;

    // The bystander and a fresh connection are still served.
    write(&mut bystander, options("TCP", by_me, "after").as_bytes()).await;
    assert_eq!(header(&by_reader.response(&mut bystander).await, "Call-ID"), "after");
    let mut fresh = TcpStream::connect(server).await.unwrap();
    let fresh_me = fresh.local_addr().unwrap();
    write(&mut fresh, options("TCP", fresh_me, "fresh").as_bytes()).await;
    assert_eq!(StreamReader::default().response(&mut fresh).await.status.code(), 200);

    let s = h.transports.stats();
    assert_eq!((s.bad_requests_answered, s.malformed_dropped), (1, 2));
    assert_eq!(s.connections_malformed_closed, 3);
    h.stop().await;
}

#[tokio::test]
async fn missing_header_on_tcp_is_answered_without_closing() {
    let h = start(loopback_config()).await;
    let mut s = TcpStream::connect(h.addr(TransportKind::Tcp, false)).await.unwrap();
    let me = s.local_addr().unwrap();
    let mut reader = StreamReader::default();
    // Two From headers: framing is intact, the message is invalid (RFC 4475 §3.3.8).
    let dup = options("TCP", me, "dup")
        .replace("Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nFrom: <sip:x@example.com>;tag=2\r\n");
    write(&mut s, dup.as_bytes()).await;
    let resp = reader.response(&mut s).await;
    assert_eq!(resp.status.code(), 400);
    assert_eq!(resp.reason, "More than one From header");
    write(&mut s, options("TCP", me, "same-conn").as_bytes()).await;
    assert_eq!(header(&reader.response(&mut s).await, "Call-ID"), "same-conn");
    h.stop().await;
}

#[tokio::test]
async fn oversized_message_closes_the_stream_connection() {
    let config = TransportConfig {
        limits: Limits { max_message_size: 2048, ..Limits::DEFAULT },
        ..loopback_config()
    };
    let h = start(config).await;
    let server = h.addr(TransportKind::Tcp, false);
    let mut s = TcpStream::connect(server).await.unwrap();
    let me = s.local_addr().unwrap();
    let body = "a".repeat(4000);
    let big = options("TCP", me, "big-tcp").replace(
        "Content-Length: 0\r\n\r\n",
        &format!("Content-Length: {}\r\n\r\n{body}", body.len()),
    );
    let _ = s.write_all(big.as_bytes()).await;
    let mut reader = StreamReader::default();
    let resp = reader.response(&mut s).await;
    assert_eq!(resp.status.code(), 513);
    expect_closed(&mut s).await;

    // A head that never ends: closed without an answer once over the limit.
    let mut s = TcpStream::connect(server).await.unwrap();
    let endless = format!("OPTIONS sip:a@b SIP/2.0\r\nX-Junk: {}", "j".repeat(5000));
    let _ = s.write_all(endless.as_bytes()).await;
    expect_closed(&mut s).await;
    assert_eq!(h.transports.stats().connections_malformed_closed, 2);
    h.stop().await;
}

#[tokio::test]
async fn responses_and_requests_reuse_the_client_connection() {
    let mut h = start(loopback_config()).await;
    let mut s = TcpStream::connect(h.addr(TransportKind::Tcp, false)).await.unwrap();
    let me = s.local_addr().unwrap();
    let mut reader = StreamReader::default();
    write(&mut s, request("REGISTER", "TCP", "phone.invalid:5060", "reg", "").as_bytes()).await;
    let resp = reader.response(&mut s).await;
    let flow = h.next_seen().await.flow;
    assert_eq!(header(&resp, "X-Flow"), flow.get().to_string());

    // The core sends a request to the registered contact over the recorded flow: the
    // destination address given is unreachable, the flow wins.
    let unreachable: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let invite = request("INVITE", "TCP", "127.0.0.1:5060", "to-contact", "");
    let out = Outbound::new(TransportKind::Tcp, unreachable, invite.clone()).on_flow(flow);
    assert_eq!(h.transports.send(out).unwrap(), flow);
    let got = reader.request(&mut s).await;
    assert_eq!(got.call_id().unwrap(), "to-contact");
    // Without a flow, a connection to the same remote address is found and reused.
    let out = Outbound::new(TransportKind::Tcp, me, invite.clone());
    assert_eq!(h.transports.send(out).unwrap(), flow);
    reader.request(&mut s).await;

    // Once the client disconnects, the flow is gone and the caller is told so.
    drop(s);
    let t = h.transports.clone();
    let invite_b = bytes::Bytes::from(invite);
    eventually("the flow is reported gone", || {
        let out = Outbound::new(TransportKind::Tcp, unreachable, invite_b.clone()).on_flow(flow);
        matches!(t.send(out), Err(TransportError::FlowGone(f)) if f == flow)
    })
    .await;
    h.stop().await;
}

#[tokio::test]
async fn outgoing_tcp_connection_is_opened_and_its_responses_come_back_on_it() {
    let mut h = start(loopback_config()).await;
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dest = peer.local_addr().unwrap();
    let invite = request("INVITE", "TCP", "127.0.0.1:5060", "outgoing", "");
    let flow = h.transports.send(Outbound::new(TransportKind::Tcp, dest, invite.clone())).unwrap();
    // A second message before the connection is up queues on the same flow.
    let again = Outbound::new(TransportKind::Tcp, dest, invite.clone());
    assert_eq!(h.transports.send(again).unwrap(), flow);
    let (mut conn, _) = tokio::time::timeout(DEADLINE, peer.accept()).await.unwrap().unwrap();
    let mut reader = StreamReader::default();
    let req = reader.request(&mut conn).await;
    assert_eq!(req.call_id().unwrap(), "outgoing");
    reader.request(&mut conn).await;
    let resp = ringfence_sip_types::Response::from_request(&req, 180);
    write(&mut conn, &resp.to_bytes()).await;
    let seen = h.next_seen().await;
    assert_eq!((seen.flow, seen.source, seen.kind), (flow, dest, TransportKind::Tcp));
    assert!(matches!(seen.message, Message::Response(ref r) if r.status.code() == 180));

    // Nobody listening: the send is accepted, the failure is counted.
    drop(peer);
    let closed_port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    h.transports.send(Outbound::new(TransportKind::Tcp, closed_port, invite)).unwrap();
    eventually("connect failure counted", || h.transports.stats().connect_failures == 1).await;
    h.stop().await;
}

#[tokio::test]
async fn rfc5630_tls_request_and_response_over_ipv4_and_ipv6() {
    let mut h = start(loopback_config()).await;
    let connector = h.client_tls();
    for (v6, name) in [(false, "127.0.0.1"), (true, "::1")] {
        let tcp = TcpStream::connect(h.addr(TransportKind::Tls, v6)).await.unwrap();
        let me = tcp.local_addr().unwrap();
        let server_name = ServerName::try_from(name).unwrap().to_owned();
        let mut s = connector.connect(server_name, tcp).await.unwrap();
        let (_, conn) = s.get_ref();
        assert!(conn.protocol_version().is_some());
        write(&mut s, b"\r\n\r\n").await;
        let mut reader = StreamReader::default();
        assert_eq!(reader.next(&mut s).await, Some(Framed::Pong));
        write(&mut s, options("TLS", me, "tls-1").as_bytes()).await;
        let resp = reader.response(&mut s).await;
        assert_eq!((resp.status.code(), header(&resp, "X-Kind")), (200, "TLS"));
        let seen = h.next_seen().await;
        assert!(seen.kind.is_secure());
        assert_eq!(seen.source, me);
    }
    h.stop().await;
}

#[tokio::test]
async fn tls_handshake_timeout_and_failure_close_the_connection() {
    let config =
        TransportConfig { tls_handshake_timeout: Duration::from_secs(1), ..loopback_config() };
    let h = start(config).await;
    let server = h.addr(TransportKind::Tls, false);
    // Silent client: closed by the handshake timeout.
    let mut silent = TcpStream::connect(server).await.unwrap();
    expect_closed(&mut silent).await;
    // Plain SIP to the TLS port: handshake failure.
    let mut plain = TcpStream::connect(server).await.unwrap();
    let me = plain.local_addr().unwrap();
    let _ = plain.write_all(options("TCP", me, "plain").as_bytes()).await;
    expect_closed(&mut plain).await;
    // A client that does not trust the certificate: handshake fails on its side.
    let (other_cert, _) = tls::self_signed(&["127.0.0.1"]).unwrap();
    let untrusting =
        tokio_rustls::TlsConnector::from(tls::client_config(other_cert.as_bytes()).unwrap());
    let tcp = TcpStream::connect(server).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
    assert!(untrusting.connect(name, tcp).await.is_err());
    eventually("three failed handshakes", || h.transports.stats().tls_handshake_failures == 3)
        .await;
    assert_eq!(h.transports.stats().received, 0);
    h.stop().await;
}

#[tokio::test]
async fn outgoing_tls_connection_verifies_the_peer_ip() {
    // A TLS peer (a second transports instance) with its own certificate.
    let peer = start(loopback_config()).await;
    let peer_addr = peer.addr(TransportKind::Tls, false);
    let client_cfg = tls::client_config(peer.cert_pem.as_bytes()).unwrap();
    let mut h = start_with(loopback_config(), Tu::Answer, |b| b.tls_client(client_cfg)).await;
    let opts = request("OPTIONS", "TLS", "127.0.0.1:5061", "tls-out", "");
    let flow = h.transports.send(Outbound::new(TransportKind::Tls, peer_addr, opts)).unwrap();
    let seen = h.next_seen().await;
    assert_eq!((seen.flow, seen.kind), (flow, TransportKind::Tls));
    assert!(matches!(seen.message, Message::Response(ref r) if r.status.code() == 200));

    // Without a client configuration, TLS cannot be opened.
    let plain = start(loopback_config()).await;
    let out = Outbound::new(TransportKind::Tls, peer_addr, "x");
    assert!(matches!(
        plain.transports.send(out),
        Err(TransportError::CannotConnect(TransportKind::Tls))
    ));
    plain.stop().await;
    h.stop().await;
    peer.stop().await;
}

#[tokio::test]
async fn transports_handle_is_cheap_and_reports_listeners() {
    let h = start(loopback_config()).await;
    let addrs = h.transports.local_addrs();
    assert_eq!(addrs.len(), 6);
    assert!(addrs.iter().all(|(_, a)| a.port() != 0));
    let kinds: Vec<_> = addrs.iter().map(|(k, _)| *k).collect();
    use TransportKind::*;
    assert_eq!(kinds, [Udp, Udp, Tcp, Tcp, Tls, Tls]);
    let clone: Transports = h.transports.clone();
    assert_eq!(clone.local_addr(Tls), Some(addrs[4].1));
    h.stop().await;
}

#[tokio::test]
async fn a_refused_connection_is_reported_to_the_sender_at_once() {
    let h = start(loopback_config()).await;
    // Nothing listens here once the listener is dropped.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let opts = request("OPTIONS", "TCP", "127.0.0.1:5060", "refused", "");
    let sent = h.transports.send_tracked(Outbound::new(TransportKind::Tcp, dead, opts)).unwrap();
    let connecting = sent.connecting.expect("a new connection is opening");
    let why = connecting.failure().await.expect("the connection fails to open");
    assert!(why.to_lowercase().contains("refused"), "{why}");
    assert_eq!(h.transports.stats().connect_failures, 1);
    h.stop().await;
}

#[tokio::test]
async fn outgoing_tls_verifies_the_name_registered_for_the_destination() {
    // A TLS peer whose certificate names 127.0.0.1 and localhost.
    let peer = start(loopback_config()).await;
    let peer_addr = peer.addr(TransportKind::Tls, false);
    let trusted = tls::client_config(peer.cert_pem.as_bytes()).unwrap();
    let mut h = start(loopback_config()).await;
    let opts = || request("OPTIONS", "TLS", "127.0.0.1:5061", "tls-name", "");

    // Another name: the handshake fails, and the sender learns why.
    h.transports
        .set_tls_peer(peer_addr, tls::TlsPeer::new("carrier.example", trusted.clone()).unwrap());
    let sent =
        h.transports.send_tracked(Outbound::new(TransportKind::Tls, peer_addr, opts())).unwrap();
    let why = sent.connecting.unwrap().failure().await.expect("the handshake fails");
    assert!(why.contains("TLS handshake with carrier.example failed"), "{why}");
    assert!(why.contains("invalid peer certificate"), "{why}");

    // The name the certificate holds: the connection opens and the peer answers.
    h.transports.set_tls_peer(peer_addr, tls::TlsPeer::new("localhost", trusted).unwrap());
    let sent =
        h.transports.send_tracked(Outbound::new(TransportKind::Tls, peer_addr, opts())).unwrap();
    assert_eq!(sent.connecting.unwrap().failure().await, None);
    let seen = h.next_seen().await;
    assert_eq!((seen.flow, seen.kind), (sent.flow, TransportKind::Tls));
    assert!(matches!(seen.message, Message::Response(ref r) if r.status.code() == 200));
    // The open connection is reused for the same name.
    let again =
        h.transports.send_tracked(Outbound::new(TransportKind::Tls, peer_addr, opts())).unwrap();
    assert_eq!(again.flow, sent.flow);
    assert!(again.connecting.is_none());
    h.stop().await;
    peer.stop().await;
}
