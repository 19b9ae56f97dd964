//! Every way a call can leave goes through the one egress decision, played with SIPp against
//! the server (the carrier is a SIPp UAS on its own address): dialled calls under a
//! super admin's overrides and an extension's restrictions, call forwarding (always, busy,
//! no answer) on behalf of the forwarding extension, and a callee's 3xx redirect, which is
//! never followed.

use crate::trunk_support;

use ringfence_store::{
    Actor, CallDirection, CallFilter, CallForwarding, CallPath, CallRecordRepo as _,
    CallingRestrictions, Disposition, ExtensionRepo as _, ForwardReason, PlatformOverrides,
    TenantRepo as _,
};
use trunk_support::*;

use crate::b2bua_support::{DOMAIN, Device, PW};
use crate::common::tools::{Sipp, SippRun};

const UK: &str = "+442079460958";
const PREMIUM: &str = "+499001234567";

/// Extension `ext` dials `number` once with `trunk_uac.xml`.
async fn dial_from(t: &TrunkEnv, ext: &str, number: &str) -> SippRun {
    Sipp::new("trunk_uac.xml", t.sip())
        .account(ext, PW, DOMAIN)
        .arg("-auth_uri")
        .arg(format!("{number}@{DOMAIN}"))
        .key("callee", number)
        .arg("-m")
        .arg("1")
        .run()
        .await
}

/// The status line of the first final response SIPp received.
fn status_line(run: &SippRun) -> String {
    run.received()
        .into_iter()
        .filter(|m| m.starts_with("SIP/2.0 ") && !m.starts_with("SIP/2.0 1"))
        .find(|m| !m.starts_with("SIP/2.0 407"))
        .and_then(|m| m.lines().next().map(str::to_owned))
        .unwrap_or_default()
}

fn forwarding(f: impl FnOnce(&mut CallForwarding)) -> CallForwarding {
    let mut c = CallForwarding::default();
    f(&mut c);
    c
}

