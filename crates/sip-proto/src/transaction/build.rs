//! Messages the transaction layer builds itself: the ACK for a non-2xx final response
//! (RFC 3261 §17.1.1.3), CANCEL (§9.1), the responses it sends on its own, and the
//! destination of a response (§18.2.2, RFC 3581 §4).

use std::net::{IpAddr, SocketAddr};

use ringfence_sip_types::header::Via;
use ringfence_sip_types::{HeaderName, Method, ParseError, Request, Response};

use super::types::{Peer, Transport};

/// Appends the single topmost Via value and every Route line of `orig` to `out`.
fn copy_top_via_and_routes(orig: &Request, out: &mut Request) -> Result<(), ParseError> {
    let via =
        orig.headers.values(HeaderName::Via).next().ok_or(ParseError::MissingHeader("Via"))?;
    out.headers.push(HeaderName::Via, via);
    for r in orig.headers.get_all(HeaderName::Route) {
        out.headers.push(HeaderName::Route, r);
    }
    out.headers.push(HeaderName::MaxForwards, "70");
    Ok(())
}

/// The ACK for a non-2xx final response to `invite`, built by the client transaction
/// (RFC 3261 §17.1.1.3): same Request-URI, Call-ID, From and CSeq number as the INVITE,
/// the To of the response (with its tag), one Via equal to the INVITE's top Via, the
/// INVITE's Route header fields, CSeq method ACK and no body.
pub fn build_non_2xx_ack(invite: &Request, response: &Response) -> Result<Request, ParseError> {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    copy_top_via_and_routes(invite, &mut ack)?;
    let h = &invite.headers;
    ack.headers
        .push(HeaderName::From, h.get(HeaderName::From).ok_or(ParseError::MissingHeader("From"))?);
    ack.headers.push(
        HeaderName::To,
        response.headers.get(HeaderName::To).ok_or(ParseError::MissingHeader("To"))?,
    );
    ack.headers.push(HeaderName::CallId, h.call_id()?);
    ack.headers.push(HeaderName::CSeq, &format!("{} ACK", h.cseq()?.seq));
    ack.headers.set_content_length(0);
    Ok(ack)
}

/// A CANCEL for `request` (RFC 3261 §9.1): same Request-URI, Call-ID, To, From and CSeq
/// number, one Via equal to the request's top Via (so it has the same branch), the
/// request's Route header fields, CSeq method CANCEL, no body. `extra` headers (such as
/// `Reason`, RFC 3326) are appended.
pub fn build_cancel(request: &Request, extra: &[(&str, &str)]) -> Result<Request, ParseError> {
    let mut c = Request::new(Method::Cancel, request.uri.clone());
    copy_top_via_and_routes(request, &mut c)?;
    let h = &request.headers;
    c.headers
        .push(HeaderName::From, h.get(HeaderName::From).ok_or(ParseError::MissingHeader("From"))?);
    c.headers.push(HeaderName::To, h.get(HeaderName::To).ok_or(ParseError::MissingHeader("To"))?);
    c.headers.push(HeaderName::CallId, h.call_id()?);
    c.headers.push(HeaderName::CSeq, &format!("{} CANCEL", h.cseq()?.seq));
    for (name, value) in extra {
        c.headers.push(*name, value);
    }
    c.headers.set_content_length(0);
    Ok(c)
}

/// A response built by the layer itself (481, 482, 503, 100, 200 to CANCEL).
pub(crate) fn layer_response(req: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let mut r = Response::from_request(req, code);
    if let Some(tag) = to_tag {
        // From/To were validated before the layer answers, so this cannot fail.
        let _ = r.set_to_tag(tag);
    }
    r
}

/// Where responses to a request go (RFC 3261 §18.2.2 with RFC 3581 §4), given its top Via
/// (after the layer added `received`/`rport`, §18.2.1) and the peer it came from.
///
/// - Reliable transports: the connection the request arrived on (`source.flow`); if the
///   driver finds it closed it connects to the returned address, which is the `received`
///   address (or sent-by) with the sent-by port (or the transport's default).
/// - Unreliable: with `rport` filled in, the source address and port; otherwise the
///   `received` address (or the sent-by address) and the sent-by port or default.
/// - `maddr` (multicast) is not supported; such responses go as if it were absent.
///
/// When the sent-by is a domain name and `received` is missing (a request the layer did
/// not stamp), the source address is used, since the layer does not resolve names.
pub fn response_destination(top_via: &Via, source: &Peer) -> Peer {
    let transport = Transport::from_via_str(&top_via.transport).unwrap_or(source.transport);
    let port = match top_via.rport() {
        Some(Some(p)) => p,
        _ => top_via.port.unwrap_or_else(|| transport.default_port()),
    };
    let ip: Option<IpAddr> = top_via.received().or_else(|| top_via.host.ip());
    let addr = ip.map_or(source.addr, |ip| SocketAddr::new(ip, port));
    Peer { addr, transport: source.transport, flow: source.flow }
}

/// Stamps the top Via of an incoming request (RFC 3261 §18.2.1, RFC 3581 §4): adds
/// `received` when the sent-by host is a name or another address than the packet's
/// source; fills in an empty `rport` with the source port (and then always adds
/// `received`). Returns the stamped Via. The header list is edited only when something
/// changes, and only the first Via value is rewritten.
pub(crate) fn stamp_received(req: &mut Request, source: SocketAddr) -> Result<Via, ParseError> {
    let mut via = req.headers.via_top()?;
    let wants_rport = matches!(via.rport(), Some(None));
    let differs = via.host.ip() != Some(source.ip());
    if !differs && !wants_rport {
        return Ok(via);
    }
    via.set_received(source.ip());
    if wants_rport {
        via.set_rport(source.port());
    }
    replace_top_via(req, &via);
    Ok(via)
}

