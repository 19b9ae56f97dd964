//! Property tests: printing a parsed message gives bytes that parse to an equal message;
//! parsing never panics on arbitrary or mutated input; stream framing does not depend
//! on how the bytes are chunked.

use proptest::prelude::*;
use ringfence_sip_types::{Framed, Limits, Message, StreamFramer, Uri};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,12}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}[a-z0-9](\\.[a-z][a-z0-9]{0,6}){0,3}",
        (any::<u8>(), any::<u8>(), any::<u8>(), 1u8..255)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
    ]
}

fn uri() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("sip"), Just("sips"), Just("SIP")],
        proptest::option::of("[a-zA-Z0-9_.!~*'()&=+$,;?/-]{1,10}|[a-z]{1,4}%[0-9A-F]{2}"),
        host(),
        proptest::option::of(1u16..),
        proptest::collection::vec(
            ("[a-z][a-z0-9-]{0,6}", proptest::option::of("[a-zA-Z0-9.:+$-]{1,8}")),
            0..3,
        ),
    )
        .prop_map(|(scheme, user, host, port, params)| {
            let mut s = format!("{scheme}:");
            if let Some(u) = user {
                s.push_str(&u);
                s.push('@');
            }
            s.push_str(&host);
            if let Some(p) = port {
                s.push_str(&format!(":{p}"));
            }
            for (n, v) in params {
                s.push(';');
                s.push_str(&n);
                if let Some(v) = v {
                    s.push('=');
                    s.push_str(&v);
                }
            }
            s
        })
}

/// White space that the grammar allows around separators, including folding.
fn lws() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(" "), Just("  "), Just("\t"), Just("\r\n "), Just(" \r\n\t")]
}

fn display_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z]{1,8}( [A-Za-z.]{1,8}){0,2} ",
        "\\PC{0,12}".prop_map(|s| {
            let mut q = String::from("\"");
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    q.push('\\');
                }
                if c != '\r' && c != '\n' {
                    q.push(c);
                }
            }
            q.push_str("\" ");
            q
        }),
    ]
}

fn name_addr() -> impl Strategy<Value = String> {
    (display_name(), uri(), lws(), proptest::option::of(token())).prop_map(|(d, u, w, tag)| {
        let mut s = format!("{d}<{u}>");
        if let Some(t) = tag {
            s.push_str(&format!("{w};{w}tag{w}={w}{t}"));
        }
        s
    })
}

fn via() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("UDP"), Just("TCP"), Just("TLS"), Just("WSS")],
        host(),
        proptest::option::of(1u16..),
        token(),
        lws(),
        any::<bool>(),
    )
        .prop_map(|(t, h, p, b, w, rport)| {
            let port = p.map(|p| format!(":{p}")).unwrap_or_default();
            let rport = if rport { ";rport" } else { "" };
            format!("SIP{w}/{w}2.0{w}/{w}{t} {h}{port}{w};{w}branch={w}z9hG4bK{b}{rport}")
        })
}

fn extension_header() -> impl Strategy<Value = (String, String)> {
    ("X-[A-Za-z0-9-]{1,10}", "[^\r\n\0]{0,30}").prop_map(|(n, v)| (n, v.trim().to_owned()))
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        (
            any::<bool>(),
            prop_oneof![
                Just("INVITE".to_owned()),
                Just("REGISTER".to_owned()),
                Just("OPTIONS".to_owned()),
                "[A-Z]{3,10}"
            ],
            uri(),
            100u16..700,
        ),
        proptest::collection::vec(via(), 1..4),
        name_addr(),
        name_addr(),
        ("[a-zA-Z0-9.!%*_+`'~()<>:\"/?{}-]{1,16}", proptest::option::of("[a-z0-9.]{1,10}")),
        any::<u32>(),
        proptest::option::of(0u8..=255),
        proptest::collection::vec(name_addr(), 0..3),
        proptest::collection::vec(extension_header(), 0..4),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |(
                (is_req, method, ruri, code),
                vias,
                from,
                to,
                (cid1, cid2),
                seq,
                mf,
                contacts,
                ext,
                body,
            )| {
                let mut m = String::new();
                if is_req {
                    m.push_str(&format!("{method} {ruri} SIP/2.0\r\n"));
                } else {
                    m.push_str(&format!("SIP/2.0 {code} Some Reason\r\n"));
                }
                for v in vias {
                    m.push_str(&format!("Via: {v}\r\n"));
                }
                m.push_str(&format!("From: {from}\r\nTo: {to}\r\n"));
                match cid2 {
                    Some(h) => m.push_str(&format!("Call-ID: {cid1}@{h}\r\n")),
                    None => m.push_str(&format!("i: {cid1}\r\n")),
                }
                m.push_str(&format!("CSeq: {seq} {method}\r\n"));
                if let Some(mf) = mf {
                    m.push_str(&format!("Max-Forwards: {mf}\r\n"));
                }
                for c in contacts {
                    m.push_str(&format!("m: {c}\r\n"));
                }
                for (n, v) in ext {
                    m.push_str(&format!("{n}: {v}\r\n"));
                }
                m.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                let mut bytes = m.into_bytes();
                bytes.extend_from_slice(&body);
                bytes
            },
        )
}

