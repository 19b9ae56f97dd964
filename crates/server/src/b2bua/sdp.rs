//! Just enough SDP reading to enforce a tenant's encryption requirement on an offer
//! (RFC 4566 `m=` lines, RFC 3711 / RFC 4568 SDES `a=crypto`). Rewriting SDP is the
//! [`super::SdpRewriter`]'s job; this module only looks.
//!
//! ```text
//! media-field = %x6d "=" media SP port ["/" integer] SP proto 1*(SP fmt) CRLF
//! a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]      (RFC 4568 §9.1)
//! ```

use ringfence_sip_types::{HeaderName, Request, Response};

/// What an SDP body says about media encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SdpSecurity {
    /// Active media streams (`m=` lines with a port other than 0).
    pub active: usize,
    /// Active streams using SRTP (`RTP/SAVP` or `RTP/SAVPF`) with an `a=crypto` line in
    /// the stream or at session level.
    pub srtp: usize,
    /// Some `a=crypto` line is present: the body carries SRTP keys (SDES).
    pub carries_keys: bool,
}

impl SdpSecurity {
    /// Every active stream is SRTP, and there is at least one.
    pub fn all_srtp(&self) -> bool {
        self.active > 0 && self.srtp == self.active
    }
}

fn is_srtp_proto(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/SAVP") || proto.eq_ignore_ascii_case("RTP/SAVPF")
}

/// Reads the streams of an SDP body (lines may end in CRLF or LF).
pub fn inspect(body: &[u8]) -> SdpSecurity {
    let text = String::from_utf8_lossy(body);
    let mut out = SdpSecurity::default();
    let mut session_crypto = false;
    // The current stream: (active, srtp proto, has crypto).
    let mut stream: Option<(bool, bool, bool)> = None;
    let close = |s: Option<(bool, bool, bool)>, session_crypto: bool, out: &mut SdpSecurity| {
        if let Some((active, srtp, crypto)) = s
            && active
        {
            out.active += 1;
            if srtp && (crypto || session_crypto) {
                out.srtp += 1;
            }
        }
    };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(m) = line.strip_prefix("m=") {
            close(stream.take(), session_crypto, &mut out);
            let mut f = m.split_ascii_whitespace();
            let _media = f.next();
            let port = f.next().unwrap_or("0");
            let proto = f.next().unwrap_or("");
            let port = port.split('/').next().unwrap_or("0");
            let active = port.parse::<u32>().is_ok_and(|p| p != 0);
            stream = Some((active, is_srtp_proto(proto), false));
        } else if line.starts_with("a=crypto:") {
            out.carries_keys = true;
            match stream.as_mut() {
                Some(s) => s.2 = true,
                None => session_crypto = true,
            }
        }
    }
    close(stream.take(), session_crypto, &mut out);
    out
}

/// True when a Content-Type value names SDP.
fn is_sdp_type(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/sdp")
    })
}

/// The SDP body of a request, if it has one.
pub fn request_sdp(r: &Request) -> Option<&[u8]> {
    (!r.body.is_empty() && is_sdp_type(r.headers.get(HeaderName::ContentType)))
        .then_some(r.body.as_slice())
}

/// The SDP body of a response, if it has one.
pub fn response_sdp(r: &Response) -> Option<&[u8]> {
    (!r.body.is_empty() && is_sdp_type(r.headers.get(HeaderName::ContentType)))
        .then_some(r.body.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                         m=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n";

    #[test]
    fn plain_rtp_is_not_srtp() {
        let s = inspect(PLAIN.as_bytes());
        assert_eq!(s, SdpSecurity { active: 1, srtp: 0, carries_keys: false });
        assert!(!s.all_srtp());
    }

    #[test]
    fn rfc4568_sdes_offer_is_srtp() {
        let sdp = "v=0\nm=audio 4000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 \
                   inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\n\
                   m=video 0 RTP/AVP 96\n";
        let s = inspect(sdp.as_bytes());
        assert_eq!(s, SdpSecurity { active: 1, srtp: 1, carries_keys: true });
        assert!(s.all_srtp(), "a disabled stream (port 0) does not count");
    }

    #[test]
    fn savp_without_keys_or_mixed_streams_is_not_enough() {
        let no_keys = inspect(b"v=0\r\nm=audio 4000 RTP/SAVP 0\r\n");
        assert!(!no_keys.all_srtp());
        let mixed = "v=0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n\
                     m=audio 4000 RTP/SAVPF 0\r\nm=video 5000 RTP/AVP 96\r\n";
        let s = inspect(mixed.as_bytes());
        assert_eq!((s.active, s.srtp, s.carries_keys), (2, 1, true));
        assert!(!s.all_srtp());
        assert!(!inspect(b"").all_srtp(), "no media is not an SRTP offer");
    }

    #[test]
    fn sdp_bodies_are_found_by_content_type() {
        let text = "INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
                    From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\n\
                    CSeq: 1 INVITE\r\nContent-Type: application/SDP\r\nContent-Length: 4\r\n\r\nv=0\n";
        let r = Request::parse(text.as_bytes()).unwrap();
        assert_eq!(request_sdp(&r), Some(&b"v=0\n"[..]));
        let other = text.replace("application/SDP", "text/plain");
        assert_eq!(request_sdp(&Request::parse(other.as_bytes()).unwrap()), None);
    }
}