/// Rewrites the first Via value of `req`, keeping the rest of its header line and every
/// other Via line in place.
fn replace_top_via(req: &mut Request, via: &Via) {
    let Some(idx) = req.headers.iter().position(|f| f.known() == Some(HeaderName::Via)) else {
        return;
    };
    let Some(line) = req.headers.remove_first(HeaderName::Via) else {
        return;
    };
    let mut value = via.to_string();
    for rest in ringfence_sip_types::split_list(&line).skip(1) {
        value.push_str(", ");
        value.push_str(rest);
    }
    req.headers.insert(idx, HeaderName::Via, &value);
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport, SIP/2.0/UDP p.example;branch=z9hG4bKx\r\n\
Via: SIP/2.0/UDP q.example;branch=z9hG4bKy\r\n\
Route: <sip:p1.example.com;lr>\r\n\
Route: <sip:p2.example.com;lr>\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\r\nv=0\n";

    fn invite() -> Request {
        Request::parse(INVITE).unwrap()
    }

    #[test]
    fn rfc3261_17_1_1_3_ack_for_non_2xx() {
        let inv = invite();
        let mut resp = Response::from_request(&inv, 486);
        resp.set_to_tag("a6c85cf").unwrap();
        let ack = build_non_2xx_ack(&inv, &resp).unwrap();
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri, inv.uri);
        let vias = ack.via().unwrap();
        assert_eq!(vias.len(), 1);
        assert_eq!(vias[0].branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(ack.routes().unwrap().len(), 2);
        assert_eq!(ack.to().unwrap().tag(), Some("a6c85cf"));
        assert_eq!(ack.from().unwrap().tag(), Some("1928301774"));
        assert_eq!(ack.cseq().unwrap().to_string(), "314159 ACK");
        assert!(ack.body.is_empty());
        assert!(ack.header_str("Contact").is_none());
        let again = Request::parse(&ack.to_bytes()).unwrap();
        assert_eq!(again, ack);
    }

    #[test]
    fn rfc3261_9_1_cancel() {
        let c = build_cancel(
            &invite(),
            &[("Reason", "SIP;cause=200;text=\"Call completed elsewhere\"")],
        )
        .unwrap();
        assert_eq!(c.method, Method::Cancel);
        assert_eq!(c.via().unwrap().len(), 1);
        assert_eq!(c.via_top().unwrap().branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(c.cseq().unwrap().to_string(), "314159 CANCEL");
        assert_eq!(c.to().unwrap().tag(), None);
        assert_eq!(c.routes().unwrap().len(), 2);
        assert!(c.header_str("Reason").unwrap().starts_with("SIP;cause=200"));
        assert!(c.body.is_empty());
    }

    #[test]
    fn rfc3261_18_2_1_received_and_rfc3581_rport() {
        let mut inv = invite();
        let src: SocketAddr = "192.0.2.4:5071".parse().unwrap();
        let via = stamp_received(&mut inv, src).unwrap();
        assert_eq!(via.received(), Some(src.ip()));
        assert_eq!(via.rport(), Some(Some(5071)));
        let vias = inv.via().unwrap();
        assert_eq!(vias.len(), 3, "other Via values kept");
        assert_eq!(vias[0], via);
        assert_eq!(vias[1].branch(), Some("z9hG4bKx"));
        assert_eq!(inv.headers.iter().next().unwrap().name, "Via", "top Via stays first");
        let dest = response_destination(&via, &Peer::new(src, Transport::Udp));
        assert_eq!(dest.addr, src);
    }

    #[test]
    fn rfc3261_18_2_2_destinations() {
        let src: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        let udp = Peer::new(src, Transport::Udp);
        // sent-by equal to the source address: no received, sent-by port.
        let mut req = invite();
        req.headers.set(HeaderName::Via, "SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK1");
        let via = stamp_received(&mut req, src).unwrap();
        assert_eq!(via.received(), None);
        assert_eq!(response_destination(&via, &udp).addr, "198.51.100.7:5062".parse().unwrap());
        // Domain sent-by without port: received address, default port.
        req.headers.set(HeaderName::Via, "SIP/2.0/UDP host.example;branch=z9hG4bK1");
        let via = stamp_received(&mut req, src).unwrap();
        assert_eq!(response_destination(&via, &udp).addr, "198.51.100.7:5060".parse().unwrap());
        // TLS keeps the flow; fallback port 5061.
        req.headers.set(HeaderName::Via, "SIP/2.0/TLS host.example;branch=z9hG4bK1");
        let via = stamp_received(&mut req, src).unwrap();
        let tls = Peer::new(src, Transport::Tls).with_flow(super::super::types::FlowId(9));
        let d = response_destination(&via, &tls);
        assert_eq!(d.flow, Some(super::super::types::FlowId(9)));
        assert_eq!(d.addr, "198.51.100.7:5061".parse().unwrap());
        // Unstamped domain sent-by: the source address.
        let via = Via::parse("SIP/2.0/UDP host.example;branch=z9hG4bK1").unwrap();
        assert_eq!(response_destination(&via, &udp).addr, src);
    }
}
