//! Differential tests: the tuned parser against the reference copy of the code it
//! replaced. Every input must give the same result: the same message (and the same
//! printed bytes) or the same error.

use proptest::prelude::*;

use super::*;
use crate::text::Scanner;

fn same_message(new: &Result<Message, ParseError>, old: &Result<Message, ParseError>) -> bool {
    match (new, old) {
        (Ok(a), Ok(b)) => a == b && a.to_bytes() == b.to_bytes(),
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

fn check_message(bytes: &[u8]) {
    let l = Limits::DEFAULT;
    let new = crate::framing::parse_datagram(bytes, &l);
    let old = old_parse_datagram(bytes, &l);
    assert!(
        same_message(&new, &old),
        "input {:?}\nnew {new:?}\nold {old:?}",
        String::from_utf8_lossy(bytes)
    );
    // Tight limits exercise the limit errors in both.
    let tight = Limits { max_headers: 5, max_header_len: 40, max_uri_len: 20, max_vias: 2, ..l };
    let new = crate::framing::parse_datagram(bytes, &tight);
    let old = old_parse_datagram(bytes, &tight);
    assert!(
        same_message(&new, &old),
        "tight limits, input {:?}\nnew {new:?}\nold {old:?}",
        String::from_utf8_lossy(bytes)
    );
}

const REGISTER: &[u8] = b"REGISTER sip:pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: \"Alice\" <sip:alice@pbx.example.com>\r\n\
From: \"Alice\" <sip:alice@pbx.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600\r\n\
Authorization: Digest username=\"alice\", realm=\"pbx.example.com\", nonce=\"dcd98b\", uri=\"sip:pbx.example.com\", response=\"e6f99bf4\", algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n\
User-Agent: Ringfence-Phone/1.0\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n";

const INVITE: &[u8] = b"INVITE sips:bob@[2001:db8::10]:5061;transport=tls SIP/2.0\r\n\
v: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9;received=192.0.2.1;rport=5061;ttl=3;maddr=a.example\r\n\
Via : SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3, SIP / 2.0 / TCP h.example\r\n\
 ;branch=z9hG4bK2\r\n\
Max-Forwards:70\r\n\
f: Alice Liddell <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
t: sip:bob@biloxi.example.com\r\n\
i: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 0001 INVITE\r\n\
m: \"A \\\"q\\\" b\" <sip:alice%20x@client.atlanta.example.com;transport=tls?Subject=x>;q=0.5, *\r\n\
Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n\
X-Folded: a\r\n\t b\r\n\
l: 4\r\n\r\nbody";

const RESPONSE: &[u8] = b"SIP/2.0 180 Ringing\r\n\
Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK776asdhds\r\n\
To: <tel:+1-201-555-0123>;tag=a\r\n\
From: urn:service:sos;tag=b\r\n\
Call-ID: x\r\n\
CSeq: 7 OPTIONS\r\n\
Content-Length: 0\r\n\r\n";

/// Seed messages: the samples above and, when present, the RFC 4475/5118 corpus.
fn seeds() -> Vec<Vec<u8>> {
    let mut v = vec![REGISTER.to_vec(), INVITE.to_vec(), RESPONSE.to_vec()];
    let root =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sip");
    for sub in ["rfc4475", "rfc5118"] {
        let Ok(dir) = std::fs::read_dir(root.join(sub)) else { continue };
        let mut files: Vec<_> = dir.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|e| e == "dat")
                && let Ok(b) = std::fs::read(&f)
            {
                v.push(b);
            }
        }
    }
    v
}

#[test]
fn seed_messages_agree() {
    for s in seeds() {
        check_message(&s);
        // Every prefix cut at a line end, and the head alone.
        for (i, _) in s.iter().enumerate().filter(|(_, c)| **c == b'\n') {
            check_message(&s[..=i]);
        }
    }
}

/// Bytes that matter to the grammar, plus a few non-ASCII ones.
const ALPHABET: &[u8] = b" \t\r\n:;,=<>\"\\@/%.-_aZ09[]?&*!~()+$'`sS\x80\xc3\xa9\xff\x00\x0b";

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    /// Copies `len` bytes from `from` to `to`.
    Copy {
        from: usize,
        len: usize,
        to: usize,
    },
    FlipCase(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = proptest::sample::select(ALPHABET.to_vec());
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), 1usize..80, any::<usize>()).prop_map(|(from, len, to)| Edit::Copy {
            from,
            len,
            to
        }),
        any::<usize>().prop_map(Edit::FlipCase),
    ]
}

