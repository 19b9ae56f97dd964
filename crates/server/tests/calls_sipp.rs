//! Calls between extensions through the B2BUA, driven by SIPp: callee devices register
//! and answer (tests/sipp/call_uas_*.xml), callers authenticate and call
//! (tests/sipp/call_uac*.xml); every test checks the call record in the store.

use crate::b2bua_support;
use crate::common;

use std::time::Duration;

use b2bua_support::{
    CallEnv, Device, b2bua_config, caller, final_status, header, received_request,
};
use ringfence_store::{Disposition, EncryptionRequirement, Transport};

const EXTS: &[&str] = &["100", "101", "102"];

async fn optional_tenant() -> CallEnv {
    CallEnv::start(EncryptionRequirement::Optional, b2bua_config(), EXTS).await
}

#[tokio::test]
async fn rfc3261_13_call_with_auth_answered_and_hung_up_by_the_caller() {
    let c = optional_tenant().await;
    let callee = Device::start(c.server.udp, "101", "call_uas_answer.xml").await;
    let run = caller("call_uac.xml", c.server.udp, "100", "101").run().await;
    run.assert_success();
    let dev = callee.finish().await;
    dev.assert_success();

    // The caller was challenged, then heard ringing and the answer.
    let codes: Vec<u16> = run
        .received()
        .iter()
        .filter_map(|m| m.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok())
        .filter(|c| *c != 100)
        .collect();
    assert_eq!(codes, [407, 180, 200, 200], "{}", run.messages);

    // The callee leg is a new dialog: nothing of the caller's leg crosses.
    let inv = received_request(&dev, "INVITE").expect("the callee got an INVITE");
    let a_call_id = header(&run.sent()[0], "Call-ID").unwrap().to_owned();
    assert!(!inv.contains(&a_call_id), "caller's Call-ID leaked:\n{inv}");
    assert!(!inv.contains("SIPpTag00"), "caller's tag leaked:\n{inv}");
    assert!(!inv.contains("SIPp caller"), "caller's own display name crossed:\n{inv}");
    let from = header(&inv, "From").unwrap();
    assert!(from.starts_with("\"Extension 100\" <sip:100@calls.test>;tag="), "{from}");
    assert_eq!(header(&inv, "To"), Some("<sip:101@calls.test>"));
    assert_eq!(header(&inv, "Max-Forwards"), Some("69"), "RFC 3261 §16.6 step 3");
    assert_eq!(header(&inv, "Subject"), Some("B2BUA test"));
    assert!(inv.contains("m=audio"), "the offer went through:\n{inv}");
    assert!(header(&inv, "Proxy-Authorization").is_none(), "credentials leaked:\n{inv}");

    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered);
    assert_eq!(r.call.sip_status, Some(200));
    assert_eq!((r.call.caller.as_str(), r.call.callee.as_str()), ("100", "101"));
    assert_eq!(r.call.call_id, a_call_id);
    assert_eq!(r.call.from_extension_id, Some(c.extensions["100"]));
    assert_eq!(r.call.to_extension_id, Some(c.extensions["101"]));
    assert_eq!(r.call.transport, Transport::Udp);
    assert!(!r.call.encrypted);
    assert!(r.call.duration_s > 0, "{r:?}");
    assert!(r.call.answered_at.is_some() && r.call.ended_at >= r.call.answered_at);
    assert_eq!(r.call.reason.as_deref(), Some("caller hung up"));
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn rfc3261_15_1_callee_hangs_up() {
    let c = optional_tenant().await;
    let callee = Device::start(c.server.udp, "101", "call_uas_hangup.xml").await;
    let run = caller("call_uac_wait_bye.xml", c.server.udp, "100", "101").run().await;
    run.assert_success();
    callee.finish().await.assert_success();
    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered);
    assert_eq!(r.call.reason.as_deref(), Some("callee hung up"));
    assert!(r.call.duration_s > 0);
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn rfc3261_9_cancel_before_answer_reaches_the_callee() {
    let c = optional_tenant().await;
    let callee = Device::start(c.server.udp, "101", "call_uas_ring.xml").await;
    let run = caller("call_uac_cancel.xml", c.server.udp, "100", "101").run().await;
    run.assert_success();
    // The device's scenario only succeeds if the CANCEL reached it.
    let dev = callee.finish().await;
    dev.assert_success();
    assert!(received_request(&dev, "CANCEL").is_some());
    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Cancelled);
    assert_eq!(r.call.sip_status, Some(487));
    assert_eq!((r.call.duration_s, r.call.answered_at), (0, None));
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn busy_callee_gives_486() {
    let c = optional_tenant().await;
    let callee = Device::start(c.server.udp, "101", "call_uas_busy.xml").await;
    let run = caller("call_uac_refused.xml", c.server.udp, "100", "101").run().await;
    run.assert_success();
    callee.finish().await.assert_success();
    assert_eq!(final_status(&run), 486);
    let r = c.record().await;
    assert_eq!((r.call.disposition, r.call.sip_status), (Disposition::Busy, Some(486)));
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn callee_not_registered_gives_480() {
    let c = optional_tenant().await;
    let run = caller("call_uac_refused.xml", c.server.udp, "100", "102").run().await;
    run.assert_success();
    assert_eq!(final_status(&run), 480);
    let r = c.record().await;
    assert_eq!((r.call.disposition, r.call.sip_status), (Disposition::Unavailable, Some(480)));
    assert_eq!(r.call.reason.as_deref(), Some("callee not registered"));
    c.stop().await;
}

#[tokio::test]
async fn no_answer_within_the_ring_timeout_gives_480_and_cancels_the_device() {
    let config = b2bua_support::b2bua_config();
    let config =
        ringfence_server::b2bua::B2buaConfig { ring_timeout: Duration::from_secs(2), ..config };
    let c = CallEnv::start(EncryptionRequirement::Optional, config, EXTS).await;
    let callee = Device::start(c.server.udp, "101", "call_uas_ring.xml").await;
    let run = caller("call_uac_refused.xml", c.server.udp, "100", "101").run().await;
    run.assert_success();
    assert_eq!(final_status(&run), 480);
    callee.finish().await.assert_success();
    let r = c.record().await;
    assert_eq!((r.call.disposition, r.call.sip_status), (Disposition::NoAnswer, Some(480)));
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn unknown_extension_gives_404_to_an_authenticated_caller() {
    let c = optional_tenant().await;
    let run = caller("call_uac_refused.xml", c.server.udp, "100", "150").run().await;
    run.assert_success();
    assert_eq!(final_status(&run), 404);
    let r = c.record().await;
    assert_eq!(
        (r.call.sip_status, r.call.reason.as_deref()),
        (Some(404), Some("no such extension"))
    );
    assert_eq!(r.call.to_extension_id, None);
    c.stop().await;
}

#[tokio::test]
async fn parallel_forking_first_answer_wins_and_the_other_device_is_cancelled() {
    let c = optional_tenant().await;
    let answering = Device::start(c.server.udp, "101", "call_uas_answer.xml").await;
    let ringing = Device::start(c.server.udp, "101", "call_uas_ring.xml").await;
    let run = caller("call_uac.xml", c.server.udp, "100", "101").run().await;
    run.assert_success();
    answering.finish().await.assert_success();
    let other = ringing.finish().await;
    other.assert_success();
    let cancel = received_request(&other, "CANCEL").expect("the other device was cancelled");
    assert!(cancel.contains("Call completed elsewhere"), "RFC 3326 Reason:\n{cancel}");
    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered);
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn rfc3264_8_4_hold_and_resume_are_relayed() {
    let c = optional_tenant().await;
    let callee = Device::start(c.server.udp, "101", "call_uas_hold.xml").await;
    let run = caller("call_uac_hold.xml", c.server.udp, "100", "101").run().await;
    run.assert_success();
    let dev = callee.finish().await;
    dev.assert_success();
    // The re-INVITEs reached the device in its own dialog (our Call-ID, not the caller's).
    let invites: Vec<String> =
        dev.received().into_iter().filter(|m| m.starts_with("INVITE ")).collect();
    assert_eq!(invites.len(), 3);
    let cid = header(&invites[0], "Call-ID").unwrap();
    assert!(invites.iter().all(|i| header(i, "Call-ID") == Some(cid)));
    assert_eq!(header(&invites[1], "CSeq"), Some("2 INVITE"));
    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered);
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn a_call_is_ended_at_the_maximum_duration() {
    let config = ringfence_server::b2bua::B2buaConfig {
        max_call_duration: Duration::from_secs(2),
        ..b2bua_support::b2bua_config()
    };
    let c = CallEnv::start(EncryptionRequirement::Optional, config, EXTS).await;
    let callee = Device::start(c.server.udp, "101", "call_uas_answer.xml").await;
    let run = caller("call_uac_wait_bye.xml", c.server.udp, "100", "101").run().await;
    run.assert_success();
    callee.finish().await.assert_success();
    let r = c.record().await;
    assert_eq!(r.call.disposition, Disposition::Answered);
    assert_eq!(r.call.reason.as_deref(), Some("maximum call duration reached"));
    c.assert_clean();
    c.stop().await;
}

#[tokio::test]
async fn shutdown_ends_answered_calls_on_both_legs_and_stores_the_record() {
    let c = optional_tenant().await;
    let callee = Device::start(c.server.udp, "101", "call_uas_answer.xml").await;
    let run = tokio::spawn(caller("call_uac_wait_bye.xml", c.server.udp, "100", "101").run());
    let b = c.b2bua.clone();
    assert!(
        common::tools::eventually(Duration::from_secs(20), || b.stats().answered == 1).await,
        "the call was answered"
    );
    assert_eq!(c.b2bua.shutdown().await, 0, "every call ended within the grace");
    run.await.unwrap().assert_success();
    callee.finish().await.assert_success();
    let page = {
        use ringfence_store::CallRecordRepo;
        c.env
            .store
            .list_call_records(c.tenant.id, &ringfence_store::CallFilter::default(), 10, None)
            .await
            .unwrap()
    };
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].call.disposition, Disposition::Answered);
    assert_eq!(page.records[0].call.reason.as_deref(), Some("server shutting down"));
    c.assert_clean();
    c.stop().await;
}
