//! In-dialog behaviour of the B2BUA over raw SIP: UPDATE and re-INVITE in both
//! directions, offers in the 2xx (late offer) with the answer in the ACK, and a second
//! device answering after the first (ACK + BYE).

use crate::b2bua_support;

use b2bua_support::{CallEnv, Endpoint, PW, b2bua_config, sdp};
use ringfence_sip_types::{Method, Request};
use ringfence_store::{Disposition, EncryptionRequirement};

const EXTS: &[&str] = &["100", "101"];

fn body(r: &Request) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The next request that is not a retransmitted CANCEL.
async fn next_request(ep: &mut Endpoint) -> Request {
    loop {
        let r = ep.request().await;
        if r.method != Method::Cancel {
            return r;
        }
    }
}

#[tokio::test]
async fn rfc3311_update_from_the_caller_and_reinvite_from_the_callee_are_relayed() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    let mut callee = Endpoint::udp(c.server.udp).await;
    callee.register("101").await;
    let mut caller = Endpoint::udp(c.server.udp).await;
    caller.call("100", "101", PW, &sdp(false)).await;
    let inv = callee.request().await;
    callee.answer(&inv, 200, Some(&sdp(false))).await;
    let ok = caller.response(200).await;
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    assert_eq!(callee.request().await.method, Method::Ack);

    // UPDATE, caller to callee (RFC 3311 §5.1), with a new offer.
    let offer = sdp(false).replace("40000", "40010");
    caller.send(&caller.in_dialog_with("UPDATE", &ok, 3, Some(&offer))).await;
    let update = callee.request().await;
    assert_eq!(update.method, Method::Update);
    assert_eq!(update.call_id().unwrap(), inv.call_id().unwrap(), "in the callee's dialog");
    assert!(body(&update).contains("m=audio 40010"));
    callee.answer(&update, 200, Some(&sdp(false).replace("40000", "40020"))).await;
    let r = caller.response(200).await;
    assert_eq!(r.cseq().unwrap().method, Method::Update);
    assert!(String::from_utf8_lossy(&r.body).contains("m=audio 40020"));

    // re-INVITE, callee to caller: the callee puts the call on hold.
    let hold = sdp(false) + "a=sendonly\r\n";
    callee.send(&callee.callee_request("INVITE", &inv, 1, Some(&hold))).await;
    let reinvite = caller.request().await;
    assert_eq!(reinvite.method, Method::Invite);
    assert_eq!(reinvite.call_id().unwrap(), ok.call_id().unwrap(), "in the caller's dialog");
    assert!(body(&reinvite).contains("a=sendonly"));
    caller.answer(&reinvite, 200, Some(&(sdp(false) + "a=recvonly\r\n"))).await;
    // Our ACK reaches the caller; the callee gets the 2xx and ACKs it.
    assert_eq!(caller.request().await.method, Method::Ack);
    let r = callee.response(200).await;
    assert!(String::from_utf8_lossy(&r.body).contains("a=recvonly"));
    callee.send(&callee.callee_request("ACK", &inv, 1, None)).await;

    // The callee hangs up.
    callee.send(&callee.callee_request("BYE", &inv, 2, None)).await;
    let bye = caller.request().await;
    assert_eq!(bye.method, Method::Bye);
    caller.ok(&bye).await;
    assert_eq!(callee.response(200).await.cseq().unwrap().method, Method::Bye);
    let rec = c.record().await;
    assert_eq!(rec.call.disposition, Disposition::Answered);
    assert_eq!(rec.call.reason.as_deref(), Some("callee hung up"));
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn rfc3264_offer_in_the_2xx_answer_in_the_ack() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    let mut callee = Endpoint::udp(c.server.udp).await;
    callee.register("101").await;
    let mut caller = Endpoint::udp(c.server.udp).await;
    // No offer in the INVITE.
    caller.call("100", "101", PW, "").await;
    let inv = callee.request().await;
    assert!(inv.body.is_empty());
    callee.answer(&inv, 200, Some(&sdp(false))).await;
    let ok = caller.response(200).await;
    assert!(String::from_utf8_lossy(&ok.body).contains("m=audio"), "the offer reached the caller");
    // The callee's ACK waits for the caller's answer and carries it.
    let answer = sdp(false).replace("40000", "40050");
    caller.send(&caller.in_dialog_with("ACK", &ok, 2, Some(&answer))).await;
    let ack = callee.request().await;
    assert_eq!(ack.method, Method::Ack);
    assert!(body(&ack).contains("m=audio 40050"), "the answer rode the ACK:\n{}", body(&ack));

    // The same with a re-INVITE without offer, from the caller.
    caller.send(&caller.in_dialog("INVITE", &ok, 3)).await;
    let reinvite = callee.request().await;
    assert!(reinvite.body.is_empty());
    callee.answer(&reinvite, 200, Some(&sdp(false).replace("40000", "40060"))).await;
    let r = caller.response(200).await;
    assert!(String::from_utf8_lossy(&r.body).contains("m=audio 40060"));
    let answer = sdp(false).replace("40000", "40070");
    caller.send(&caller.in_dialog_with("ACK", &ok, 3, Some(&answer))).await;
    let ack = callee.request().await;
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.cseq().unwrap().seq, reinvite.cseq().unwrap().seq);
    assert!(body(&ack).contains("m=audio 40070"));

    caller.send(&caller.in_dialog("BYE", &ok, 4)).await;
    let bye = callee.request().await;
    assert_eq!(bye.method, Method::Bye);
    callee.ok(&bye).await;
    assert_eq!(caller.response(200).await.cseq().unwrap().method, Method::Bye);
    assert_eq!(c.record().await.call.disposition, Disposition::Answered);
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn rfc3261_13_2_2_4_a_late_answer_from_another_device_gets_ack_and_bye() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    let mut first = Endpoint::udp(c.server.udp).await;
    first.register("101").await;
    let mut second = Endpoint::udp(c.server.udp).await;
    second.register("101").await;
    let mut caller = Endpoint::udp(c.server.udp).await;
    caller.call("100", "101", PW, &sdp(false)).await;
    let inv1 = first.request().await;
    let inv2 = second.request().await;
    assert_ne!(inv1.call_id().unwrap(), inv2.call_id().unwrap(), "one dialog per device");
    first.answer(&inv1, 180, None).await;
    second.answer(&inv2, 180, None).await;
    first.answer(&inv1, 200, Some(&sdp(false))).await;
    let ok = caller.response(200).await;
    assert_eq!(first.request().await.method, Method::Ack);

    // The second device answered too, before our CANCEL reached it.
    let cancel = second.request().await;
    assert_eq!(cancel.method, Method::Cancel);
    second.ok(&cancel).await;
    second.answer(&inv2, 200, Some(&sdp(false))).await;
    let ack = next_request(&mut second).await;
    assert_eq!(ack.method, Method::Ack);
    let bye = next_request(&mut second).await;
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.call_id().unwrap(), inv2.call_id().unwrap());
    second.ok(&bye).await;

    // The call itself goes on with the first device.
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    caller.send(&caller.in_dialog("BYE", &ok, 3)).await;
    let bye = next_request(&mut first).await;
    assert_eq!(bye.method, Method::Bye);
    first.ok(&bye).await;
    assert_eq!(caller.response(200).await.cseq().unwrap().method, Method::Bye);
    let rec = c.record().await;
    assert_eq!(rec.call.disposition, Disposition::Answered);
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn rfc3261_13_3_1_4_the_2xx_is_retransmitted_until_the_ack() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    let mut callee = Endpoint::udp(c.server.udp).await;
    callee.register("101").await;
    let mut caller = Endpoint::udp(c.server.udp).await;
    caller.call("100", "101", PW, &sdp(false)).await;
    let inv = callee.request().await;
    callee.answer(&inv, 200, Some(&sdp(false))).await;
    assert_eq!(callee.request().await.method, Method::Ack, "we ACK the callee at once");
    // The caller's ACK is "lost": the same 2xx comes again.
    let ok = caller.response(200).await;
    let again = caller.response(200).await;
    assert_eq!(again.to_bytes(), ok.to_bytes(), "a retransmission, not a new answer");
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    let Endpoint::Udp(udp) = &caller else { unreachable!() };
    assert!(udp.silent(std::time::Duration::from_secs(2)).await, "no 2xx after the ACK");
    caller.send(&caller.in_dialog("BYE", &ok, 3)).await;
    let bye = callee.request().await;
    assert_eq!(bye.method, Method::Bye);
    callee.ok(&bye).await;
    assert_eq!(caller.response(200).await.cseq().unwrap().method, Method::Bye);
    c.assert_clean_after_records().await;
    c.stop().await;
}

