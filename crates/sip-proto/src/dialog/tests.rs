//! Dialog tests, named by RFC 3261 section.

use ringfence_sip_types::header::Via;
use ringfence_sip_types::{Host, Method, Request, Response, Uri};

use super::*;
use crate::transaction::Transport;

const INVITE: &str = "INVITE sips:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
Record-Route: <sip:p2.example.com;lr>\r\n\
Record-Route: <sip:p1.example.com;lr>\r\n\
To: Bob <sips:bob@biloxi.example.com>\r\n\
From: Alice <sips:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sips:alice@pc33.atlanta.example.com>\r\n\
Content-Length: 0\r\n\r\n";

fn invite() -> Request {
    Request::parse(INVITE.as_bytes()).unwrap()
}

/// The response as the UAC receives it: Record-Route copied, Contact of the UAS.
fn answer(req: &Request, code: u16, contact: &str) -> Response {
    let mut r = Response::from_request(req, code);
    r.set_to_tag("a6c85cf").unwrap();
    for rr in req.headers.get_all("Record-Route") {
        r.headers.push("Record-Route", rr);
    }
    r.headers.push("Contact", contact);
    r
}

fn via() -> Via {
    Via::new("TLS", Host::parse("pc33.atlanta.example.com").unwrap(), None, "z9hG4bKnew")
}

fn uac() -> Dialog {
    let inv = invite();
    Dialog::new_uac(&inv, &answer(&inv, 180, "<sips:bob@192.0.2.4>"), Transport::Tls).unwrap()
}

/// An in-dialog request as the UAS side receives it from the UAC.
fn from_uac(method: &str, cseq: u32, contact: Option<&str>) -> Request {
    let contact = contact.map(|c| format!("Contact: {c}\r\n")).unwrap_or_default();
    let text = format!(
        "{method} sips:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bK{cseq}\r\n\
         To: Bob <sips:bob@biloxi.example.com>;tag=a6c85cf\r\nFrom: Alice <sips:alice@atlanta.example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: {cseq} {method}\r\n{contact}Content-Length: 0\r\n\r\n"
    );
    Request::parse(text.as_bytes()).unwrap()
}

fn uas() -> Dialog {
    let inv = invite();
    let mut ok = Response::from_request(&inv, 200);
    ok.set_to_tag("a6c85cf").unwrap();
    ok.headers.push("Contact", "<sips:bob@192.0.2.4>");
    Dialog::new_uas(&inv, &ok, Transport::Tls).unwrap()
}

#[test]
fn rfc3261_12_1_2_uac_early_then_confirmed() {
    let mut d = uac();
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.role(), Role::Uac);
    assert_eq!(d.id().local_tag, "1928301774");
    assert_eq!(d.id().remote_tag, "a6c85cf");
    assert_eq!(d.local_seq(), Some(314159));
    assert_eq!(d.remote_seq(), None);
    assert!(d.is_secure());
    let hosts: Vec<String> = d.route_set().iter().map(|r| r.uri.to_string()).collect();
    assert_eq!(hosts, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"], "Record-Route reversed");
    assert_eq!(d.remote_target().to_string(), "sips:bob@192.0.2.4");
    assert!(d.local_uri().tag().is_none());
    // §13.2.2.4: the 2xx confirms and recomputes route set and target.
    let inv = invite();
    let mut ok = answer(&inv, 200, "<sips:bob@192.0.2.99>");
    ok.headers.remove("Record-Route");
    ok.headers.push("Record-Route", "<sip:p3.example.com;lr>");
    d.handle_response(&ok).unwrap();
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.remote_target().to_string(), "sips:bob@192.0.2.99");
    assert_eq!(d.route_set().len(), 1);
}

#[test]
fn rfc3261_12_3_early_dialog_ends_on_non_2xx() {
    let mut d = uac();
    let inv = invite();
    d.handle_response(&answer(&inv, 486, "<sips:bob@192.0.2.4>")).unwrap();
    assert_eq!(d.state(), DialogState::Terminated);
    assert_eq!(d.create_request(Method::Bye, &via()), Err(crate::Error::DialogTerminated));
}

