//! The B2BUA over raw SIP: TLS + SRTP legs, the tenant's encryption requirement, loop
//! detection, the call cap, and what unauthenticated callers learn (nothing).

use crate::b2bua_support;
use crate::common;

use std::time::Duration;

use b2bua_support::{CallEnv, DOMAIN, Endpoint, PW, ack_for, b2bua_config, invite, sdp};
use common::client::{normalize, rand_hex};
use common::tools::svwar;
use ringfence_server::b2bua::B2buaConfig;
use ringfence_sip_types::{Method, Request, Response};
use ringfence_store::{Disposition, EncryptionRequirement, Transport};

const EXTS: &[&str] = &["100", "101", "102"];

/// The caller's final response to its authenticated INVITE (ACKed when non-2xx).
async fn final_response(ep: &mut Endpoint, invite: &[u8]) -> Response {
    let r = ep.response(200).await;
    if !r.status.is_success() {
        ep.send(&ack_for(invite, &r)).await;
    }
    r
}

#[tokio::test]
async fn tls_and_srtp_on_both_legs_make_an_encrypted_call() {
    let c = CallEnv::start(EncryptionRequirement::Required, b2bua_config(), EXTS).await;
    let mut callee = Endpoint::tls(c.server.tls, &c.server.cert_pem).await;
    callee.register("101").await;
    let mut caller = Endpoint::tls(c.server.tls, &c.server.cert_pem).await;
    let inv = caller.call("100", "101", PW, &sdp(true)).await;

    let offer = callee.request().await;
    assert_eq!(offer.method, Method::Invite);
    assert!(offer.uri.is_sips(), "the device registered a sips: contact");
    assert_eq!(offer.via_top().unwrap().transport, "TLS");
    assert!(String::from_utf8_lossy(&offer.body).contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80"));
    callee.answer(&offer, 200, Some(&sdp(true))).await;

    let ok = caller.response(200).await;
    assert_eq!(ok.status.code(), 200);
    assert!(String::from_utf8_lossy(&ok.body).contains("RTP/SAVP"));
    let contact = ok.contacts().unwrap()[0].address().unwrap().uri.clone();
    assert!(contact.is_sips(), "our Contact on a sips leg is sips: {contact}");
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    assert_eq!(callee.request().await.method, Method::Ack);

    caller.send(&caller.in_dialog("BYE", &ok, 3)).await;
    let bye = callee.request().await;
    assert_eq!(bye.method, Method::Bye);
    let mut ok_bye = Response::from_request(&bye, 200);
    ok_bye.headers.set_content_length(0);
    callee.send(&ok_bye.to_bytes()).await;
    assert_eq!(caller.response(200).await.status.code(), 200);

    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered);
    assert_eq!(r.call.transport, Transport::Tls);
    assert!(r.call.encrypted, "TLS + SRTP on both legs");
    let _ = inv;
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn encryption_required_refuses_a_plain_offer_with_488_and_a_warning() {
    let c = CallEnv::start(EncryptionRequirement::Required, b2bua_config(), EXTS).await;
    let mut callee = Endpoint::tls(c.server.tls, &c.server.cert_pem).await;
    callee.register("101").await;
    let mut caller = Endpoint::tls(c.server.tls, &c.server.cert_pem).await;
    let inv = caller.call("100", "101", PW, &sdp(false)).await;
    let r = final_response(&mut caller, &inv).await;
    assert_eq!(r.status.code(), 488);
    let warning = r.headers.get("Warning").expect("a Warning says why");
    assert!(warning.starts_with("399 calls.test \"SRTP"), "{warning}");
    let rec = c.record().await;
    assert_eq!((rec.call.disposition, rec.call.sip_status), (Disposition::Failed, Some(488)));
    assert!(rec.call.reason.unwrap().contains("not SRTP"));
    c.stop().await;
}

#[tokio::test]
async fn sdes_keys_only_go_to_tls_devices() {
    // An SRTP offer (with its SDES key) over TLS, but the only device of 101 is on UDP:
    // the key must not cross a plain leg, so there is nobody to call.
    let c = CallEnv::start(EncryptionRequirement::Preferred, b2bua_config(), EXTS).await;
    let mut plain_device = Endpoint::udp(c.server.udp).await;
    plain_device.register("101").await;
    let mut caller = Endpoint::tls(c.server.tls, &c.server.cert_pem).await;
    let inv = caller.call("100", "101", PW, &sdp(true)).await;
    let r = final_response(&mut caller, &inv).await;
    assert_eq!(r.status.code(), 480);
    // A plain offer is fine for that device.
    let inv = caller.call("100", "101", PW, &sdp(false)).await;
    let offer = plain_device.request().await;
    assert_eq!(offer.method, Method::Invite);
    plain_device.answer(&offer, 486, None).await;
    assert_eq!(plain_device.request().await.method, Method::Ack);
    let r = final_response(&mut caller, &inv).await;
    assert_eq!(r.status.code(), 486);
    let recs = c.records().await;
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[0].call.reason.as_deref(),
        Some("no device of the callee is registered over TLS")
    );
    assert_eq!(recs[1].call.disposition, Disposition::Busy);
    c.stop().await;
}

