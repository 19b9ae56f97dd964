//! Offer/answer helpers for a media relay (RFC 3264): anchor addresses and ports at the
//! relay, switch a stream between RTP/AVP and RTP/SAVP, intersect codecs between the
//! legs, and remove what cannot cross a relay (ICE candidates, DTLS fingerprints).
//!
//! ```text
//! media-description = media-field [information-field] *connection-field
//!                     *bandwidth-field [key-field] *attribute-field   (RFC 8866 §9)
//! ```
//! so a `c=` line goes right after `m=` (and `i=`), and at session level before `b=`,
//! `t=` and the rest.

use std::net::IpAddr;

use crate::{Connection, Direction, Line, Media, Origin, Rtpmap, Sdp};

/// Attributes that only make sense end to end (ICE, DTLS-SRTP): a relay that anchors
/// media removes them, so devices neither try to reach each other nor leak addresses.
pub const END_TO_END_ATTRIBUTES: [&str; 13] = [
    "candidate",
    "remote-candidates",
    "end-of-candidates",
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "ice-mismatch",
    "ice-pacing",
    "fingerprint",
    "setup",
    "tls-id",
    "rtcp-mux-only",
];

fn insert_connection(lines: &mut Vec<Line>, conn: Line, after: &[u8]) {
    let at = lines.iter().rposition(|l| after.contains(&l.kind)).map_or(0, |i| i + 1);
    lines.insert(at, conn);
}

impl Sdp {
    /// The session-level `c=` line.
    pub fn connection(&self) -> Option<Connection> {
        self.session_line(b'c').and_then(|l| Connection::parse(&l.value).ok())
    }

    /// The `o=` line.
    pub fn origin(&self) -> Option<Origin> {
        self.session_line(b'o').and_then(|l| Origin::parse(&l.value).ok())
    }

    /// The connection that applies to media section `index`: its own `c=` or the
    /// session's.
    pub fn media_connection(&self, index: usize) -> Option<Connection> {
        self.media.get(index).and_then(Media::connection).or_else(|| self.connection())
    }

    /// The direction that applies to media section `index`: its own attribute, the
    /// session's, or `sendrecv` (RFC 8866 §6.7).
    pub fn media_direction(&self, index: usize) -> Direction {
        let session = || {
            self.session
                .iter()
                .filter_map(Line::attribute)
                .find_map(|(n, v)| if v.is_none() { Direction::from_name(n) } else { None })
        };
        self.media.get(index).and_then(Media::own_direction).or_else(session).unwrap_or_default()
    }

    /// Puts `ip` in the `o=` line and in every `c=` line (adding a session-level one
    /// when there is none), except that a `c=` holding the RFC 2543 hold address
    /// `0.0.0.0` keeps it, so the hold still reaches the other party.
    pub fn anchor_address(&mut self, ip: IpAddr) {
        let ours = Connection::from_ip(ip).to_string();
        for l in &mut self.session {
            if l.kind == b'o'
                && let Ok(mut o) = Origin::parse(&l.value)
            {
                o.set_ip(ip);
                l.value = o.to_string();
            }
        }
        match self.session.iter_mut().find(|l| l.kind == b'c') {
            Some(c) => {
                if !Connection::parse(&c.value).is_ok_and(|c| c.is_hold()) {
                    c.value.clone_from(&ours);
                }
            }
            None => insert_connection(&mut self.session, Line::new(b'c', ours.clone()), b"vosiuep"),
        }
        for m in &mut self.media {
            for l in m.lines.iter_mut().filter(|l| l.kind == b'c') {
                if !Connection::parse(&l.value).is_ok_and(|c| c.is_hold()) {
                    l.value.clone_from(&ours);
                }
            }
        }
    }

    /// Removes session-level `a=crypto` lines and the [`END_TO_END_ATTRIBUTES`] at
    /// session level and in every media section.
    pub fn strip_end_to_end(&mut self) {
        let drop = |l: &Line| {
            l.attribute().is_some_and(|(n, _)| n == "crypto" || END_TO_END_ATTRIBUTES.contains(&n))
        };
        self.session.retain(|l| !drop(l));
        for m in &mut self.media {
            m.lines.retain(|l| {
                !l.attribute().is_some_and(|(n, _)| END_TO_END_ATTRIBUTES.contains(&n))
            });
        }
    }
}

