//! The messages the B2BUA builds: the callee legs' INVITEs, responses relayed to the
//! caller, in-dialog requests relayed between the legs, and local refusals.
//!
//! Topology hiding: nothing from one leg's routing (Via, Contact, Record-Route, Call-ID,
//! tags, User-Agent) reaches the other leg. Only the headers listed in [`COPY_REQUEST`]
//! and [`COPY_RESPONSE`] cross, plus bodies. Headers that could make a device answer by
//! itself (`Alert-Info`, `Call-Info` with `answer-after`) never cross.

use std::net::IpAddr;

use ringfence_sip_proto::transaction::Transport;
use ringfence_sip_types::header::{NameAddr, Via};
use ringfence_sip_types::{HeaderName, Host, Method, Param, Request, Response, SipUri, Uri};

use crate::core::CoreHandle;
use crate::options::ALLOWED_METHODS;

/// Headers of a request that are copied to the request relayed on the other leg.
pub(crate) const COPY_REQUEST: &[&str] =
    &["Subject", "Priority", "Content-Disposition", "Reason", "Info-Package", "Event"];

/// Headers of a response that are copied to the response relayed on the other leg.
pub(crate) const COPY_RESPONSE: &[&str] = &["Warning", "Retry-After", "Reason"];

/// The Max-Forwards every new request starts with (RFC 3261 §8.1.1.6).
pub(crate) const MAX_FORWARDS: u8 = 70;

/// Our address on one transport, as written in Via and Contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalAddr {
    pub host: Host,
    pub port: u16,
}

fn ip_host(ip: IpAddr) -> Host {
    match ip.to_canonical() {
        IpAddr::V4(a) => Host::Ipv4(a),
        IpAddr::V6(a) => Host::Ipv6(a),
    }
}

/// Our address for requests and responses on `transport`: the advertised host if
/// configured, else the listener's address, else (listener on a wildcard address) the
/// tenant's domain; the listener's port.
pub(crate) fn local_addr(
    core: &CoreHandle,
    advertised: Option<&Host>,
    transport: Transport,
    domain: &str,
) -> LocalAddr {
    let addr = core.local_addr(transport).or_else(|| core.local_addrs().first().map(|(_, a)| *a));
    let port = addr.map_or(transport.default_port(), |a| a.port());
    let host = match (advertised, addr) {
        (Some(h), _) => h.clone(),
        (None, Some(a)) if !a.ip().is_unspecified() => ip_host(a.ip()),
        _ => Host::parse(domain).unwrap_or_else(|_| Host::Domain(domain.to_owned())),
    };
    LocalAddr { host, port }
}

/// Our Via for a request on `transport`, with `rport` (RFC 3581).
pub(crate) fn via(local: &LocalAddr, transport: Transport, branch: &str) -> Via {
    let mut v = Via::new(transport.as_via_str(), local.host.clone(), Some(local.port), branch);
    v.params.push(Param::flag("rport"));
    v
}

/// Our Contact on `transport`; `sips:` when the leg is TLS and its peer used SIPS.
pub(crate) fn contact(local: &LocalAddr, transport: Transport, sips: bool) -> NameAddr {
    let mut u = SipUri::new(local.host.clone()).with_port(local.port);
    u = match transport {
        Transport::Udp => u,
        Transport::Tls if sips => u.with_secure(true),
        t => u.with_param("transport", Some(&t.as_via_str().to_ascii_lowercase())),
    };
    NameAddr::new(u)
}

/// The Max-Forwards for the request we relay for `request` (RFC 3261 §16.6 step 3).
/// The core has answered 483 to requests arriving with 0.
pub(crate) fn next_hops(request: &Request) -> u8 {
    match request.max_forwards() {
        Ok(Some(n)) => n.saturating_sub(1).min(MAX_FORWARDS),
        _ => MAX_FORWARDS,
    }
}

