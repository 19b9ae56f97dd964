//! RFC 5118 "SIP Torture Test Messages for IPv6": malformed ones are rejected with the
//! error naming the problem; the others parse, with every typed header.

use crate::common;

use ringfence_sip_types::{Host, Message, ParseError};

fn load(file: &str) -> Option<Vec<u8>> {
    common::corpus("rfc5118").map(|d| common::read(&d, file))
}

fn valid(section: &str, file: &str) -> Option<Message> {
    let bytes = load(file)?;
    let m = Message::parse(&bytes)
        .unwrap_or_else(|e| panic!("rfc5118 {section} {file}: expected to parse, got: {e}"));
    m.headers()
        .check_known()
        .unwrap_or_else(|e| panic!("rfc5118 {section} {file}: typed header failed: {e}"));
    m.check_required_headers().unwrap_or_else(|e| panic!("rfc5118 {section} {file}: {e}"));
    assert_eq!(
        Message::parse(&m.to_bytes()).unwrap(),
        m,
        "rfc5118 {section} {file}: reprint differs"
    );
    eprintln!("rfc5118 {section} {file}: valid ok");
    Some(m)
}

fn invalid(section: &str, file: &str, expected: ParseError) {
    let Some(bytes) = load(file) else { return };
    let e = Message::parse(&bytes).expect_err("must be rejected");
    assert_eq!(e, expected, "rfc5118 {section} {file}");
    eprintln!("rfc5118 {section} {file}: invalid ok ({})", e.reason_phrase());
}

fn ruri_host(m: &Message) -> Host {
    m.as_request().unwrap().uri.as_sip().unwrap().host.clone()
}

#[test]
fn rfc5118_4_1_ipv6_good() {
    let Some(m) = valid("4.1", "ipv6-good") else { return };
    assert_eq!(ruri_host(&m), Host::Ipv6("2001:db8::10".parse().unwrap()));
}

#[test]
fn rfc5118_4_2_ipv6_bad() {
    invalid("4.2", "ipv6-bad", ParseError::InvalidRequestUri("invalid host name"));
}

#[test]
fn rfc5118_4_3_port_ambiguous() {
    let Some(m) = valid("4.3", "port-ambiguous") else { return };
    let u = m.as_request().unwrap().uri.as_sip().unwrap().clone();
    assert_eq!(u.host, Host::Ipv6("2001:db8::10:5070".parse().unwrap()));
    assert_eq!(u.port, None);
}

#[test]
fn rfc5118_4_4_port_unambiguous() {
    let Some(m) = valid("4.4", "port-unambiguous") else { return };
    assert_eq!(m.as_request().unwrap().uri.as_sip().unwrap().port, Some(5070));
}

#[test]
fn rfc5118_4_5_via_received_param_with_delim() {
    let Some(m) = valid("4.5", "via-received-param-with-delim") else { return };
    assert_eq!(m.headers().via_top().unwrap().received(), Some("2001:db8::9:255".parse().unwrap()));
}

#[test]
fn rfc5118_4_5_via_received_param_no_delim() {
    let Some(m) = valid("4.5", "via-received-param-no-delim") else { return };
    assert_eq!(m.headers().via_top().unwrap().received(), Some("2001:db8::9:255".parse().unwrap()));
}

#[test]
fn rfc5118_4_6_ipv6_in_sdp() {
    valid("4.6", "ipv6-in-sdp");
}

#[test]
fn rfc5118_4_7_mult_ip_in_header() {
    let Some(m) = valid("4.7", "mult-ip-in-header") else { return };
    let v = m.headers().via().unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].port, Some(6050));
    assert_eq!(v[2].received(), Some("192.0.2.200".parse().unwrap()));
}

#[test]
fn rfc5118_4_8_mult_ip_in_sdp() {
    valid("4.8", "mult-ip-in-sdp");
}

#[test]
fn rfc5118_4_9_ipv4_mapped_ipv6() {
    let Some(m) = valid("4.9", "ipv4-mapped-ipv6") else { return };
    assert_eq!(m.headers().via_top().unwrap().port, Some(19823));
}

#[test]
fn rfc5118_4_10_ipv6_correct_abnf_2_colons() {
    valid("4.10", "ipv6-correct-abnf-2-colons");
}

#[test]
fn rfc5118_4_10_ipv6_bug_abnf_3_colons() {
    invalid(
        "4.10",
        "ipv6-bug-abnf-3-colons",
        ParseError::InvalidRequestUri("invalid IPv6 address"),
    );
}