#[test]
fn rfc3261_12_1_uac_rejects_non_dialog_responses() {
    let inv = invite();
    let mut trying = Response::from_request(&inv, 100);
    trying.set_to_tag("x").unwrap();
    assert!(matches!(
        Dialog::new_uac(&inv, &trying, Transport::Tls),
        Err(crate::Error::CannotCreateDialog(_))
    ));
    let untagged = Response::from_request(&inv, 180);
    assert!(matches!(
        Dialog::new_uac(&inv, &untagged, Transport::Tls),
        Err(crate::Error::CannotCreateDialog(_))
    ));
    let mut no_contact = Response::from_request(&inv, 200);
    no_contact.set_to_tag("x").unwrap();
    assert_eq!(
        Dialog::new_uac(&inv, &no_contact, Transport::Tls),
        Err(crate::Error::MissingContact)
    );
    // Not secure over TCP even with a SIPS URI.
    let d = Dialog::new_uac(&inv, &answer(&inv, 200, "<sips:b@h>"), Transport::Tcp).unwrap();
    assert!(!d.is_secure());
}

#[test]
fn rfc3261_12_1_1_uas_dialog() {
    let d = uas();
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.role(), Role::Uas);
    assert_eq!(d.id().local_tag, "a6c85cf");
    assert_eq!(d.id().remote_tag, "1928301774");
    assert_eq!(d.remote_seq(), Some(314159));
    assert_eq!(d.local_seq(), None);
    let hosts: Vec<String> = d.route_set().iter().map(|r| r.uri.to_string()).collect();
    assert_eq!(hosts, ["sip:p2.example.com;lr", "sip:p1.example.com;lr"], "Record-Route in order");
    assert_eq!(d.remote_target().to_string(), "sips:alice@pc33.atlanta.example.com");
    assert_eq!(d.local_contact().unwrap().uri.to_string(), "sips:bob@192.0.2.4");
    let inv = invite();
    let mut no_contact = invite();
    no_contact.headers.remove("Contact");
    let mut ok = Response::from_request(&inv, 200);
    ok.set_to_tag("t").unwrap();
    assert_eq!(
        Dialog::new_uas(&no_contact, &ok, Transport::Tls),
        Err(crate::Error::MissingContact)
    );
}

#[test]
fn rfc3261_12_2_1_1_loose_routing_request() {
    let mut d = uas();
    let bye = d.create_request(Method::Bye, &via()).unwrap();
    assert_eq!(bye.uri.to_string(), "sips:alice@pc33.atlanta.example.com");
    let routes: Vec<String> = bye.routes().unwrap().iter().map(|r| r.uri.to_string()).collect();
    assert_eq!(routes, ["sip:p2.example.com;lr", "sip:p1.example.com;lr"]);
    assert_eq!(bye.cseq().unwrap().to_string(), "1 BYE", "first UAS request uses CSeq 1");
    assert_eq!(bye.to().unwrap().tag(), Some("1928301774"));
    assert_eq!(bye.from().unwrap().tag(), Some("a6c85cf"));
    assert_eq!(bye.call_id().unwrap(), "a84b4c76e66710@pc33.atlanta.example.com");
    assert_eq!(bye.max_forwards().unwrap(), Some(70));
    assert!(bye.header_str("Contact").is_none(), "BYE is not a target refresh");
    let reinvite = d.create_request(Method::Invite, &via()).unwrap();
    assert_eq!(reinvite.cseq().unwrap().seq, 2);
    assert_eq!(reinvite.contacts().unwrap().len(), 1);
    assert_eq!(d.next_hop().to_string(), "sip:p2.example.com;lr");
    assert!(matches!(
        d.create_request(Method::Ack, &via()),
        Err(crate::Error::NotAnInDialogMethod(_))
    ));
    assert!(matches!(
        d.create_request(Method::Cancel, &via()),
        Err(crate::Error::NotAnInDialogMethod(_))
    ));
    // Round trip through the wire form.
    assert_eq!(Request::parse(&bye.to_bytes()).unwrap(), bye);
}

#[test]
fn rfc3261_12_2_1_1_strict_routing_request() {
    let inv = invite();
    let mut r = Response::from_request(&inv, 200);
    r.set_to_tag("a6c85cf").unwrap();
    r.headers.push("Record-Route", "<sip:p2.example.com;lr>");
    r.headers.push("Record-Route", "<sip:strict.example.com;method=INVITE?Subject=x>");
    r.headers.push("Contact", "<sips:bob@192.0.2.4>");
    let mut d = Dialog::new_uac(&inv, &r, Transport::Tls).unwrap();
    let info = d.create_request(Method::Info, &via()).unwrap();
    assert_eq!(info.uri.to_string(), "sip:strict.example.com", "method param and headers stripped");
    let routes: Vec<String> = info.routes().unwrap().iter().map(|r| r.uri.to_string()).collect();
    assert_eq!(routes, ["sip:p2.example.com;lr", "sips:bob@192.0.2.4"]);
    assert_eq!(info.cseq().unwrap().seq, 314160);
    assert!(matches!(d.next_hop(), Uri::Sip(s) if s.host.to_string() == "strict.example.com"));
}