fn round_trip(msg: &Message) {
    let printed = msg.to_bytes();
    let again = Message::parse(&printed).unwrap_or_else(|e| {
        panic!("reprint does not parse ({e}):\n{}", String::from_utf8_lossy(&printed))
    });
    assert_eq!(&again, msg);
    let (a, b) = (msg.headers(), again.headers());
    assert_eq!(a.via().ok(), b.via().ok());
    assert_eq!(a.from().ok(), b.from().ok());
    assert_eq!(a.to().ok(), b.to().ok());
    assert_eq!(a.contacts().ok(), b.contacts().ok());
}

const SEEDS: &[&[u8]] = &[
    b"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport\r\nMax-Forwards: 70\r\nTo: Bob <sip:bob@example.com>\r\nFrom: Bob <sip:bob@example.com>;tag=456248\r\nCall-ID: 843817637684230@998sdasdh09\r\nCSeq: 1826 REGISTER\r\nContact: <sip:bob@192.0.2.10>;expires=3600\r\nAuthorization: Digest username=\"bob\", realm=\"example.com\", nonce=\"abc\", uri=\"sip:example.com\", response=\"0123456789abcdef0123456789abcdef\"\r\nContent-Length: 0\r\n\r\n",
    b"SIP/2.0 200 OK\r\nv: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK1;received=192.0.2.1\r\nf: \"A \\\"B\\\"\" <sips:a@b.example>;tag=1\r\nt: <tel:+1-555-0100>;tag=2\r\ni: x@y\r\nCSeq: 2 INVITE\r\nContent-Type: application/sdp\r\nl: 4\r\n\r\nv=0\r\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_messages_round_trip(bytes in message()) {
        let msg = Message::parse(&bytes).unwrap_or_else(|e| panic!("generated message rejected ({e}):\n{}", String::from_utf8_lossy(&bytes)));
        msg.headers().check_known().unwrap();
        round_trip(&msg);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(m) = Message::parse(&bytes) {
            round_trip(&m);
        }
    }

    #[test]
    fn mutated_messages_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6),
    ) {
        let mut bytes = SEEDS[seed].to_vec();
        for (idx, op, b) in edits {
            if bytes.is_empty() { break; }
            let i = idx.index(bytes.len());
            match op {
                0 => bytes[i] = b,
                1 => { bytes.insert(i, b); }
                2 => { bytes.remove(i); }
                _ => bytes.truncate(i),
            }
        }
        if let Ok(m) = Message::parse(&bytes) {
            let _ = m.headers().check_known();
            let _ = m.check_required_headers();
            round_trip(&m);
        }
    }

    #[test]
    fn uris_round_trip(text in uri()) {
        let u = Uri::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let again = Uri::parse(&u.to_string()).unwrap();
        prop_assert_eq!(&again, &u);
        prop_assert!(u.equivalent(&again));
    }

    #[test]
    fn stream_framing_ignores_chunking(
        msgs in proptest::collection::vec(message(), 1..4),
        pings in proptest::collection::vec(any::<bool>(), 4),
        chunk in 1usize..40,
    ) {
        let mut stream = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            if pings[i % 4] {
                stream.extend_from_slice(b"\r\n\r\n");
            }
            stream.extend_from_slice(m);
        }
        let collect = |chunk: usize| {
            let mut f = StreamFramer::new(Limits::default());
            let mut out = Vec::new();
            for piece in stream.chunks(chunk) {
                f.feed(piece).unwrap();
                loop {
                    match f.next().unwrap() {
                        Framed::Incomplete => break,
                        fr => out.push(fr),
                    }
                }
            }
            out
        };
        let whole = collect(stream.len());
        let pieces = collect(chunk);
        prop_assert_eq!(&whole, &pieces);
        let n = whole.iter().filter(|f| matches!(f, Framed::Message(_))).count();
        prop_assert_eq!(n, msgs.len());
    }
}
