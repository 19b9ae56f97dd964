//! Shared test harness: transports on loopback ephemeral ports, a test TU that answers
//! every request with 200 OK through `Transports::send`, and raw-wire client helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use ringfence_server::transport::{
    Inbound, Outbound, TransportConfig, TransportKind, Transports, TransportsBuilder, tls,
};
use ringfence_sip_types::framing::{Framed, StreamFramer};
use ringfence_sip_types::{Limits, Message, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Upper bound for anything a test waits for; reaching it fails the test.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

/// Listeners on 127.0.0.1:0 and [::1]:0 for every transport.
pub fn loopback_config() -> TransportConfig {
    let v4: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let v6: SocketAddr = "[::1]:0".parse().unwrap();
    TransportConfig {
        udp: vec![v4, v6],
        tcp: vec![v4, v6],
        tls: vec![v4, v6],
        ..TransportConfig::default()
    }
}

/// How the test TU behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tu {
    /// Answer every request except ACK with 200 OK.
    Answer,
    /// Never read the inbound queue.
    Stalled,
}

pub struct Harness {
    pub transports: Transports,
    pub shutdown: CancellationToken,
    /// Every message the TU received, in order.
    pub seen: mpsc::UnboundedReceiver<Inbound>,
    /// The certificate the TLS listeners present (PEM).
    pub cert_pem: String,
    /// The inbound receiver when the TU is stalled.
    pub stalled: Option<mpsc::Receiver<Inbound>>,
    pub tu: Option<tokio::task::JoinHandle<()>>,
}

pub fn test_cert() -> (String, String) {
    tls::self_signed(&["127.0.0.1", "::1", "localhost"]).unwrap()
}

pub async fn start(config: TransportConfig) -> Harness {
    start_with(config, Tu::Answer, |b| b).await
}

pub async fn start_with(
    config: TransportConfig,
    tu: Tu,
    customise: impl FnOnce(TransportsBuilder) -> TransportsBuilder,
) -> Harness {
    init_tracing();
    let (cert, key) = test_cert();
    let server = tls::server_config(cert.as_bytes(), key.as_bytes()).unwrap();
    let shutdown = CancellationToken::new();
    let builder = customise(Transports::builder(config).tls_server(server));
    let (transports, rx) = builder.bind(shutdown.clone()).await.unwrap();
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let (tu_task, stalled) = match tu {
        Tu::Answer => (Some(tokio::spawn(test_tu(transports.clone(), rx, seen_tx))), None),
        Tu::Stalled => (None, Some(rx)),
    };
    Harness { transports, shutdown, seen, cert_pem: cert, stalled, tu: tu_task }
}

/// The test TU: answers requests with 200 OK over the flow they came on, adding
/// `X-Source`, `X-Flow` and `X-Kind` so tests can check what the transport reported.
async fn test_tu(
    transports: Transports,
    mut rx: mpsc::Receiver<Inbound>,
    seen: mpsc::UnboundedSender<Inbound>,
) {
    while let Some(inbound) = rx.recv().await {
        if let Message::Request(req) = &inbound.message
            && req.method.as_str() != "ACK"
        {
            let mut resp = Response::from_request(req, 200);
            resp.headers.push("X-Source", &inbound.source.to_string());
            resp.headers.push("X-Flow", &inbound.flow.get().to_string());
            resp.headers.push("X-Kind", inbound.kind.via_token());
            let out = Outbound::response_to(&inbound, resp.to_bytes());
            transports.send(out).expect("the test TU's response is sent");
        }
        let _ = seen.send(inbound);
    }
}

impl Harness {
    pub fn addr(&self, kind: TransportKind, v6: bool) -> SocketAddr {
        self.transports
            .local_addrs()
            .into_iter()
            .find(|(k, a)| *k == kind && a.is_ipv6() == v6)
            .map(|(_, a)| a)
            .expect("listener bound")
    }

    /// The next message the TU saw.
    pub async fn next_seen(&mut self) -> Inbound {
        tokio::time::timeout(DEADLINE, self.seen.recv())
            .await
            .expect("the TU received a message in time")
            .expect("TU running")
    }

    pub fn client_tls(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(tls::client_config(self.cert_pem.as_bytes()).unwrap())
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(DEADLINE, self.transports.closed())
            .await
            .expect("transports closed in time");
    }
}

/// An OPTIONS request as a client at `sent_by` would send it.
pub fn options(transport: &str, sent_by: SocketAddr, call_id: &str) -> String {
    request("OPTIONS", transport, &sent_by.to_string(), call_id, ";rport")
}

/// A request with a chosen top Via sent-by text and extra Via parameters.
pub fn request(
    method: &str,
    transport: &str,
    sent_by: &str,
    call_id: &str,
    via_params: &str,
) -> String {
    format!(
        "{method} sip:tu@example.com SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {sent_by};branch=z9hG4bK-{call_id}{via_params}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:tester@example.com>;tag=a1\r\n\
         To: <sip:tu@example.com>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

pub async fn udp_client(v6: bool) -> UdpSocket {
    let addr = if v6 { "[::1]:0" } else { "127.0.0.1:0" };
    UdpSocket::bind(addr).await.unwrap()
}

/// Receives one datagram, failing the test if none arrives before the deadline.
pub async fn udp_recv(sock: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65536];
    let (n, from) = tokio::time::timeout(DEADLINE, sock.recv_from(&mut buf))
        .await
        .expect("a datagram arrived in time")
        .unwrap();
    buf.truncate(n);
    (buf, from)
}

pub async fn udp_response(sock: &UdpSocket) -> Response {
    let (bytes, _) = udp_recv(sock).await;
    Response::parse(&bytes).expect("a SIP response")
}

/// Reads frames from a stream with a client-side framer.
pub struct StreamReader {
    framer: StreamFramer,
}

impl Default for StreamReader {
    fn default() -> Self {
        StreamReader { framer: StreamFramer::client(Limits::DEFAULT) }
    }
}

impl StreamReader {
    /// The next frame (message or pong); `None` at end of stream.
    pub async fn next<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Option<Framed> {
        let mut buf = [0u8; 4096];
        loop {
            match self.framer.next().expect("server sends well-framed data") {
                Framed::Incomplete => {}
                other => return Some(other),
            }
            let n = tokio::time::timeout(DEADLINE, s.read(&mut buf))
                .await
                .expect("data or EOF arrived in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.framer.feed(&buf[..n]).unwrap();
        }
    }

    pub async fn response<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Response {
        match self.next(s).await {
            Some(Framed::Message(Message::Response(r))) => r,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    pub async fn request<S: AsyncRead + Unpin>(
        &mut self,
        s: &mut S,
    ) -> ringfence_sip_types::Request {
        match self.next(s).await {
            Some(Framed::Message(Message::Request(r))) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }
}

/// Reads until the peer closes the connection (EOF or reset), discarding data.
pub async fn expect_closed<S: AsyncRead + Unpin>(s: &mut S) {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(DEADLINE, s.read(&mut buf)).await {
            Err(_) => panic!("connection still open at the deadline"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
        }
    }
}

pub async fn write<S: AsyncWrite + Unpin>(s: &mut S, data: &[u8]) {
    s.write_all(data).await.unwrap();
    s.flush().await.unwrap();
}

/// Polls `cond` until it holds, failing the test at the deadline.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.header_str(name).unwrap_or_else(|| panic!("response has {name}"))
}