fn copy_headers(
    to: &mut ringfence_sip_types::Headers,
    from: &ringfence_sip_types::Headers,
    names: &[&str],
) {
    for name in names {
        for v in from.get_all(*name) {
            to.push(*name, v);
        }
    }
}

/// A body with its Content-Type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Body {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Body {
    pub fn sdp(bytes: Vec<u8>) -> Body {
        Body { content_type: "application/sdp".into(), bytes }
    }

    /// The body of a message, if any (Content-Type defaults to SDP).
    pub fn of(headers: &ringfence_sip_types::Headers, body: &[u8]) -> Option<Body> {
        (!body.is_empty()).then(|| Body {
            content_type: headers
                .get(HeaderName::ContentType)
                .unwrap_or("application/sdp")
                .to_owned(),
            bytes: body.to_vec(),
        })
    }
}

pub(crate) fn set_body(
    headers: &mut ringfence_sip_types::Headers,
    dst: &mut Vec<u8>,
    body: Option<Body>,
) {
    headers.remove(HeaderName::ContentLength);
    headers.remove(HeaderName::ContentType);
    if let Some(b) = body {
        headers.push(HeaderName::ContentType, &b.content_type);
        *dst = b.bytes;
    } else {
        dst.clear();
    }
    headers.set_content_length(dst.len());
}

/// What an INVITE to one of the callee's devices is made of.
#[derive(Debug)]
pub(crate) struct CalleeInvite<'a> {
    /// The device's registered contact.
    pub target: Uri,
    /// Its registration's Path (RFC 3327), used as Route.
    pub path: &'a [String],
    pub via: Via,
    /// The caller's extension, display name and our tag.
    pub from: NameAddr,
    /// The callee's extension.
    pub to: NameAddr,
    pub call_id: &'a str,
    pub max_forwards: u8,
    pub contact: NameAddr,
    pub body: Option<Body>,
    /// The caller's INVITE (for the headers in [`COPY_REQUEST`]).
    pub caller_invite: &'a Request,
}

/// The INVITE for one callee device (one fork).
pub(crate) fn callee_invite(p: CalleeInvite<'_>) -> Request {
    let mut b = Request::builder(Method::Invite, p.target).via(&p.via);
    for route in p.path {
        if let Ok(r) = NameAddr::parse(route) {
            b = b.route(&r);
        }
    }
    let mut req = b
        .max_forwards(p.max_forwards)
        .from(&p.from)
        .to(&p.to)
        .call_id(p.call_id)
        .cseq(1)
        .contact(&p.contact)
        .header(HeaderName::Allow, ALLOWED_METHODS)
        .build();
    copy_headers(&mut req.headers, &p.caller_invite.headers, &COPY_REQUEST[..2]);
    set_body(&mut req.headers, &mut req.body, p.body);
    req
}

/// A response to `request` (received on one leg) relaying `from` (received on the
/// other): status, reason, the headers in [`COPY_RESPONSE`], our Contact when given,
/// our To tag when the request had none, and `body`.
pub(crate) fn relay_response(
    request: &Request,
    from: &Response,
    our_tag: Option<&str>,
    contact: Option<&NameAddr>,
    body: Option<Body>,
) -> Response {
    let mut r = Response::from_request(request, from.status.code());
    r.reason.clone_from(&from.reason);
    if let Some(tag) = our_tag {
        let _ = r.set_to_tag(tag);
    }
    r.headers.remove(HeaderName::ContentLength);
    if let Some(c) = contact {
        r.headers.push(HeaderName::Contact, &c.to_string());
    }
    if request.method == Method::Invite && from.status.code() < 300 {
        r.headers.push(HeaderName::Allow, ALLOWED_METHODS);
    }
    copy_headers(&mut r.headers, &from.headers, COPY_RESPONSE);
    set_body(&mut r.headers, &mut r.body, body);
    r
}