fn apply(mut v: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = v.len().max(1);
        match *e {
            Edit::Insert(i, b) => v.insert(i % (v.len() + 1), b),
            Edit::Delete(i) if !v.is_empty() => {
                v.remove(i % n);
            }
            Edit::Replace(i, b) if !v.is_empty() => v[i % n] = b,
            Edit::Copy { from, len, to } if !v.is_empty() => {
                let from = from % n;
                let chunk = v[from..(from + len).min(v.len())].to_vec();
                let to = to % (v.len() + 1);
                v.splice(to..to, chunk);
            }
            Edit::FlipCase(i) if !v.is_empty() => v[i % n] ^= 0x20,
            _ => {}
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_messages_agree(
        seed in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let seeds = seeds();
        let input = apply(seeds[seed.index(seeds.len())].clone(), &edits);
        check_message(&input);
    }

    #[test]
    fn hosts_agree(s in "[a-zA-Z0-9.:_\\[\\]-]{0,24}") {
        prop_assert_eq!(
            format!("{:?}", crate::host::Host::check(&s)),
            format!("{:?}", old_host_check(&s))
        );
    }

    #[test]
    fn dotted_hosts_agree(parts in proptest::collection::vec("[0-9]{0,4}|[a-z][a-z0-9-]{0,3}|-", 0..6), dot in any::<bool>()) {
        let mut s = parts.join(".");
        if dot {
            s.push('.');
        }
        prop_assert_eq!(
            format!("{:?}", crate::host::Host::check(&s)),
            format!("{:?}", old_host_check(&s))
        );
    }

    #[test]
    fn sip_uris_agree(s in "[a-zA-Z0-9@:;=?&%._!~*'()+$,/\\[\\]-]{0,30}") {
        prop_assert_eq!(
            format!("{:?}", SipUriRef::scan(false, &s)),
            format!("{:?}", old_sip_uri_scan(false, &s))
        );
        for prefix in ["sip:", "SIPS:", "sIp:", "sips", "tel:", "x:", ""] {
            let u = format!("{prefix}{s}");
            prop_assert_eq!(format!("{:?}", UriRef::scan(&u)), format!("{:?}", old_uri_scan(&u)));
        }
    }

    #[test]
    fn user_at_host_uris_agree(
        user in "[a-zA-Z0-9%:;&=+$,?/._!~*'()-]{0,10}",
        host in "[a-z0-9.\\[\\]:-]{0,12}",
        rest in "[;=?&a-z0-9:%]{0,10}",
    ) {
        let s = format!("{user}@{host}{rest}");
        prop_assert_eq!(
            format!("{:?}", SipUriRef::scan(true, &s)),
            format!("{:?}", old_sip_uri_scan(true, &s))
        );
    }

    #[test]
    fn scanner_agrees(s in "[ \\t\\r\\n;=/:\"\\\\a,<>\\x01\\x7f\u{e9}]{0,14}") {
        prop_assert_eq!(text::trim_lws(&s), old_trim_lws(&s));
        let (mut a, mut b) = (Scanner::new(&s), OldScanner::new(&s));
        prop_assert_eq!(a.skip_sws(), b.skip_sws());
        prop_assert_eq!(a.pos(), b.pos());
        for c in [b';', b'=', b'/', b':'] {
            let (mut a, mut b) = (Scanner::new(&s), OldScanner::new(&s));
            prop_assert_eq!(a.eat_sep(c), b.eat_sep(c));
            prop_assert_eq!(a.pos(), b.pos());
        }
        for start in 0..s.len() {
            if !s.is_char_boundary(start) {
                continue;
            }
            let (mut a, mut b) = (Scanner::new(&s), OldScanner::new(&s));
            a.set_pos(start);
            b.set_pos(start);
            prop_assert_eq!(a.quoted_string(), b.quoted_string());
            prop_assert_eq!(a.pos(), b.pos());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The word-at-a-time search for the end of a header line finds the first CR or
    /// LF, whatever other control bytes come before it and wherever the buffer ends.
    #[test]
    fn line_end_search_agrees(
        bytes in proptest::collection::vec(
            prop_oneof![
                4 => proptest::sample::select(b"aZ09 ;=\"\x7f\x80\xff".to_vec()),
                1 => proptest::sample::select(b"\r\n\t\x00\x0b\x0c\x0d\x0e\x0a\x8d\x8a".to_vec()),
            ],
            0..90,
        ),
        start in 0usize..90,
    ) {
        let start = start.min(bytes.len());
        let naive = bytes[start..].iter().position(|&c| c == b'\r' || c == b'\n');
        let fast = crate::message::fast::cr_or_lf(&bytes, start);
        prop_assert_eq!(fast, naive.map(|k| start + k), "{:?} from {}", bytes, start);
    }
}

/// Host-like text: labels of letters, digits and `-`, dots, and a few stray bytes.
fn hostish() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-z]{1,3}|[0-9]{1,4}|[A-Z0-9-]{0,3}|-|\\.|_|\\[", 1..7)
        .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// What the one-pass host scanner accepts is the whole run of host characters, and
    /// the general check gives it the same kind.
    #[test]
    fn fast_host_agrees(h in hostish(), tail in "[;:>@ ,.a-]?") {
        let s = format!("{h}{tail}");
        let b = s.as_bytes();
        if let Some((e, kind)) = crate::message::fast::uri::host(b, 0) {
            let run_end = text::run(b, 0, crate::host::is_host_char);
            prop_assert_eq!(e, run_end, "{}", s);
            prop_assert_eq!(crate::host::Host::check(&s[..e]), Ok(kind), "{}", s);
        }
    }

    /// What the one-pass SIP URI scanner accepts, the general scanner accepts as the
    /// same URI.
    #[test]
    fn fast_sip_uri_agrees(
        scheme in "sip:|SIP:|sips:|sIpS:|sip|tel:",
        user in proptest::option::of("[a-zA-Z0-9_.!~*'()&=+$/;,?%:-]{0,6}"),
        h in hostish(),
        port in proptest::option::of("[0-9]{0,6}"),
        params in "(;[a-z0-9%=:\\[\\]-]{0,5}){0,3}",
        tail in "[>; ,?@:%\\[]?",
    ) {
        let mut s = scheme.clone();
        if let Some(u) = user {
            s.push_str(&u);
            s.push('@');
        }
        s.push_str(&h);
        if let Some(p) = port {
            s.push(':');
            s.push_str(&p);
        }
        s.push_str(&params);
        s.push_str(&tail);
        for with_params in [true, false] {
            if let Some((e, fast)) = crate::message::fast::uri::sip_uri(&s, 0, with_params) {
                let general = UriRef::scan(&s[..e]);
                prop_assert_eq!(
                    format!("{:?}", general),
                    format!("{:?}", Ok::<_, &str>(UriRef::Sip(fast))),
                    "{}", s
                );
                prop_assert!(with_params || fast.params.is_empty());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The borrowed accessors (which try the one-pass scanners first) give what the
    /// building accessors give, on addresses and Vias with random edits.
    #[test]
    fn borrowed_accessors_agree(
        which in 0usize..6,
        edits in proptest::collection::vec(edit(), 0..3),
    ) {
        let samples: [&[u8]; 6] = [
            b"\"Alice\" <sip:alice@pbx.example.com>;tag=1928301774",
            b"sip:bob@biloxi.example.com;tag=a;x",
            b"Bob <sips:bob@192.0.2.4:5061;transport=tls>;TAG=z",
            b"SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
            b"SIP/2.0/TCP h.example;received=192.0.2.1;branch=z9hG4bKa",
            b"<sip:a@b.example>",
        ];
        let bytes = apply(samples[which].to_vec(), &edits);
        let Ok(value) = std::str::from_utf8(&bytes) else { return Ok(()) };
        let mut h = Headers::new();
        h.push("From", value);
        h.push("To", value);
        h.push("Via", value);
        let from = h.from().map(|n| n.tag().map(str::to_owned));
        prop_assert_eq!(h.from_tag().map(|t| t.map(str::to_owned)), from);
        let to = h.to().map(|n| n.tag().map(str::to_owned));
        prop_assert_eq!(h.to_tag().map(|t| t.map(str::to_owned)), to);
        let via = h.via_top().map(|v| v.branch().map(str::to_owned));
        prop_assert_eq!(h.via_branch().map(|b| b.map(str::to_owned)), via);
    }
}

/// `callid = word [ "@" word ]` as it was checked before.
fn old_call_id_validate(value: &str) -> Result<&str, &'static str> {
    let v = old_trim_lws(value);
    if v.is_empty() {
        return Err("empty Call-ID");
    }
    let (a, b) = match v.split_once('@') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    if !text::is_word(a) || b.is_some_and(|b| !text::is_word(b)) {
        return Err("Call-ID is not word[@word]");
    }
    Ok(v)
}

proptest! {
    #[test]
    fn call_id_agrees(s in "[ a-z0-9@.<>:!\\\"/\\[\\]?{}#$,; \t]{0,12}") {
        prop_assert_eq!(call_id::validate(&s), old_call_id_validate(&s));
    }
}
