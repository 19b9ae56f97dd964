//! Parser throughput: parse, and parse + print, of a typical REGISTER (with digest
//! Authorization) and an INVITE with SDP. Run with
//! `cargo bench -p ringfence-sip-types --bench parse`.
//!
//! With `SIP_PARSE_LOOP=<n>` set the binary skips criterion and runs one operation `n`
//! times in a plain loop, for instruction counting under callgrind (which is
//! independent of machine load). `SIP_PARSE_MSG` picks `register` (default),
//! `invite_sdp` or a file holding one message; `SIP_PARSE_OP` picks `parse`,
//! `parse_print` (default), `parse_typed_access` or `parse_borrowed_access`.
//! Instructions per operation are the difference between two runs with different `n`,
//! divided by the difference in `n` (start-up cancels out):
//!
//! ```text
//! cargo bench -p ringfence-sip-types --bench parse --no-run
//! SIP_PARSE_LOOP=1000  valgrind --tool=callgrind target/release/deps/parse-<hash>
//! SIP_PARSE_LOOP=11000 valgrind --tool=callgrind target/release/deps/parse-<hash>
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use ringfence_sip_types::Message;

const REGISTER: &[u8] = b"REGISTER sip:pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: \"Alice\" <sip:alice@pbx.example.com>\r\n\
From: \"Alice\" <sip:alice@pbx.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600\r\n\
Authorization: Digest username=\"alice\", realm=\"pbx.example.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:pbx.example.com\", response=\"e6f99bf42d6a4b0b7b6e4e1a8b4ad5c4\", algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n\
User-Agent: Ringfence-Phone/1.0\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n";

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9;rport\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=tls>\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE\r\n\
Supported: replaces, timer\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 142\r\n\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n";

fn bench(c: &mut Criterion) {
    for (name, msg) in [("register", REGISTER), ("invite_sdp", INVITE)] {
        assert!(Message::parse(msg).is_ok(), "{name} sample must parse");
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(1));
        g.bench_function("parse", |b| b.iter(|| Message::parse(black_box(msg)).unwrap()));
        let mut out = Vec::with_capacity(2048);
        g.bench_function("parse_print", |b| {
            b.iter(|| {
                let m = Message::parse(black_box(msg)).unwrap();
                out.clear();
                m.write_to(&mut out);
                black_box(out.len())
            })
        });
        let parsed = Message::parse(msg).unwrap();
        g.bench_function("print", |b| {
            b.iter(|| {
                out.clear();
                black_box(&parsed).write_to(&mut out);
                black_box(out.len())
            })
        });
        g.bench_function("parse_typed_access", |b| {
            b.iter(|| {
                let m = Message::parse(black_box(msg)).unwrap();
                let h = m.headers();
                black_box((
                    h.via_top().unwrap(),
                    h.cseq().unwrap(),
                    h.from().unwrap(),
                    h.call_id().unwrap().len(),
                ))
            })
        });
        g.bench_function("parse_borrowed_access", |b| {
            b.iter(|| {
                let m = Message::parse(black_box(msg)).unwrap();
                let h = m.headers();
                black_box((
                    h.via_branch().unwrap().map(str::len),
                    h.cseq().unwrap(),
                    h.from_tag().unwrap().map(str::len),
                    h.to_tag().unwrap().map(str::len),
                    h.call_id().unwrap().len(),
                ))
            })
        });
        g.finish();
    }
}

/// One operation of the given kind; returns something derived from the result so the
/// work cannot be optimised away.
fn op(kind: &str, msg: &[u8], out: &mut Vec<u8>) -> usize {
    let m = Message::parse(black_box(msg)).unwrap();
    match kind {
        "parse" => m.body().len(),
        "parse_print" => {
            out.clear();
            m.write_to(out);
            out.len()
        }
        "parse_typed_access" => {
            let h = m.headers();
            let v = h.via_top().unwrap();
            let c = h.cseq().unwrap();
            let f = h.from().unwrap();
            v.params.len() + c.seq as usize + f.params.len() + h.call_id().unwrap().len()
        }
        "parse_borrowed_access" => {
            let h = m.headers();
            let len = |t: Option<&str>| t.map_or(0, str::len);
            len(h.via_branch().unwrap())
                + h.cseq().unwrap().seq as usize
                + len(h.from_tag().unwrap())
                + len(h.to_tag().unwrap())
                + h.call_id().unwrap().len()
        }
        other => panic!("unknown SIP_PARSE_OP {other}"),
    }
}

/// The plain loop for callgrind (see the module docs).
fn counting_loop(n: u64) {
    let file;
    let msg = match std::env::var("SIP_PARSE_MSG").as_deref() {
        Ok("invite_sdp") => INVITE,
        Ok("register") | Err(_) => REGISTER,
        Ok(path) => {
            file = std::fs::read(path).unwrap_or_else(|e| panic!("SIP_PARSE_MSG {path}: {e}"));
            &file[..]
        }
    };
    let kind = std::env::var("SIP_PARSE_OP").unwrap_or_else(|_| "parse_print".to_owned());
    let mut out = Vec::with_capacity(2048);
    let mut acc = 0usize;
    for _ in 0..n {
        acc = acc.wrapping_add(op(&kind, msg, &mut out));
    }
    black_box(acc);
}

fn main() {
    if let Some(n) = std::env::var("SIP_PARSE_LOOP").ok().and_then(|n| n.parse().ok()) {
        counting_loop(n);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