async fn set_forwarding(t: &TrunkEnv, ext: ringfence_store::ExtensionId, f: CallForwarding) {
    t.env.store.set_call_forwarding(t.tenant.id, ext, &f, &Actor::system("test")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn premium_is_refused_until_a_super_admin_allows_it() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;

    let refused = dial_from(&t, "100", PREMIUM).await;
    assert_eq!(status_line(&refused), "SIP/2.0 403 Premium Rate Blocked");

    // The super admin's override takes effect on the next call (the admin API forgets the
    // cached tenant the same way).
    let overrides = PlatformOverrides { allow_premium_rate: true, ..Default::default() };
    t.env
        .store
        .set_platform_overrides(t.tenant.id, overrides, &Actor::system("test"))
        .await
        .unwrap();
    t.server.as_ref().unwrap().service().auth().invalidate_tenant(DOMAIN);
    let allowed = dial_from(&t, "100", PREMIUM).await;
    assert!(status_line(&allowed).starts_with("SIP/2.0 200"), "{:#?}", allowed.received());

    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].starts_with(&format!("INVITE sip:{PREMIUM}@")), "{}", out[0]);
    assert_eq!(records.len(), 2);
    assert!(records[0].call.reason.as_deref().unwrap().starts_with("policy premium_rate: "));
    assert_eq!(records[1].call.disposition, Disposition::Answered);
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_narrowed_to_domestic_cannot_call_abroad_while_another_can() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;
    let narrow = t.env.extension(&t.tenant, "101", PW, true).await;
    let r = CallingRestrictions { domestic_only: true, ..Default::default() };
    t.env
        .store
        .set_calling_restrictions(t.tenant.id, narrow.id, &r, &Actor::system("test"))
        .await
        .unwrap();

    let refused = dial_from(&t, "101", UK).await;
    assert_eq!(status_line(&refused), "SIP/2.0 403 Restricted For This Extension");
    let domestic = dial_from(&t, "101", "030901820").await;
    assert!(status_line(&domestic).starts_with("SIP/2.0 200"), "{:#?}", domestic.received());
    let other = dial_from(&t, "100", UK).await;
    assert!(status_line(&other).starts_with("SIP/2.0 200"), "{:#?}", other.received());

    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert!(out[0].starts_with("INVITE sip:+4930901820@"), "{}", out[0]);
    assert!(out[1].starts_with(&format!("INVITE sip:{UK}@")), "{}", out[1]);
    let reason = records[0].call.reason.as_deref().unwrap();
    assert!(reason.starts_with("policy extension_restricted: "), "{reason}");
    assert_eq!(records[0].call.from_extension_id, Some(narrow.id));
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_always_busy_and_no_answer_to_an_allowed_number_reach_the_carrier() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;
    let always = t.env.extension(&t.tenant, "101", PW, true).await;
    let busy = t.env.extension(&t.tenant, "102", PW, true).await;
    let slow = t.env.extension(&t.tenant, "103", PW, true).await;
    let away = t.env.extension(&t.tenant, "104", PW, true).await;
    set_forwarding(&t, always.id, forwarding(|f| f.always = Some(UK.into()))).await;
    set_forwarding(&t, busy.id, forwarding(|f| f.busy = Some("+441614960123".into()))).await;
    let no_answer = forwarding(|f| {
        f.no_answer = Some("+441134960456".into());
        f.no_answer_seconds = 5;
    });
    set_forwarding(&t, slow.id, no_answer.clone()).await;
    // No device registered: the unavailable forward (not the no-answer one).
    set_forwarding(&t, away.id, forwarding(|f| f.unavailable = Some("+442079460000".into()))).await;

    // Unconditional: the extension is not rung at all.
    let run = dial_from(&t, "100", "101").await;
    assert!(status_line(&run).starts_with("SIP/2.0 200"), "{:#?}", run.received());
    // Busy: the device answers 486, the call goes on to the busy target.
    let device = Device::start(t.sip(), "102", "call_uas_busy.xml").await;
    let run = dial_from(&t, "100", "102").await;
    assert!(status_line(&run).starts_with("SIP/2.0 200"), "{:#?}", run.received());
    device.finish().await.assert_success();
    // No answer in 5 s: the ringing device is cancelled, the call goes on.
    let device = Device::start(t.sip(), "103", "call_uas_ring.xml").await;
    let run = dial_from(&t, "100", "103").await;
    assert!(status_line(&run).starts_with("SIP/2.0 200"), "{:#?}", run.received());
    let rung = device.finish().await;
    assert!(rung.received().iter().any(|m| m.starts_with("CANCEL ")), "the device was cancelled");
    let run = dial_from(&t, "100", "104").await;
    assert!(status_line(&run).starts_with("SIP/2.0 200"), "{:#?}", run.received());

    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    let targets: Vec<&str> = out
        .iter()
        .map(|m| m.split_whitespace().nth(1).unwrap().trim_start_matches("sip:"))
        .map(|u| u.split('@').next().unwrap())
        .collect();
    assert_eq!(targets, [UK, "+441614960123", "+441134960456", "+442079460000"], "{out:#?}");
    // Forwards leave on behalf of the forwarding extension: its number is the caller.
    assert_eq!(records.len(), 4, "{records:#?}");
    for r in &records {
        assert_eq!(r.call.direction, CallDirection::Outbound, "{r:?}");
        assert_eq!(r.call.disposition, Disposition::Answered, "{r:?}");
    }
    assert_eq!(records[0].call.callee, UK);
    // Each record names the forwarding extension and which forward applied: the customer
    // sees why an extension placed an external call.
    let forwarded: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.call.forwarded_by.as_deref().unwrap_or_default(),
                r.call.forwarded_by_extension_id,
                r.call.forward_reason,
            )
        })
        .collect();
    assert_eq!(
        forwarded,
        [
            ("101", Some(always.id), Some(ForwardReason::Always)),
            ("102", Some(busy.id), Some(ForwardReason::Busy)),
            ("103", Some(slow.id), Some(ForwardReason::NoAnswer)),
            ("104", Some(away.id), Some(ForwardReason::Unavailable)),
        ]
    );
    // The caller is still the extension that dialled.
    assert!(
        records
            .iter()
            .all(|r| r.call.caller == "100" && r.call.from_extension_id == Some(t.caller))
    );
    // The forwarding extension's history lists the call it forwarded.
    let filter = CallFilter { extension_ids: vec![slow.id], ..Default::default() };
    let page = t.env.store.list_call_records(t.tenant.id, &filter, 10, None).await.unwrap();
    assert_eq!(page.records.len(), 1, "{page:#?}");
    assert_eq!(page.records[0].call.callee, "+441134960456");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_forward_fires_when_the_extension_rang_not_when_its_devices_are_unreachable() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;
    let failing = t.env.extension(&t.tenant, "105", PW, true).await;
    let dead = t.env.extension(&t.tenant, "106", PW, true).await;
    let unregistered = t.env.extension(&t.tenant, "107", PW, true).await;
    let gave_up = t.env.extension(&t.tenant, "108", PW, true).await;
    for (ext, to) in [
        (&failing, "+441134960001"),
        (&dead, "+441134960002"),
        (&unregistered, "+441134960003"),
        (&gave_up, "+441134960004"),
    ] {
        let f = forwarding(|f| {
            f.no_answer = Some(to.into());
            f.no_answer_seconds = 5;
        });
        set_forwarding(&t, ext.id, f).await;
    }

    // 105: its only device answers 503 at once: unavailable, not "no answer".
    let port = crate::common::tools::free_udp_port();
    crate::b2bua_support::register(t.sip(), "105", port).await;
    let uas = Sipp::new("call_uas_503.xml", t.sip()).arg("-p").arg(port.to_string());
    let failing_device = tokio::spawn(uas.run());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let run = dial_from(&t, "100", "105").await;
    assert!(status_line(&run).starts_with("SIP/2.0 480"), "{:#?}", run.received());
    failing_device.await.unwrap().assert_success();

    // 106: registered, but nothing answers at its address: the ring time passes with no
    // response from any device (or the transport fails): unavailable too.
    let port = crate::common::tools::free_udp_port();
    crate::b2bua_support::register(t.sip(), "106", port).await;
    let run = dial_from(&t, "100", "106").await;
    assert!(status_line(&run).starts_with("SIP/2.0 480"), "{:#?}", run.received());

    // 107: nothing registered; only a no-answer forward is set: no forward.
    let run = dial_from(&t, "100", "107").await;
    assert!(status_line(&run).starts_with("SIP/2.0 480"), "{:#?}", run.received());

    // 108: its device rang and gave up itself (480): that is no answer, and it forwards.
    let port = crate::common::tools::free_udp_port();
    crate::b2bua_support::register(t.sip(), "108", port).await;
    let uas = Sipp::new("call_uas_480.xml", t.sip()).arg("-p").arg(port.to_string());
    let ringing_device = tokio::spawn(uas.run());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let run = dial_from(&t, "100", "108").await;
    assert!(status_line(&run).starts_with("SIP/2.0 200"), "{:#?}", run.received());
    ringing_device.await.unwrap().assert_success();

    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 1, "only 108's no-answer forward reached the carrier: {out:#?}");
    assert!(out[0].starts_with("INVITE sip:+441134960004@"), "{}", out[0]);
    assert_eq!(records.len(), 4, "{records:#?}");
    for r in &records[..3] {
        assert_eq!(r.call.disposition, Disposition::Unavailable, "{r:?}");
        assert_eq!(r.call.sip_status, Some(480), "{r:?}");
        assert_eq!(r.call.direction, CallDirection::Internal, "{r:?}");
        assert_eq!(r.call.forwarded_by, None, "{r:?}");
    }
    let last = &records[3].call;
    assert_eq!(last.disposition, Disposition::Answered, "{last:?}");
    assert_eq!(
        (last.forwarded_by.as_deref(), last.forward_reason),
        (Some("108"), Some(ForwardReason::NoAnswer))
    );
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_premium_or_by_a_restricted_extension_never_reach_the_carrier() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;
    let premium = t.env.extension(&t.tenant, "101", PW, true).await;
    let restricted = t.env.extension(&t.tenant, "102", PW, true).await;
    let busy_premium = t.env.extension(&t.tenant, "103", PW, true).await;
    set_forwarding(&t, premium.id, forwarding(|f| f.always = Some(PREMIUM.into()))).await;
    set_forwarding(&t, restricted.id, forwarding(|f| f.always = Some(UK.into()))).await;
    set_forwarding(&t, busy_premium.id, forwarding(|f| f.busy = Some(PREMIUM.into()))).await;
    // 102 may not forward outside; the caller (100) itself may call the UK: the forward is
    // decided for the forwarding extension, not the caller.
    let r = CallingRestrictions {
        denied_paths: [CallPath::Forward].into_iter().collect(),
        ..Default::default()
    };
    t.env
        .store
        .set_calling_restrictions(t.tenant.id, restricted.id, &r, &Actor::system("test"))
        .await
        .unwrap();

    let run = dial_from(&t, "100", "101").await;
    assert_eq!(status_line(&run), "SIP/2.0 403 Premium Rate Blocked");
    let run = dial_from(&t, "100", "102").await;
    assert_eq!(status_line(&run), "SIP/2.0 403 Restricted For This Extension");
    let device = Device::start(t.sip(), "103", "call_uas_busy.xml").await;
    let run = dial_from(&t, "100", "103").await;
    assert_eq!(status_line(&run), "SIP/2.0 403 Premium Rate Blocked");
    device.finish().await.assert_success();

    let records = t.records().await;
    let received = carrier.stop().await;
    assert!(invites(&received).is_empty(), "{received:#?}");
    let reasons: Vec<&str> = records.iter().map(|r| r.call.reason.as_deref().unwrap()).collect();
    assert!(
        reasons[0].starts_with("forward from 101 (always): policy premium_rate: "),
        "{reasons:#?}"
    );
    assert!(
        reasons[1].starts_with("forward from 102 (always): policy extension_restricted: "),
        "{reasons:#?}"
    );
    assert!(
        reasons[2].starts_with("forward from 103 (busy): policy premium_rate: "),
        "{reasons:#?}"
    );
    for r in &records {
        assert_eq!(r.call.disposition, Disposition::Blocked, "{r:?}");
        assert_eq!(r.call.sip_status, Some(403));
    }
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_premium_from_a_callee_is_not_followed() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;
    t.env.extension(&t.tenant, "101", PW, true).await;
    let target_host = carrier.addr().to_string();
    let port = crate::common::tools::free_udp_port();
    crate::b2bua_support::register(t.sip(), "101", port).await;
    let uas = Sipp::new("call_uas_redirect.xml", t.sip())
        .arg("-p")
        .arg(port.to_string())
        .key("target", PREMIUM)
        .key("target_host", &target_host);
    let device = tokio::spawn(uas.run());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let run = dial_from(&t, "100", "101").await;
    let status = status_line(&run);
    assert!(status.starts_with("SIP/2.0 480"), "{status}: {:#?}", run.received());
    // The caller learns nothing to follow: no Contact in the refusal.
    let refusal = run.received().into_iter().find(|m| m.starts_with("SIP/2.0 480")).unwrap();
    assert!(!refusal.contains(PREMIUM), "{refusal}");
    device.await.unwrap().assert_success();

    let records = t.records().await;
    let received = carrier.stop().await;
    assert!(invites(&received).is_empty(), "{received:#?}");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].call.direction, CallDirection::Internal);
    t.halt().await;
}