#[tokio::test]
async fn rfc3261_16_3_a_request_we_generated_coming_back_is_a_loop() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    // A "device" that forwards whatever it gets back to the server, like a
    // misconfigured forwarding proxy would.
    let mut reflector = Endpoint::udp(c.server.udp).await;
    reflector.register("102").await;
    let mut caller = Endpoint::udp(c.server.udp).await;
    let inv = caller.call("100", "102", PW, &sdp(false)).await;
    let ours = reflector.request().await;
    let mut looped = ours.clone();
    let via = format!("SIP/2.0/UDP {};branch=z9hG4bK{};rport", reflector.local(), rand_hex());
    looped.headers.push_front_of("Via", &via);
    reflector.send(&looped.to_bytes()).await;
    let answer = reflector.response(200).await;
    assert_eq!(answer.status.code(), 482, "Loop Detected");
    reflector.send(&ack_for(&looped.to_bytes(), &answer)).await;
    // The device gives up on our INVITE; the caller hears the call failed.
    reflector.answer(&ours, 482, None).await;
    let r = final_response(&mut caller, &inv).await;
    assert_eq!(r.status.code(), 480);
    assert_eq!(c.records().await.len(), 1, "the looped INVITE left no record");
    c.stop().await;
}

#[tokio::test]
async fn calls_beyond_the_cap_get_503() {
    let config = B2buaConfig { max_calls: 1, ..b2bua_config() };
    let c = CallEnv::start(EncryptionRequirement::Optional, config, EXTS).await;
    let mut device = Endpoint::udp(c.server.udp).await;
    device.register("101").await;
    let mut first = Endpoint::udp(c.server.udp).await;
    let inv1 = first.call("100", "101", PW, &sdp(false)).await;
    let ringing = device.request().await;
    device.answer(&ringing, 180, None).await;
    assert_eq!(first.response(180).await.status.code(), 180);

    let mut second = Endpoint::udp(c.server.udp).await;
    let inv2 = second.call("102", "101", PW, &sdp(false)).await;
    let r = final_response(&mut second, &inv2).await;
    assert_eq!(r.status.code(), 503);
    assert_eq!(r.headers.get("Retry-After"), Some("5"));

    // The first call is unaffected: it is answered and hung up.
    device.answer(&ringing, 200, Some(&sdp(false))).await;
    let ok = first.response(200).await;
    assert_eq!(ok.status.code(), 200);
    first.send(&first.in_dialog("ACK", &ok, 2)).await;
    assert_eq!(device.request().await.method, Method::Ack);
    first.send(&first.in_dialog("BYE", &ok, 3)).await;
    let bye = device.request().await;
    assert_eq!(bye.method, Method::Bye);
    device.send(&Response::from_request(&bye, 200).to_bytes()).await;
    assert_eq!(first.response(200).await.status.code(), 200);
    let recs = c.records().await;
    let dispositions: Vec<_> = recs.iter().map(|r| r.call.disposition).collect();
    assert!(dispositions.contains(&Disposition::Answered), "{dispositions:?}");
    assert!(recs.iter().any(|r| r.call.sip_status == Some(503)), "{recs:#?}");
    let _ = inv1;
    c.assert_clean();
    c.stop().await;
}