/// A response of our own to `request`, with our To tag when it had none, an optional
/// reason phrase and Warning (RFC 3261 §20.43: `399 agent "text"`).
pub(crate) fn local_response(
    request: &Request,
    code: u16,
    our_tag: Option<&str>,
    warning: Option<(&str, &str)>,
) -> Response {
    let mut r = Response::from_request(request, code);
    if let Some(tag) = our_tag {
        let _ = r.set_to_tag(tag);
    }
    r.headers.remove(HeaderName::ContentLength);
    if let Some((agent, text)) = warning {
        let text: String = text.chars().filter(|c| *c != '"' && *c != '\\').collect();
        r.headers.push(HeaderName::Warning, &format!("399 {agent} \"{text}\""));
    }
    if code == 503 {
        r.headers.push(HeaderName::RetryAfter, "5");
    }
    r.headers.set_content_length(0);
    r
}

/// Fills a request built by the other leg's dialog with what crosses from `from`: the
/// headers in [`COPY_REQUEST`], Max-Forwards and the body.
pub(crate) fn relay_request(out: &mut Request, from: &Request, body: Option<Body>) {
    out.headers.set(HeaderName::MaxForwards, &next_hops(from).to_string());
    copy_headers(&mut out.headers, &from.headers, COPY_REQUEST);
    set_body(&mut out.headers, &mut out.body, body);
}

