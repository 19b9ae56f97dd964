//! Connection limits, timeouts, backpressure and graceful shutdown.

use crate::transport_support;

use std::net::SocketAddr;
use std::time::Duration;

use ringfence_server::transport::{Outbound, TransportConfig, TransportError, TransportKind};
use ringfence_sip_types::Limits;
use ringfence_sip_types::framing::Framed;
use tokio::net::{TcpSocket, TcpStream};
use transport_support::*;

fn tcp_only() -> TransportConfig {
    TransportConfig {
        tcp: vec!["127.0.0.1:0".parse().unwrap()],
        ..TransportConfig::without_listeners()
    }
}

async fn connect_from(src: &str, server: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{src}:0").parse().unwrap()).unwrap();
    sock.connect(server).await.unwrap()
}

/// Connects and proves the connection is served with one OPTIONS round trip.
async fn served(src: &str, server: SocketAddr, call_id: &str) -> TcpStream {
    let mut s = connect_from(src, server).await;
    let me = s.local_addr().unwrap();
    write(&mut s, options("TCP", me, call_id).as_bytes()).await;
    let resp = StreamReader::default().response(&mut s).await;
    assert_eq!(header(&resp, "Call-ID"), call_id);
    s
}

#[tokio::test]
async fn per_ip_connection_cap_refuses_only_that_ip() {
    let config = TransportConfig { max_connections_per_ip: 2, ..tcp_only() };
    let h = start(config).await;
    let server = h.addr(TransportKind::Tcp, false);
    let a = served("127.0.0.1", server, "a").await;
    let _b = served("127.0.0.1", server, "b").await;
    let mut refused = connect_from("127.0.0.1", server).await;
    expect_closed(&mut refused).await;
    assert_eq!(h.transports.stats().connections_refused, 1);
    // Another address is not affected.
    let _other = served("127.0.0.2", server, "other").await;
    // A slot freed on 127.0.0.1 can be used again.
    drop(a);
    eventually("slot released", || h.transports.stats().connections_open == 2).await;
    let _c = served("127.0.0.1", server, "c").await;
    let s = h.transports.stats();
    assert_eq!((s.connections_accepted, s.connections_refused), (4, 1));
    h.stop().await;
}

#[tokio::test]
async fn global_connection_cap() {
    let config = TransportConfig { max_connections: 2, ..tcp_only() };
    let h = start(config).await;
    let server = h.addr(TransportKind::Tcp, false);
    let _a = served("127.0.0.1", server, "a").await;
    let _b = served("127.0.0.2", server, "b").await;
    let mut refused = connect_from("127.0.0.3", server).await;
    expect_closed(&mut refused).await;
    assert_eq!(h.transports.stats().connections_refused, 1);
    // Outgoing connections count too.
    let out = Outbound::new(TransportKind::Tcp, "127.0.0.1:9".parse().unwrap(), "x");
    assert!(matches!(h.transports.send(out), Err(TransportError::ConnectionLimit)));
    h.stop().await;
}

#[tokio::test]
async fn guard_refuses_connections_before_accepting() {
    let guard = |src: SocketAddr, kind: TransportKind| {
        !(kind == TransportKind::Tcp && src.ip() == std::net::Ipv4Addr::new(127, 0, 0, 2))
    };
    let h = start_with(tcp_only(), Tu::Answer, move |b| b.guard(guard)).await;
    let server = h.addr(TransportKind::Tcp, false);
    let mut denied = connect_from("127.0.0.2", server).await;
    expect_closed(&mut denied).await;
    let _allowed = served("127.0.0.1", server, "allowed").await;
    let s = h.transports.stats();
    assert_eq!((s.guard_dropped, s.connections_accepted), (1, 1));
    h.stop().await;
}

#[tokio::test]
async fn idle_connection_is_closed() {
    let config = TransportConfig { idle_timeout: Duration::from_secs(1), ..tcp_only() };
    let h = start(config).await;
    let mut s = served("127.0.0.1", h.addr(TransportKind::Tcp, false), "idle").await;
    expect_closed(&mut s).await;
    eventually("idle close counted", || h.transports.stats().connections_idle_closed == 1).await;
    h.stop().await;
}