#[tokio::test]
async fn rfc3261_15_no_bye_to_the_caller_before_its_ack() {
    let c = CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await;
    let mut callee = Endpoint::udp(c.server.udp).await;
    callee.register("101").await;
    let mut caller = Endpoint::udp(c.server.udp).await;
    caller.call("100", "101", PW, &sdp(false)).await;
    let inv = callee.request().await;
    callee.answer(&inv, 200, Some(&sdp(false))).await;
    assert_eq!(callee.request().await.method, Method::Ack);
    // The callee hangs up at once; the caller has not ACKed yet.
    callee.send(&callee.callee_request("BYE", &inv, 1, None)).await;
    assert_eq!(callee.response(200).await.cseq().unwrap().method, Method::Bye);
    let ok = caller.response(200).await;
    // Until the ACK, the caller only sees its 2xx again, no BYE.
    let ringfence_sip_types::Message::Response(again) = caller.next().await else {
        panic!("a BYE before the ACK");
    };
    assert_eq!(again.status.code(), 200);
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    let bye = caller.request().await;
    assert_eq!(bye.method, Method::Bye);
    caller.ok(&bye).await;
    let rec = c.record().await;
    assert_eq!(rec.call.reason.as_deref(), Some("callee hung up"));
    c.assert_clean();
    c.stop().await;
}