impl Media {
    /// Sets the port (and drops a port count).
    pub fn set_port(&mut self, port: u16) {
        self.line.port = port;
        self.line.port_count = None;
    }

    /// Switches an RTP stream to `RTP/SAVP(F)` (`secure`) or `RTP/AVP(F)`, keeping
    /// feedback; DTLS-SRTP profiles become SDES ones. Returns false for a non-RTP stream
    /// (left alone).
    pub fn set_secure(&mut self, secure: bool) -> bool {
        match self.line.proto.with_security(secure) {
            Some(p) => {
                self.line.proto = p;
                true
            }
            None => false,
        }
    }

    /// Sets this section's own `c=` line (replacing any), or removes it with `None`.
    pub fn set_connection(&mut self, conn: Option<&Connection>) {
        self.lines.retain(|l| l.kind != b'c');
        if let Some(c) = conn {
            insert_connection(&mut self.lines, Line::new(b'c', c.to_string()), b"i");
        }
    }

    /// Keeps only `formats`, in that order, and removes the `rtpmap`, `fmtp` and
    /// `rtcp-fb` lines of the others. Formats not present are ignored.
    pub fn retain_formats(&mut self, formats: &[String]) {
        let kept: Vec<String> =
            formats.iter().filter(|f| self.line.formats.contains(f)).cloned().collect();
        if kept.is_empty() {
            return;
        }
        let removed: Vec<String> =
            self.line.formats.iter().filter(|f| !kept.contains(f)).cloned().collect();
        self.lines.retain(|l| match l.attribute() {
            Some(("rtpmap" | "fmtp" | "rtcp-fb", Some(v))) => {
                let fmt = v.split(' ').next().unwrap_or("");
                !removed.iter().any(|r| r == fmt)
            }
            _ => true,
        });
        self.line.formats = kept;
    }

    /// Keeps the formats whose codec `keep` accepts, plus `telephone-event` always
    /// (RFC 4733 DTMF must survive any codec policy). Formats without a known codec are
    /// dropped. Returns false (and changes nothing) if nothing but telephone events would
    /// remain.
    pub fn retain_codecs(&mut self, keep: impl Fn(&Rtpmap) -> bool) -> bool {
        let maps = self.rtpmaps();
        let audio: Vec<String> = self
            .line
            .formats
            .iter()
            .filter(|f| {
                maps.iter()
                    .find(|r| r.payload_type.to_string() == **f)
                    .is_some_and(|r| !r.is_telephone_event() && keep(r))
            })
            .cloned()
            .collect();
        if audio.is_empty() {
            return false;
        }
        let keep_fmt: Vec<String> = self
            .line
            .formats
            .iter()
            .filter(|f| {
                audio.contains(f)
                    || maps
                        .iter()
                        .any(|r| r.payload_type.to_string() == **f && r.is_telephone_event())
            })
            .cloned()
            .collect();
        self.retain_formats(&keep_fmt);
        true
    }
}

