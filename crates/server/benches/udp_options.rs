//! UDP receive + parse + respond throughput on loopback: OPTIONS in, 200 OK out.
//!
//! A test TU answers every OPTIONS through `Transports::send`; client tasks keep a
//! window of requests in flight and count answers. Clients and server share the
//! machine, so the figure is for the whole loop, not the server alone.
//!
//! ```text
//! cargo bench -p ringfence-server --bench udp_options            # 1 and 2 sockets
//! RINGFENCE_BENCH_SECS=10 cargo bench -p ringfence-server --bench udp_options
//! ```
//! Without `--bench` (as under `cargo test --benches`) it runs for a fraction of a second.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ringfence_server::transport::{Inbound, Outbound, TransportConfig, TransportKind, Transports};
use ringfence_sip_types::{Message, Response};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const CLIENTS: usize = 4;
const WINDOW: usize = 32;

fn options(sent_by: SocketAddr, n: u64) -> Vec<u8> {
    format!(
        "OPTIONS sip:bench@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {sent_by};branch=z9hG4bK-{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:load@example.com>;tag=4711\r\n\
         To: <sip:bench@example.com>\r\n\
         Call-ID: bench-{n}@example.com\r\n\
         CSeq: 1 OPTIONS\r\n\
         User-Agent: ringfence-bench\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

async fn tu(transports: Transports, mut rx: mpsc::Receiver<Inbound>) {
    while let Some(inbound) = rx.recv().await {
        if let Message::Request(req) = &inbound.message {
            let resp = Response::from_request(req, 200).with_to_tag("b3nch").expect("To parses");
            let _ = transports.send(Outbound::response_to(&inbound, resp.to_bytes()));
        }
    }
}

async fn client(
    server: SocketAddr,
    answered: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = sock.local_addr().unwrap();
    let msgs: Vec<Vec<u8>> = (0..WINDOW as u64).map(|n| options(me, n)).collect();
    for m in &msgs {
        sock.send_to(m, server).await.unwrap();
    }
    let mut buf = vec![0u8; 4096];
    let mut next = 0usize;
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(200), sock.recv_from(&mut buf)).await {
            Ok(Ok(_)) => {
                answered.fetch_add(1, Ordering::Relaxed);
                sock.send_to(&msgs[next], server).await.unwrap();
            }
            Ok(Err(e)) => panic!("client receive failed: {e}"),
            Err(_) => {
                // Lost on the way (full socket buffer): refill the window.
                lost.fetch_add(1, Ordering::Relaxed);
                for m in &msgs {
                    sock.send_to(m, server).await.unwrap();
                }
            }
        }
        next = (next + 1) % WINDOW;
    }
}

fn run(sockets: usize, secs: f64) -> (f64, u64) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let config = TransportConfig {
            udp: vec!["127.0.0.1:0".parse().unwrap()],
            udp_sockets_per_addr: sockets,
            inbound_queue: 8192,
            ..TransportConfig::without_listeners()
        };
        let shutdown = CancellationToken::new();
        let (transports, rx) = Transports::builder(config).bind(shutdown.clone()).await.unwrap();
        let server = transports.local_addr(TransportKind::Udp).unwrap();
        tokio::spawn(tu(transports.clone(), rx));
        let answered = Arc::new(AtomicU64::new(0));
        let lost = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| tokio::spawn(client(server, answered.clone(), lost.clone(), stop.clone())))
            .collect();
        tokio::time::sleep(Duration::from_secs_f64(secs / 5.0)).await; // warm-up
        let (a0, t0) = (answered.load(Ordering::Relaxed), Instant::now());
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        let (a1, elapsed) = (answered.load(Ordering::Relaxed), t0.elapsed());
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.await.unwrap();
        }
        shutdown.cancel();
        transports.closed().await;
        ((a1 - a0) as f64 / elapsed.as_secs_f64(), lost.load(Ordering::Relaxed))
    })
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let secs = match std::env::var("RINGFENCE_BENCH_SECS") {
        Ok(s) => s.parse().expect("RINGFENCE_BENCH_SECS is a number"),
        Err(_) if benching => 5.0,
        Err(_) => 0.2,
    };
    for sockets in [1, 2] {
        let (rate, lost) = run(sockets, secs);
        println!(
            "udp OPTIONS->200 loopback, {sockets} socket(s), {CLIENTS} clients x {WINDOW} in flight: \
             {rate:.0} msgs/s ({lost} window refills after loss)"
        );
    }
}
