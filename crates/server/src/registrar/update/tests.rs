//! RFC 3261 §10.3 binding rules, one test per rule.

use std::time::{Duration, SystemTime};

use ringfence_sip_proto::transaction::{Peer, Transport};
use ringfence_sip_types::Request;

use super::*;

fn cfg() -> RegistrarConfig {
    RegistrarConfig { max_contacts: 3, ..RegistrarConfig::default() }
}

fn peer() -> Peer {
    Peer::new("192.0.2.10:5060".parse().unwrap(), Transport::Udp)
}

/// A REGISTER with the given Call-ID, CSeq and extra header lines.
fn register(call_id: &str, cseq: u32, extra: &str) -> Request {
    let text = format!(
        "REGISTER sip:pbx.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK{cseq}x\r\n\
         From: <sip:100@pbx.example>;tag=a1\r\n\
         To: <sip:100@pbx.example>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n"
    );
    Request::parse(text.as_bytes()).unwrap()
}

fn run(bindings: &mut Vec<Binding>, req: &Request, now: SystemTime) -> Result<Vec<Change>, Reject> {
    let reg = parse(req, peer(), &cfg())?;
    apply(bindings, &reg, now, cfg().max_contacts)
}

fn keys(bs: &[Binding]) -> Vec<&str> {
    bs.iter().map(|b| b.key.as_str()).collect()
}

#[test]
fn rfc3261_10_3_add_refresh_remove() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    let c =
        run(&mut bs, &register("c1", 1, "Contact: <sip:100@192.0.2.10>\r\nExpires: 300\r\n"), now)
            .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(keys(&bs), ["sip:100@192.0.2.10"]);
    assert_eq!(bs[0].remaining(now), 300);
    // Refresh with a contact expires parameter, which beats the Expires header.
    let later = now + Duration::from_secs(10);
    run(
        &mut bs,
        &register("c1", 2, "Contact: <sip:100@192.0.2.10>;expires=600\r\nExpires: 300\r\n"),
        later,
    )
    .unwrap();
    assert_eq!(bs.len(), 1);
    assert_eq!(bs[0].remaining(later), 600);
    assert_eq!(bs[0].cseq, 2);
    // Remove with expires=0.
    let c = run(&mut bs, &register("c1", 3, "Contact: <sip:100@192.0.2.10>;expires=0\r\n"), later)
        .unwrap();
    assert_eq!(c, [Change::Remove("sip:100@192.0.2.10".into())]);
    assert!(bs.is_empty());
}

#[test]
fn rfc3261_10_3_fetch_changes_nothing() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    run(&mut bs, &register("c1", 1, "Contact: <sip:100@192.0.2.10>\r\n"), now).unwrap();
    let c = run(&mut bs, &register("c9", 1, ""), now).unwrap();
    assert!(c.is_empty());
    assert_eq!(bs.len(), 1);
    assert_eq!(bs[0].remaining(now), 3600, "default interval");
}

#[test]
fn rfc3261_10_3_step7_interval_too_brief_and_clamped() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    let r = run(&mut bs, &register("c1", 1, "Contact: <sip:100@192.0.2.10>;expires=30\r\n"), now);
    assert_eq!(r, Err(Reject::TooBrief(60)));
    assert!(bs.is_empty());
    run(&mut bs, &register("c1", 2, "Contact: <sip:100@192.0.2.10>\r\nExpires: 86400\r\n"), now)
        .unwrap();
    assert_eq!(bs[0].remaining(now), 3600, "clamped to max_expires");
}

#[test]
fn rfc3261_10_3_step7_cseq_ordering() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    run(&mut bs, &register("c1", 5, "Contact: <sip:100@192.0.2.10>\r\n"), now).unwrap();
    // Same Call-ID, same or lower CSeq: the whole update is aborted.
    for cseq in [5, 4] {
        let r = run(
            &mut bs,
            &register(
                "c1",
                cseq,
                "Contact: <sip:200@192.0.2.10>, <sip:100@192.0.2.10>;expires=0\r\n",
            ),
            now,
        );
        assert_eq!(r, Err(Reject::OutOfOrder), "cseq {cseq}");
        assert_eq!(keys(&bs), ["sip:100@192.0.2.10"], "nothing changed");
    }
    // Another Call-ID (another device, or a rebooted one) may update regardless of CSeq.
    run(&mut bs, &register("c2", 1, "Contact: <sip:100@192.0.2.10>;expires=0\r\n"), now).unwrap();
    assert!(bs.is_empty());
}