/// The ACK and the BYE for a 2xx to an INVITE that nobody wants (another device
/// answered first, or the caller is gone): RFC 3261 §13.2.2.4 says the UAC must ACK
/// every 2xx and may then end the dialog. Built from the response alone (Contact as
/// target, Record-Route reversed as route set, From/To/Call-ID as they are), so it
/// works after the call's state is gone. `None` when the 2xx has no Contact or To tag.
pub(crate) fn ack_and_bye(
    response: &Response,
    transport: Transport,
    core: &CoreHandle,
    local: &LocalAddr,
) -> Option<(Request, Request)> {
    let target = response.contacts().ok()?.into_iter().next()?.address()?.uri.clone();
    let mut routes = response.record_routes().ok()?;
    routes.reverse();
    let from = response.from().ok()?;
    let to = response.to().ok()?;
    to.tag()?;
    let call_id = response.call_id().ok()?;
    let seq = response.cseq().ok()?.seq;
    let make = |method: Method, seq: u32| {
        let mut b = Request::builder(method, target.clone()).via(&via(
            local,
            transport,
            &core.new_branch(),
        ));
        for r in &routes {
            b = b.route(r);
        }
        b.max_forwards(MAX_FORWARDS).from(&from).to(&to).call_id(call_id).cseq(seq).build()
    };
    Some((make(Method::Ack, seq), make(Method::Bye, seq.wrapping_add(1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Request {
        let text = "INVITE sip:101@demo.test SIP/2.0\r\n\
                    Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKa;rport=5070\r\n\
                    Max-Forwards: 12\r\nFrom: \"Mallory\" <sip:100@demo.test>;tag=f1\r\n\
                    To: <sip:101@demo.test>\r\nCall-ID: a-leg@192.0.2.1\r\nCSeq: 2 INVITE\r\n\
                    Contact: <sip:100@192.0.2.1:5070>\r\nSubject: lunch\r\n\
                    Alert-Info: <http://x>;info=alert-autoanswer\r\nUser-Agent: Phone 1.0\r\n\
                    Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
        Request::parse(text.as_bytes()).unwrap()
    }

    fn local() -> LocalAddr {
        LocalAddr { host: Host::parse("198.51.100.7").unwrap(), port: 5061 }
    }

    #[test]
    fn rfc3261_16_6_max_forwards_is_decremented() {
        assert_eq!(next_hops(&invite()), 11);
        let mut r = invite();
        r.headers.set(HeaderName::MaxForwards, "200");
        assert_eq!(next_hops(&r), 70);
        r.headers.remove(HeaderName::MaxForwards);
        assert_eq!(next_hops(&r), 70);
    }

    #[test]
    fn callee_invite_hides_the_caller_leg() {
        let a = invite();
        let from = NameAddr::new(Uri::parse("sip:100@demo.test").unwrap())
            .with_display_name("Extension 100")
            .with_tag("btag");
        let req = callee_invite(CalleeInvite {
            target: Uri::parse("sip:101@192.0.2.9:5080;ob").unwrap(),
            path: &["<sip:edge.example;lr>".to_owned()],
            via: via(&local(), Transport::Tls, "z9hG4bKnew"),
            from,
            to: NameAddr::new(Uri::parse("sip:101@demo.test").unwrap()),
            call_id: "b-leg",
            max_forwards: next_hops(&a),
            contact: contact(&local(), Transport::Tls, false),
            body: Body::of(&a.headers, &a.body),
            caller_invite: &a,
        });
        let text = String::from_utf8(req.to_bytes()).unwrap();
        assert!(text.starts_with("INVITE sip:101@192.0.2.9:5080;ob SIP/2.0\r\n"), "{text}");
        assert!(text.contains("Via: SIP/2.0/TLS 198.51.100.7:5061;branch=z9hG4bKnew;rport\r\n"));
        assert!(text.contains("Route: <sip:edge.example;lr>\r\n"));
        assert!(text.contains("Max-Forwards: 11\r\n"));
        assert!(text.contains("From: \"Extension 100\" <sip:100@demo.test>;tag=btag\r\n"));
        assert!(text.contains("Contact: <sip:198.51.100.7:5061;transport=tls>\r\n"));
        assert!(text.contains("Subject: lunch\r\n"));
        assert!(text.ends_with("Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n"));
        for hidden in ["a-leg", "192.0.2.1", "Mallory", "Alert-Info", "User-Agent", "f1"] {
            assert!(!text.contains(hidden), "{hidden} leaked:\n{text}");
        }
    }

    #[test]
    fn relayed_responses_carry_our_tag_contact_and_the_body() {
        let a = invite();
        let b = Response::parse(
            b"SIP/2.0 183 Session Progress\r\nVia: SIP/2.0/TLS x;branch=z9hG4bKb\r\n\
              From: <sip:100@demo.test>;tag=btag\r\nTo: <sip:101@demo.test>;tag=dev\r\n\
              Call-ID: b-leg\r\nCSeq: 1 INVITE\r\nContact: <sip:101@192.0.2.9:5080>\r\n\
              Server: Device\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let c = contact(&local(), Transport::Udp, false);
        let r =
            relay_response(&a, &b, Some("atag"), Some(&c), Some(Body::sdp(b"v=0\r\n".to_vec())));
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(text.starts_with("SIP/2.0 183 Session Progress\r\n"));
        assert!(text.contains("To: <sip:101@demo.test>;tag=atag\r\n"), "{text}");
        assert!(text.contains("Call-ID: a-leg@192.0.2.1\r\n"));
        assert!(text.contains("Contact: <sip:198.51.100.7:5061>\r\n"));
        assert!(!text.contains("192.0.2.9") && !text.contains("Device") && !text.contains("dev"));
        assert!(
            text.ends_with("Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n")
        );
    }

    #[test]
    fn local_refusal_with_warning() {
        let r =
            local_response(&invite(), 488, Some("t1"), Some(("demo.test", "SRTP \"required\"")));
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(text.starts_with("SIP/2.0 488 Not Acceptable Here\r\n"));
        assert!(text.contains("Warning: 399 demo.test \"SRTP required\"\r\n"), "{text}");
        assert!(text.contains(";tag=t1"));
        let r = local_response(&invite(), 503, None, None);
        assert_eq!(r.headers.get(HeaderName::RetryAfter), Some("5"));
    }

    #[test]
    fn contacts_per_transport() {
        let l = local();
        assert_eq!(contact(&l, Transport::Udp, false).to_string(), "<sip:198.51.100.7:5061>");
        assert_eq!(
            contact(&l, Transport::Tcp, false).to_string(),
            "<sip:198.51.100.7:5061;transport=tcp>"
        );
        assert_eq!(contact(&l, Transport::Tls, true).to_string(), "<sips:198.51.100.7:5061>");
    }
}