/// The INVITE challenge answered with a wrong password, normalised.
async fn refused_invite(
    server: std::net::SocketAddr,
    user: &str,
    callee: &str,
    domain: &str,
) -> String {
    let mut ep = Endpoint::udp(server).await;
    let call_id = format!("probe-{}", rand_hex());
    let local = ep.local();
    // A caller in `domain`: From and Request-URI name it.
    let text = String::from_utf8(invite(user, callee, local, "UDP", &call_id, 1, &[], "")).unwrap();
    let first = text.replace(DOMAIN, domain).into_bytes();
    ep.send(&first).await;
    let challenge = ep.response(200).await;
    ep.send(&ack_for(&first, &challenge)).await;
    let uri = format!("sip:{callee}@{domain}");
    let auth = b2bua_support::proxy_authorization(&challenge, "INVITE", &uri, user, "guess");
    let text =
        String::from_utf8(invite(user, callee, local, "UDP", &call_id, 2, &[auth], "")).unwrap();
    let second = text.replace(DOMAIN, domain).into_bytes();
    ep.send(&second).await;
    let raw = ep.response(200).await;
    ep.send(&ack_for(&second, &raw)).await;
    let port = local.port().to_string();
    normalize(
        &raw.to_bytes(),
        &[
            (&port, "PORT"),
            (&format!("sip:{user}@"), "sip:USER@"),
            (&format!("sip:{callee}@"), "sip:CALLEE@"),
            (domain, "DOMAIN"),
            (&call_id, "CALLID"),
        ],
    )
}

#[tokio::test]
async fn invite_refusals_look_the_same_whoever_is_asked() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    let cases = [
        ("wrong password, existing callee", "100", "101", DOMAIN),
        ("wrong password, unknown callee", "100", "150", DOMAIN),
        ("unknown caller", "170", "101", DOMAIN),
        ("unknown domain", "100", "101", "elsewhere.test"),
    ];
    let mut seen = Vec::new();
    for (case, user, callee, domain) in cases {
        seen.push((case, refused_invite(c.server.udp, user, callee, domain).await));
    }
    assert!(seen[0].1.starts_with("SIP/2.0 407 Proxy Authentication Required"), "{}", seen[0].1);
    for (case, text) in &seen[1..] {
        assert_eq!(&seen[0].1, text, "{case} differs from a wrong password");
    }
    assert!(c.records().await.is_empty(), "unauthenticated attempts leave no record");
    c.stop().await;
}

#[tokio::test]
async fn svwar_invite_scan_finds_no_extension() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    let run = svwar(c.server.udp, DOMAIN, "INVITE", "95-110").await;
    assert!(run.found.is_empty(), "svwar found {:?}:\n{}", run.found, run.output);
    assert!(run.output.contains("found nothing"), "{}", run.output);
    let b = c.b2bua.clone();
    assert!(common::tools::eventually(Duration::from_secs(5), || b.stats().calls == 0).await);
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn requests_for_unknown_dialogs_get_481() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    let mut ep = Endpoint::udp(c.server.udp).await;
    let bye = format!(
        "BYE sip:100@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK{b};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:101@{DOMAIN}>;tag=a\r\nTo: <sip:100@{DOMAIN}>;tag=nosuch\r\n\
         Call-ID: nosuch\r\nCSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n",
        l = ep.local(),
        b = rand_hex()
    );
    ep.send(bye.as_bytes()).await;
    assert_eq!(ep.response(200).await.status.code(), 481);
    let _ = Request::parse(bye.as_bytes()).unwrap();
    c.stop().await;
}