#[tokio::test]
async fn rfc5626_keepalive_pings_count_as_traffic() {
    let config = TransportConfig { idle_timeout: Duration::from_secs(2), ..tcp_only() };
    let h = start(config).await;
    let server = h.addr(TransportKind::Tcp, false);
    let mut s = connect_from("127.0.0.1", server).await;
    let me = s.local_addr().unwrap();
    let mut reader = StreamReader::default();
    // Pings every 200 ms for three seconds, longer than the idle timeout.
    for _ in 0..15 {
        write(&mut s, b"\r\n\r\n").await;
        assert_eq!(reader.next(&mut s).await, Some(Framed::Pong));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    write(&mut s, options("TCP", me, "still-open").as_bytes()).await;
    assert_eq!(header(&reader.response(&mut s).await, "Call-ID"), "still-open");
    assert_eq!(h.transports.stats().connections_idle_closed, 0);
    h.stop().await;
}

#[tokio::test]
async fn slow_reader_is_disconnected_instead_of_buffering() {
    let config = TransportConfig {
        limits: Limits { max_message_size: 4096, ..Limits::DEFAULT },
        write_queue_bytes: 8192,
        ..tcp_only()
    };
    let mut h = start(config).await;
    let mut s = served("127.0.0.1", h.addr(TransportKind::Tcp, false), "slow").await;
    let flow = h.next_seen().await.flow;
    // The client stops reading; the core keeps sending 3 KB requests on its flow.
    let filler = format!("{}X-Fill: {}\r\n\r\n", "NOTIFY sip:a@b SIP/2.0\r\n", "f".repeat(3000));
    let bytes = bytes::Bytes::from(filler);
    let mut result = Ok(flow);
    for _ in 0..100_000 {
        let out = Outbound::new(TransportKind::Tcp, "127.0.0.1:9".parse().unwrap(), bytes.clone())
            .on_flow(flow);
        result = h.transports.send(out);
        if result.is_err() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(matches!(result, Err(TransportError::QueueFull(f)) if f == flow), "{result:?}");
    assert_eq!(h.transports.stats().connections_slow_closed, 1);
    expect_closed(&mut s).await;
    h.stop().await;
}

#[tokio::test]
async fn stream_backpressure_waits_instead_of_dropping() {
    let config = TransportConfig { inbound_queue: 1, ..tcp_only() };
    let mut h = start_with(config, Tu::Stalled, |b| b).await;
    let mut s = connect_from("127.0.0.1", h.addr(TransportKind::Tcp, false)).await;
    let me = s.local_addr().unwrap();
    for i in 0..3 {
        write(&mut s, options("TCP", me, &format!("bp{i}")).as_bytes()).await;
    }
    eventually("first message queued", || h.transports.stats().received == 1).await;
    let mut rx = h.stalled.take().unwrap();
    for i in 0..3 {
        let m = tokio::time::timeout(DEADLINE, rx.recv()).await.unwrap().unwrap();
        assert_eq!(m.message.headers().call_id().unwrap(), format!("bp{i}"));
    }
    let stats = h.transports.stats();
    assert_eq!((stats.received, stats.queue_full_dropped), (3, 0));
    h.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_flushes_closes_and_finishes() {
    let config = TransportConfig { udp: vec!["127.0.0.1:0".parse().unwrap()], ..tcp_only() };
    let mut h = start(config).await;
    let tcp = h.addr(TransportKind::Tcp, false);
    let udp = h.addr(TransportKind::Udp, false);
    let mut s = served("127.0.0.1", tcp, "before").await;
    let flow = h.next_seen().await.flow;

    // Queued just before shutdown: still delivered, then the connection closes.
    let notify = request("NOTIFY", "TCP", "127.0.0.1:5060", "last-words", "");
    let out = Outbound::new(TransportKind::Tcp, tcp, notify).on_flow(flow);
    h.transports.send(out).unwrap();
    h.shutdown.cancel();
    tokio::time::timeout(DEADLINE, h.transports.closed()).await.expect("closed in time");

    let mut reader = StreamReader::default();
    assert_eq!(reader.request(&mut s).await.call_id().unwrap(), "last-words");
    assert_eq!(reader.next(&mut s).await, None, "closed after the flush");
    assert!(TcpStream::connect(tcp).await.is_err(), "listener closed");
    let probe = udp_client(false).await;
    probe.connect(udp).await.unwrap();
    probe.send(b"\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 8];
    let r = tokio::time::timeout(DEADLINE, probe.recv(&mut buf)).await.expect("ICMP error in time");
    assert!(r.is_err(), "UDP port closed");

    // The inbound channel closed, so the TU's loop ended; sending is refused.
    tokio::time::timeout(DEADLINE, h.tu.take().unwrap()).await.unwrap().unwrap();
    let out = Outbound::new(TransportKind::Udp, udp, "x");
    assert!(matches!(h.transports.send(out), Err(TransportError::ShuttingDown)));
    assert_eq!(h.transports.stats().connections_open, 0);
}
