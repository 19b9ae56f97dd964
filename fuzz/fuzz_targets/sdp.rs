//! SDP parse of arbitrary bytes; a parsed body must print to text that parses back to an
//! equal body, its typed views must not panic, and the relay's rewriting must keep it
//! parseable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringfence_sdp::{Crypto, Sdp, intersect_formats};

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = Sdp::parse(data) else { return };
    let printed = sdp.to_bytes();
    let again = Sdp::parse(&printed).expect("printed SDP must parse");
    assert_eq!(again, sdp);
    let _ = (sdp.connection(), sdp.origin(), sdp.session_cryptos());
    for (i, m) in sdp.media.iter().enumerate() {
        let _ = (sdp.media_connection(i), sdp.media_direction(i));
        let _ = (m.rtpmaps(), m.rtcp(), m.rtcp_mux(), m.ptime(), m.own_direction());
        for c in m.cryptos() {
            let text = c.to_string();
            let back = Crypto::parse(&text).expect("printed crypto must parse");
            assert_eq!(back.to_string(), text);
            let _ = c.inline_key().map(|k| k.key_salt());
        }
        let _ = intersect_formats(m, m);
    }
    let mut rewritten = sdp.clone();
    rewritten.anchor_address("203.0.113.1".parse().unwrap());
    rewritten.strip_end_to_end();
    for m in &mut rewritten.media {
        m.set_port(40000);
        m.set_secure(true);
        m.set_cryptos(&[]);
        m.set_rtcp_mux(true);
        let formats = m.line.formats.clone();
        m.retain_formats(&formats[..1]);
    }
    Sdp::parse(&rewritten.to_bytes()).expect("rewritten SDP must parse");
});
