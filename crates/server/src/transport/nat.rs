//! Stamping the top Via of received requests with where they really came from
//! (RFC 3261 §18.2.1, RFC 3581 §4).
//!
//! ```text
//! via-received   =  "received" EQUAL (IPv4address / IPv6address)   ; RFC 3261 §20.42
//! response-port  =  "rport" [EQUAL 1*DIGIT]                        ; RFC 3581 §3
//! ```
//!
//! * `received=<source ip>` is added when the sent-by host is not the source address
//!   (§18.2.1), and always when the client asked for `rport` (RFC 3581 §4).
//! * An empty `rport` is filled with the source port.
//!
//! Only the first value of the first Via header line is rewritten; every other byte of
//! the header section is kept as received.

use std::net::SocketAddr;

use ringfence_sip_types::header::Via;
use ringfence_sip_types::{HeaderName, Request, split_list};

/// Where the response to a request goes over UDP (RFC 3261 §18.2.2 with RFC 3581 §4):
/// the `received` address (the source, after [`stamp_top_via`]) and the `rport` port if
/// present, else the sent-by port (default 5060).
pub(crate) fn udp_response_target(top: &Via, source: SocketAddr) -> SocketAddr {
    let ip = top.received().unwrap_or(source.ip());
    let port = match top.rport() {
        Some(Some(p)) => p,
        Some(None) => source.port(),
        None => top.port.unwrap_or(5060),
    };
    SocketAddr::new(ip, port)
}

/// Adds `received` and fills `rport` on the top Via of `req`. Returns whether the
/// request was changed. A request whose top Via does not parse is left alone (the
/// caller has validated it already).
pub(crate) fn stamp_top_via(req: &mut Request, source: SocketAddr) -> bool {
    let source_ip = source.ip().to_canonical();
    let Some((index, name, value)) = req
        .headers
        .iter()
        .enumerate()
        .find(|(_, f)| f.known() == Some(HeaderName::Via))
        .map(|(i, f)| (i, f.name.to_owned(), f.value.to_owned()))
    else {
        return false;
    };
    let Some(first) = split_list(&value).next() else { return false };
    let Ok(mut via) = Via::parse(first) else { return false };

    let wants_rport = via.rport() == Some(None);
    let sent_by_matches = via.host.ip().map(|ip| ip.to_canonical()) == Some(source_ip);
    if !wants_rport && sent_by_matches {
        return false;
    }
    if wants_rport {
        via.set_rport(source.port());
    }
    via.set_received(source_ip);

    // `first` is a sub-slice of `value`; keep everything after it byte-exact.
    let end = (first.as_ptr() as usize - value.as_ptr() as usize) + first.len();
    let new_value = format!("{via}{}", &value[end..]);
    req.headers.remove_first(HeaderName::Via);
    req.headers.insert(index, name.as_str(), &new_value);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringfence_sip_types::Message;

    fn req(vias: &str) -> Request {
        let raw = format!(
            "OPTIONS sip:a@example.com SIP/2.0\r\nMax-Forwards: 70\r\n{vias}\
             From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n\
             Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        match Message::parse(raw.as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    fn src() -> SocketAddr {
        "198.51.100.7:40000".parse().unwrap()
    }

    #[test]
    fn rfc3581_4_rport_filled_and_received_added_even_if_same() {
        let mut r =
            req("v: SIP/2.0/UDP 198.51.100.7:5060;rport;branch=z9hG4bK1, SIP/2.0/UDP x\r\n");
        assert!(stamp_top_via(&mut r, src()));
        let vias: Vec<_> = r.headers.get_all("Via").collect();
        assert_eq!(
            vias,
            [
                "SIP/2.0/UDP 198.51.100.7:5060;rport=40000;branch=z9hG4bK1;received=198.51.100.7, SIP/2.0/UDP x"
            ]
        );
        assert_eq!(r.headers.iter().nth(1).unwrap().name, "v", "position and spelling kept");
        let top = r.via_top().unwrap();
        assert_eq!(udp_response_target(&top, src()), src());
    }

    #[test]
    fn rfc3261_18_2_1_received_added_when_host_differs() {
        let mut r = req("Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK2\r\n");
        assert!(stamp_top_via(&mut r, src()));
        let top = r.via_top().unwrap();
        assert_eq!(top.received(), Some(src().ip()));
        assert_eq!(top.rport(), None);
        assert_eq!(udp_response_target(&top, src()), "198.51.100.7:5060".parse().unwrap());
    }

    #[test]
    fn rfc3261_18_2_1_unchanged_when_host_is_source() {
        let mut r = req("Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK3\r\n");
        let before = r.clone();
        assert!(!stamp_top_via(&mut r, src()));
        assert_eq!(r, before);
        let top = r.via_top().unwrap();
        assert_eq!(udp_response_target(&top, src()), "198.51.100.7:5062".parse().unwrap());
    }

    #[test]
    fn ipv6_source_is_bracketed() {
        let mut r =
            req("Via: SIP/2.0/TCP [2001:db8::1];rport;branch=z9hG4bK4\r\nVia: SIP/2.0/UDP y\r\n");
        let s: SocketAddr = "[2001:db8::2]:5070".parse().unwrap();
        assert!(stamp_top_via(&mut r, s));
        let vias: Vec<_> = r.headers.get_all("Via").collect();
        assert_eq!(
            vias,
            [
                "SIP/2.0/TCP [2001:db8::1];rport=5070;branch=z9hG4bK4;received=[2001:db8::2]",
                "SIP/2.0/UDP y"
            ]
        );
    }
}