#[test]
fn rfc3261_10_3_step6_wildcard() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    run(&mut bs, &register("c1", 1, "Contact: <sip:a@192.0.2.10>, <sip:b@192.0.2.10>\r\n"), now)
        .unwrap();
    assert_eq!(bs.len(), 2);
    // `*` needs Expires: 0 and no other contact.
    for extra in [
        "Contact: *\r\n",
        "Contact: *\r\nExpires: 5\r\n",
        "Contact: *, <sip:c@h>\r\nExpires: 0\r\n",
    ] {
        let r = parse(&register("c1", 2, extra), peer(), &cfg());
        assert!(matches!(r, Err(Reject::Bad(_))), "{extra:?}");
    }
    // A stale wildcard (same Call-ID, old CSeq) is refused.
    let r = run(&mut bs, &register("c1", 1, "Contact: *\r\nExpires: 0\r\n"), now);
    assert_eq!(r, Err(Reject::OutOfOrder));
    let c = run(&mut bs, &register("c1", 2, "Contact: *\r\nExpires: 0\r\n"), now).unwrap();
    assert_eq!(c.len(), 2);
    assert!(bs.is_empty());
}

#[test]
fn rfc3261_19_1_4_contacts_compare_as_uris() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    run(&mut bs, &register("c1", 1, "Contact: <sip:100@PC.Example:5060>\r\n"), now).unwrap();
    run(&mut bs, &register("c1", 2, "Contact: <sip:100@pc.example:5060>;expires=0\r\n"), now)
        .unwrap();
    assert!(bs.is_empty(), "host names compare case-insensitively");
}

#[test]
fn contact_cap_replaces_the_binding_closest_to_expiry() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    for (i, e) in [(1, 3000), (2, 1000), (3, 2000)] {
        let extra = format!("Contact: <sip:{i}@192.0.2.10>;expires={e}\r\n");
        run(&mut bs, &register(&format!("d{i}"), 1, &extra), now).unwrap();
    }
    let c = run(&mut bs, &register("d4", 1, "Contact: <sip:4@192.0.2.10>\r\n"), now).unwrap();
    assert!(c.contains(&Change::Remove("sip:2@192.0.2.10".into())));
    let mut k = keys(&bs);
    k.sort_unstable();
    assert_eq!(k, ["sip:1@192.0.2.10", "sip:3@192.0.2.10", "sip:4@192.0.2.10"]);
    // One request naming more contacts than allowed is refused.
    let many = "Contact: <sip:a@h>, <sip:b@h>, <sip:c@h>, <sip:d@h>\r\n";
    assert_eq!(run(&mut Vec::new(), &register("e", 1, many), now), Err(Reject::TooManyContacts));
}

#[test]
fn rfc5626_6_outbound_bindings_are_keyed_by_instance_and_reg_id() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    let inst = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"";
    let first = format!(
        "Supported: outbound, path\r\nContact: <sip:100@192.0.2.10:5060>;{inst};reg-id=1\r\n"
    );
    let reg = parse(&register("o1", 1, &first), peer(), &cfg()).unwrap();
    assert!(reg.any_outbound() && reg.path_supported);
    apply(&mut bs, &reg, now, 3).unwrap();
    // The device comes back from another port (new contact URI), new Call-ID: same binding.
    let again =
        format!("Supported: outbound\r\nContact: <sip:100@192.0.2.10:6000>;{inst};reg-id=1\r\n");
    let c = run(&mut bs, &register("o2", 1, &again), now).unwrap();
    assert_eq!(keys(&bs), ["sip:100@192.0.2.10:6000"]);
    assert_eq!(
        c,
        [Change::Remove("sip:100@192.0.2.10:5060".into()), Change::Upsert(bs[0].clone())]
    );
    assert_eq!(bs[0].reg_id, Some(1));
    // Without `Supported: outbound` the same contact is an ordinary binding.
    let plain = format!("Contact: <sip:100@192.0.2.10:7000>;{inst};reg-id=1\r\n");
    run(&mut bs, &register("o3", 1, &plain), now).unwrap();
    assert_eq!(bs.len(), 2);
}

#[test]
fn rfc3327_path_is_kept() {
    let now = SystemTime::now();
    let mut bs = Vec::new();
    let extra = "Path: <sip:edge1.example;lr>\r\nPath: <sip:edge2.example;lr>\r\nContact: <sip:100@192.0.2.10>\r\n";
    let reg = parse(&register("p", 1, extra), peer(), &cfg()).unwrap();
    assert!(!reg.path_supported);
    apply(&mut bs, &reg, now, 3).unwrap();
    assert_eq!(bs[0].path, ["<sip:edge1.example;lr>", "<sip:edge2.example;lr>"]);
}

#[test]
fn limits_the_store_keeps_are_checked() {
    let long = "x".repeat(300);
    let r = parse(&register(&long, 1, "Contact: <sip:a@h>\r\n"), peer(), &cfg());
    assert_eq!(r, Err(Reject::Bad("Call-ID Too Long")));
    let ua = format!("User-Agent: {}\r\nContact: <sip:a@h>\r\n", "é".repeat(200));
    let reg = parse(&register("u", 1, &ua), peer(), &cfg()).unwrap();
    assert!(reg.user_agent.unwrap().len() <= 256);
    let r = parse(&register("t", 1, "Contact: <tel:+15551234>\r\n"), peer(), &cfg());
    assert!(matches!(r, Err(Reject::Bad(_))));
}