/// The answer's formats that the offer also has, in the **offerer's** order of
/// preference (RFC 3264 §6.1: the answer may only use offered formats). Formats with an
/// `rtpmap` are matched by codec (name, rate, channels), so a dynamic payload type
/// numbered differently on each side still matches; others by number. Telephone events
/// match like any codec and are kept whenever both sides have them.
pub fn intersect_formats(offer: &Media, answer: &Media) -> Vec<String> {
    let offer_maps = offer.rtpmaps();
    let answer_maps = answer.rtpmaps();
    let mut out: Vec<String> = Vec::new();
    for of in &offer.line.formats {
        let om = offer_maps.iter().find(|r| r.payload_type.to_string() == *of);
        let found = answer.line.formats.iter().find(|af| {
            let am = answer_maps.iter().find(|r| r.payload_type.to_string() == **af);
            match (om, am) {
                (Some(o), Some(a)) => o.same_codec(a),
                (None, None) => af == &of,
                _ => false,
            }
        });
        if let Some(af) = found
            && !out.contains(af)
        {
            out.push(af.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Proto;

    const OFFER: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\n\
        c=IN IP4 192.0.2.10\r\nt=0 0\r\na=ice-ufrag:abc\r\n\
        m=audio 49170 RTP/AVP 0 8 97 101\r\na=rtpmap:97 iLBC/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=fmtp:97 mode=30\r\n\
        a=candidate:1 1 UDP 2130706431 192.0.2.10 49170 typ host\r\na=rtcp:49171\r\na=sendrecv\r\n";

    fn offer() -> Sdp {
        Sdp::parse(OFFER.as_bytes()).unwrap()
    }

    #[test]
    fn rfc3264_anchoring_rewrites_origin_connection_and_port() {
        let mut sdp = offer();
        sdp.anchor_address("203.0.113.5".parse().unwrap());
        sdp.strip_end_to_end();
        sdp.media[0].set_port(30000);
        sdp.media[0].set_rtcp(None);
        let text = sdp.to_string();
        assert!(text.contains("o=alice 2890844526 2890844526 IN IP4 203.0.113.5\r\n"));
        assert!(text.contains("c=IN IP4 203.0.113.5\r\n"));
        assert!(text.contains("m=audio 30000 RTP/AVP 0 8 97 101\r\n"));
        assert!(!text.contains("192.0.2.10"), "{text}");
        assert!(!text.contains("candidate") && !text.contains("ice-ufrag"));
        assert!(text.contains("a=fmtp:97 mode=30\r\n"), "unknown lines stay");
    }

    #[test]
    fn hold_address_and_media_level_connections() {
        let body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n\
                    m=audio 4000 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 192.0.2.1\r\n\
                    m=audio 4002 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n";
        let mut sdp = Sdp::parse(body.as_bytes()).unwrap();
        sdp.anchor_address("198.51.100.7".parse().unwrap());
        assert_eq!(sdp.connection().unwrap().address, "198.51.100.7");
        assert_eq!(sdp.session[3].kind, b'c', "c= goes before t=: {sdp}");
        assert_eq!(sdp.media_connection(0).unwrap().address, "198.51.100.7");
        assert!(sdp.media_connection(1).unwrap().is_hold(), "0.0.0.0 hold is kept");
        sdp.media[0].set_connection(Some(&Connection::from_ip("192.0.2.9".parse().unwrap())));
        assert_eq!(sdp.media[0].lines[1].to_string(), "c=IN IP4 192.0.2.9", "after i=");
    }

    #[test]
    fn rfc3264_section_5_1_direction_falls_back_to_session() {
        let sdp = Sdp::parse(
            b"v=0\r\na=sendonly\r\nm=audio 1 RTP/AVP 0\r\nm=audio 2 RTP/AVP 0\r\na=inactive\r\n",
        )
        .unwrap();
        assert_eq!(sdp.media_direction(0), Direction::SendOnly);
        assert_eq!(sdp.media_direction(1), Direction::Inactive);
        assert_eq!(offer().media_direction(0), Direction::SendRecv);
    }

    #[test]
    fn profile_switches_between_avp_and_savp() {
        let mut m = offer().media.remove(0);
        assert!(m.set_secure(true));
        assert_eq!(m.line.proto, Proto::RtpSavp);
        assert!(m.set_secure(false));
        assert_eq!(m.line.proto, Proto::RtpAvp);
        let mut other = Sdp::parse(b"v=0\r\nm=application 9 udp x\r\n").unwrap().media.remove(0);
        assert!(!other.set_secure(true));
    }

    #[test]
    fn rfc3264_section_6_1_intersection_keeps_offerer_order_and_dtmf() {
        let off = offer().media.remove(0);
        let ans_body = "v=0\r\nm=audio 5000 RTP/AVP 96 8 0 9\r\na=rtpmap:96 telephone-event/8000\r\n\
                        a=rtpmap:9 G722/8000\r\n";
        let ans = Sdp::parse(ans_body.as_bytes()).unwrap().media.remove(0);
        assert_eq!(intersect_formats(&off, &ans), ["0", "8", "96"]);
        let mut a2 = ans.clone();
        a2.retain_formats(&intersect_formats(&off, &ans));
        assert_eq!(a2.line.formats, ["0", "8", "96"]);
        assert_eq!(a2.attributes("rtpmap").count(), 1, "G722's rtpmap removed");
    }

    #[test]
    fn codec_policy_never_drops_telephone_event() {
        let mut m = offer().media.remove(0);
        assert!(m.retain_codecs(|r| r.encoding == "PCMA"));
        assert_eq!(m.line.formats, ["8", "101"]);
        assert!(m.fmtp("97").is_none() && m.fmtp("101").is_some());
        let mut n = offer().media.remove(0);
        assert!(!n.retain_codecs(|r| r.encoding == "opus"), "nothing left but DTMF");
        assert_eq!(n.line.formats.len(), 4);
    }
}
