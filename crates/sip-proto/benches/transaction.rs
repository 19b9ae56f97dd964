//! Server non-INVITE transaction throughput: a REGISTER arrives, the TU answers 200, the
//! transaction terminates (Timer J fired on UDP; at once on TCP). Message parsing is not
//! measured (each iteration gets a parsed request with a fresh branch); building and
//! printing the response is.
//!
//! Run: `cargo bench -p ringfence-sip-proto --bench transaction`

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ringfence_sip_proto::transaction::{Config, Event, Peer, TransactionLayer, Transport};
use ringfence_sip_types::{Message, Request, Response};

const REGISTER: &[u8] = b"REGISTER sip:pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@pbx.example.com>\r\n\
From: Bob <sip:bob@pbx.example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:bob@192.0.2.10>\r\n\
Expires: 7200\r\n\
Content-Length: 0\r\n\r\n";

fn one_transaction(layer: &mut TransactionLayer, now: Instant, msg: Message, src: Peer) {
    layer.handle_incoming(now, msg, src).expect("valid request");
    let Some(Event::Request { tx, request, .. }) = layer.poll_event() else {
        panic!("no request event")
    };
    layer.respond(now, tx, Response::from_request(&request, 200)).expect("respond");
    let out = layer.poll_transmit().expect("response sent");
    std::hint::black_box(out);
    if src.transport == Transport::Udp {
        layer.handle_timeout(now + Duration::from_secs(32));
    }
    while layer.poll_event().is_some() {}
    assert!(layer.is_empty());
}

fn bench(c: &mut Criterion) {
    let template = Request::parse(REGISTER).expect("template parses");
    let mut g = c.benchmark_group("server_non_invite");
    g.throughput(Throughput::Elements(1));
    for transport in [Transport::Udp, Transport::Tcp] {
        let src = Peer::new("192.0.2.10:5060".parse().expect("addr"), transport);
        let mut layer = TransactionLayer::new(Config::default());
        let now = Instant::now();
        let mut n = 0u64;
        g.bench_function(format!("create_respond_terminate_{transport}"), |b| {
            b.iter_batched(
                || {
                    n += 1;
                    let mut req = template.clone();
                    let via =
                        format!("SIP/2.0/{transport} 192.0.2.10:5060;branch=z9hG4bK{n:016x};rport");
                    req.headers.set("Via", &via);
                    Message::Request(req)
                },
                |msg| one_transaction(&mut layer, now, msg, src),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