/// Registers extension `ext` and runs `scenario` on its port as UAS, with `keys`.
async fn device(
    t: &TrunkEnv,
    ext: &str,
    scenario: &str,
    keys: &[(&str, &str)],
) -> tokio::task::JoinHandle<SippRun> {
    let port = crate::common::tools::free_udp_port();
    crate::b2bua_support::register(t.sip(), ext, port).await;
    let mut uas = Sipp::new(scenario, t.sip()).arg("-p").arg(port.to_string());
    for (k, v) in keys {
        uas = uas.key(k, v);
    }
    let task = tokio::spawn(uas.run());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    task
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refer_to_an_allowed_number_connects_the_transferee_to_the_carrier() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;
    t.env.extension(&t.tenant, "101", PW, true).await;
    let transferor =
        device(&t, "101", "call_uas_refer.xml", &[("target", UK), ("domain", DOMAIN)]).await;

    let transferee = Sipp::new("call_uac_transferee.xml", t.sip())
        .account("100", PW, DOMAIN)
        .arg("-auth_uri")
        .arg(format!("101@{DOMAIN}"))
        .key("callee", "101")
        .arg("-m")
        .arg("1")
        .run()
        .await;
    transferee.assert_success();
    let refer = transferor.await.unwrap();
    refer.assert_success();
    let notifies: Vec<String> =
        refer.received().into_iter().filter(|m| m.starts_with("NOTIFY ")).collect();
    assert!(notifies[0].contains("SIP/2.0 100 Trying"), "{notifies:#?}");
    assert!(notifies[1].contains("SIP/2.0 200 OK"), "{notifies:#?}");
    assert!(notifies[1].to_ascii_lowercase().contains("subscription-state: terminated"));

    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 1, "{received:#?}");
    assert!(out[0].starts_with(&format!("INVITE sip:{UK}@")), "{}", out[0]);
    // The transferee's BYE reached the carrier: it was talking to the target.
    assert!(received.iter().any(|m| m.starts_with("BYE ")), "{received:#?}");
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0].call.direction, CallDirection::Outbound);
    assert_eq!(records[0].call.callee, UK);
    assert_eq!(records[0].call.disposition, Disposition::Answered);
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refer_to_premium_is_refused_and_the_call_goes_on() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;
    t.env.extension(&t.tenant, "101", PW, true).await;
    let transferor =
        device(&t, "101", "call_uas_refer_refused.xml", &[("target", PREMIUM), ("domain", DOMAIN)])
            .await;
    // The caller talks 1 s and hangs up: its BYE reaches the transferor, so the call was
    // left intact by the refused transfer.
    let caller = dial_from(&t, "100", "101").await;
    assert!(status_line(&caller).starts_with("SIP/2.0 200"), "{:#?}", caller.received());
    let refer = transferor.await.unwrap();
    refer.assert_success();
    let refusal = refer.received().into_iter().find(|m| m.starts_with("SIP/2.0 403")).unwrap();
    assert!(refusal.starts_with("SIP/2.0 403 Premium Rate Blocked"), "{refusal}");

    let records = t.records().await;
    let received = carrier.stop().await;
    assert!(invites(&received).is_empty(), "{received:#?}");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].call.direction, CallDirection::Internal);
    assert_eq!(records[0].call.disposition, Disposition::Answered);
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refer_to_an_extension_rings_every_device_and_the_one_that_answers_wins() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;
    t.env.extension(&t.tenant, "101", PW, true).await;
    let target = t.env.extension(&t.tenant, "102", PW, true).await;
    // The target has two devices: the first registered only rings, the second answers.
    let ringing = Device::start(t.sip(), "102", "call_uas_ring.xml").await;
    let answering = Device::start(t.sip(), "102", "call_uas_answer.xml").await;
    let registrar = t.server.as_ref().unwrap().service().registrar().clone();
    assert_eq!(registrar.locate(t.tenant.id, target.id).len(), 2);
    let transferor =
        device(&t, "101", "call_uas_refer_ringing.xml", &[("target", "102"), ("domain", DOMAIN)])
            .await;

    let transferee = Sipp::new("call_uac_transferee.xml", t.sip())
        .account("100", PW, DOMAIN)
        .arg("-auth_uri")
        .arg(format!("101@{DOMAIN}"))
        .key("callee", "101")
        .arg("-m")
        .arg("1")
        .run()
        .await;
    transferee.assert_success();
    let refer = transferor.await.unwrap();
    refer.assert_success();
    let notifies: Vec<String> =
        refer.received().into_iter().filter(|m| m.starts_with("NOTIFY ")).collect();
    assert!(notifies[1].contains("SIP/2.0 180 Ringing"), "{notifies:#?}");
    assert!(notifies[2].contains("SIP/2.0 200 OK"), "{notifies:#?}");

    // Both devices were called; the one still ringing was cancelled when the other
    // answered; the transferee's BYE reached the device that answered.
    let rang = ringing.finish().await;
    rang.assert_success();
    let rang = rang.received();
    assert!(rang.iter().any(|m| m.starts_with("INVITE ")), "{rang:#?}");
    let cancel =
        rang.iter().find(|m| m.starts_with("CANCEL ")).expect("the ringing device is cancelled");
    assert!(cancel.contains("Call completed elsewhere"), "{cancel}");
    let answered = answering.finish().await;
    answered.assert_success();
    let answered = answered.received();
    let invite = answered.iter().find(|m| m.starts_with("INVITE ")).unwrap();
    assert!(!invite.contains("m=audio"), "the transfer's INVITE carries no offer: {invite}");
    assert!(answered.iter().any(|m| m.starts_with("BYE ")), "{answered:#?}");

    let records = t.records().await;
    carrier.stop().await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0].call.direction, CallDirection::Internal);
    assert_eq!(records[0].call.callee, "102");
    assert_eq!(records[0].call.disposition, Disposition::Answered);
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refer_to_a_number_answers_the_carriers_digest_challenge() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start(
        "trunk_carrier_digest.xml",
        &["-key", "trunk_user", "ringfence", "-key", "trunk_pass", "trunk-secret-1"],
    );
    let mut config = egress_config(carrier.addr(), None, smtp);
    config.trunks[0].auth = ringfence_server::egress::TrunkAuth::Digest {
        username: "ringfence".into(),
        password: "trunk-secret-1".into(),
    };
    let mut t = TrunkEnv::start(config, |_| {}).await;
    t.env.extension(&t.tenant, "101", PW, true).await;
    let transferor =
        device(&t, "101", "call_uas_refer.xml", &[("target", UK), ("domain", DOMAIN)]).await;

    let transferee = Sipp::new("call_uac_transferee.xml", t.sip())
        .account("100", PW, DOMAIN)
        .arg("-auth_uri")
        .arg(format!("101@{DOMAIN}"))
        .key("callee", "101")
        .arg("-m")
        .arg("1")
        .run()
        .await;
    transferee.assert_success();
    let refer = transferor.await.unwrap();
    refer.assert_success();
    let notifies: Vec<String> =
        refer.received().into_iter().filter(|m| m.starts_with("NOTIFY ")).collect();
    assert!(notifies.last().unwrap().contains("SIP/2.0 200 OK"), "{notifies:#?}");

    let records = t.records().await;
    let received = carrier.stop().await;
    // Challenged once (401), sent again with the trunk's credentials, answered.
    let out = invites(&received);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert!(header(&out[0], "Authorization").is_none(), "{}", out[0]);
    let auth = header(&out[1], "Authorization").expect("the challenge answered");
    assert!(auth.contains("username=\"ringfence\""), "{auth}");
    assert!(received.iter().any(|m| m.starts_with("BYE ")), "{received:#?}");
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0].call.direction, CallDirection::Outbound);
    assert_eq!(records[0].call.callee, UK);
    assert_eq!(records[0].call.disposition, Disposition::Answered);
    t.halt().await;
}