#[test]
fn rfc3261_13_2_2_4_ack_for_2xx() {
    let d = uac();
    let ack = d.create_ack(314159, &via());
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.cseq().unwrap().to_string(), "314159 ACK");
    assert_eq!(ack.via_top().unwrap().branch(), Some("z9hG4bKnew"));
    assert_eq!(ack.uri.to_string(), "sips:bob@192.0.2.4");
    assert_eq!(d.local_seq(), Some(314159), "ACK does not advance the local CSeq");
}

#[test]
fn rfc3261_12_2_2_cseq_order_and_target_refresh() {
    let mut d = uas();
    d.handle_request(&from_uac("INFO", 314160, None)).unwrap();
    assert_eq!(d.remote_seq(), Some(314160));
    let err = d.handle_request(&from_uac("INFO", 314150, None)).unwrap_err();
    assert_eq!(err, crate::Error::CSeqOutOfOrder { got: 314150, last: 314160 });
    assert_eq!(err.status_code(), Some(500));
    // ACK repeats its INVITE's number: exempt.
    d.handle_request(&from_uac("ACK", 314159, None)).unwrap();
    // re-INVITE and UPDATE refresh the target; INFO does not.
    d.handle_request(&from_uac("INFO", 314161, Some("<sips:alice@203.0.113.1>"))).unwrap();
    assert_eq!(d.remote_target().to_string(), "sips:alice@pc33.atlanta.example.com");
    d.handle_request(&from_uac("INVITE", 314162, Some("<sips:alice@203.0.113.2>"))).unwrap();
    assert_eq!(d.remote_target().to_string(), "sips:alice@203.0.113.2");
    d.handle_request(&from_uac("UPDATE", 314163, Some("<sips:alice@203.0.113.3>"))).unwrap();
    assert_eq!(d.remote_target().to_string(), "sips:alice@203.0.113.3");
    let mut stranger = from_uac("INFO", 314170, None);
    stranger.headers.set("From", "<sips:eve@example.com>;tag=other");
    assert_eq!(d.handle_request(&stranger), Err(crate::Error::NotThisDialog));
    assert_eq!(crate::Error::NotThisDialog.status_code(), Some(481));
    d.handle_request(&from_uac("BYE", 314171, None)).unwrap();
    assert_eq!(d.state(), DialogState::Terminated);
}

#[test]
fn rfc3261_12_2_1_2_responses_in_dialog() {
    let mut d = uas();
    let reinvite = d.create_request(Method::Invite, &via()).unwrap();
    // The UAC side answers: To carries the UAC's tag (our remote tag).
    let mut ok = Response::from_request(&reinvite, 200);
    ok.headers.push("Contact", "<sips:alice@203.0.113.9>");
    d.handle_response(&ok).unwrap();
    assert_eq!(d.remote_target().to_string(), "sips:alice@203.0.113.9");
    let info = d.create_request(Method::Info, &via()).unwrap();
    d.handle_response(&Response::from_request(&info, 481)).unwrap();
    assert_eq!(d.state(), DialogState::Terminated);
    let mut other = Response::from_request(&info, 200);
    other.headers.set("Call-ID", "different");
    assert_eq!(d.handle_response(&other), Err(crate::Error::NotThisDialog));
}

#[test]
fn rfc3261_12_1_1_uas_early_dialog_confirmed_by_sent_2xx() {
    let inv = invite();
    let mut ringing = Response::from_request(&inv, 180);
    ringing.set_to_tag("a6c85cf").unwrap();
    ringing.headers.push("Contact", "<sips:bob@192.0.2.4>");
    let mut d = Dialog::new_uas(&inv, &ringing, Transport::Tls).unwrap();
    assert_eq!(d.state(), DialogState::Early);
    let mut ok = Response::from_request(&inv, 200);
    ok.set_to_tag("a6c85cf").unwrap();
    d.handle_sent_response(&ok).unwrap();
    assert_eq!(d.state(), DialogState::Confirmed);
    let mut d2 = Dialog::new_uas(&inv, &ringing, Transport::Tls).unwrap();
    d2.handle_sent_response(&Response::from_request(&inv, 487)).unwrap();
    assert_eq!(d2.state(), DialogState::Terminated);
    assert!(DialogId::for_incoming_request(&inv).unwrap().is_none());
    assert_eq!(
        d.id().to_string(),
        "a84b4c76e66710@pc33.atlanta.example.com;local-tag=a6c85cf;remote-tag=1928301774"
    );
}
