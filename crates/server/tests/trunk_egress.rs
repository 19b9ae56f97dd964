//! Calls to the phone network through a SIP trunk, played with SIPp against the server:
//! the carrier is a SIPp UAS, the compromised extension a SIPp UAC. Every outside call
//! goes through the one egress policy and the fraud engine before it leaves; refusals get
//! a status, a reason phrase and a call record; fraud events are stored and mailed.

use crate::trunk_support;

use std::time::Duration;

use ringfence_server::egress::TrunkAuth;
use ringfence_store::{CallDirection, Disposition, ExtensionRepo as _};
use trunk_support::*;

use crate::b2bua_support::{DOMAIN, PW};
use crate::common::tools::Sipp;

const UK: &str = "+442079460958";

/// Mail bodies may be quoted-printable: undo soft line breaks and `=3D`.
fn unfold(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("=3D", "=")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pump_to_international_numbers_is_stopped_at_the_velocity_limit() {
    let (sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let config = egress_config(carrier.addr(), None, smtp);
    let mut t = TrunkEnv::start(config, |s| {
        s.fraud_limits.max_calls_per_minute_per_extension = 4;
    })
    .await;

    // The compromised extension pumps 12 calls to a UK number, back to back.
    t.dial(UK, 12, 10).await;
    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);

    // Only the limit's worth left, each to the trunk in E.164 from the trunk's caller ID.
    assert_eq!(out.len(), 4, "calls that reached the carrier: {out:#?}");
    for inv in &out {
        assert!(inv.starts_with(&format!("INVITE sip:{UK}@{CARRIER_IP}:")), "{inv}");
        assert!(header(inv, "From").unwrap().contains("+4930901820"), "{inv}");
    }
    let answered = outbound(&records, Disposition::Answered);
    let blocked = outbound(&records, Disposition::Blocked);
    assert_eq!((answered.len(), blocked.len()), (4, 8), "{records:#?}");
    for r in &answered {
        assert_eq!(r.call.callee, UK);
    }
    for r in &blocked {
        assert_eq!(r.call.sip_status, Some(403));
        let reason = r.call.reason.as_deref().unwrap_or("");
        assert!(reason.starts_with("fraud "), "{reason}");
    }
    assert!(blocked[0].call.reason.as_deref().unwrap().starts_with("fraud call_rate: "));

    // Each decision is a stored fraud event with its explanation.
    let events = t.fraud_events(1).await;
    let rate = events.iter().find(|e| e.event.kind == "call_rate").expect("call_rate event");
    assert_eq!(rate.event.extension_id, Some(t.caller));
    assert!(rate.event.explanation.contains("extension_calls_per_minute"), "{rate:?}");
    assert!(rate.event.actions.contains(&"block_call".to_owned()));

    // Sustained abuse suspends the extension, in the store too (audited).
    let abuse = t.fraud_events(2).await;
    assert!(
        abuse.iter().any(|e| e.event.kind == "sustained_abuse"
            && e.event.actions.contains(&"suspend_extension".to_owned())),
        "{abuse:#?}"
    );
    let mut disabled = false;
    for _ in 0..300 {
        let ext = t.env.store.get_extension(t.tenant.id, t.caller).await.unwrap().unwrap();
        if !ext.enabled {
            disabled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(disabled, "extension still enabled");

    // The customer hears about it, with the explanation.
    let mail = mail_with(&sink, "call_rate").await.expect("alert mail");
    let mail = unfold(&mail);
    assert!(mail.contains(ALERTS_TO), "{mail}");
    assert!(mail.contains("extension_calls_per_minute"), "{mail}");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn premium_and_disallowed_destinations_are_refused_by_the_policy_before_the_trunk() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |_| {}).await;

    let premium = t.dial("+499001234567", 1, 10).await;
    let phrase = premium.received().into_iter().find(|m| m.starts_with("SIP/2.0 403"));
    assert_eq!(
        phrase.as_deref().and_then(|m| m.lines().next()),
        Some("SIP/2.0 403 Premium Rate Blocked")
    );
    t.dial("+33142685300", 1, 10).await;
    t.dial("0033142685300", 1, 10).await;
    t.dial("12ab", 1, 10).await;
    // A national number in the home country goes out.
    t.dial("030901820", 1, 10).await;

    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].starts_with("INVITE sip:+4930901820@"), "{}", out[0]);
    let reasons: Vec<(Option<u16>, String)> = records
        .iter()
        .map(|r| (r.call.sip_status, r.call.reason.clone().unwrap_or_default()))
        .collect();
    let starts = |i: usize, status: u16, prefix: &str| {
        assert_eq!(reasons[i].0, Some(status), "{reasons:#?}");
        assert!(reasons[i].1.starts_with(prefix), "{reasons:#?}");
    };
    starts(0, 403, "policy premium_rate: ");
    starts(1, 403, "policy country_not_allowed: ");
    starts(2, 403, "policy country_not_allowed: ");
    starts(3, 404, "policy invalid_number: ");
    assert!(records.iter().all(|r| r.call.direction == CallDirection::Outbound));
    assert_eq!(records[4].call.disposition, Disposition::Answered);
    assert_eq!(records[4].call.callee, "+4930901820");
    for r in &records[..4] {
        assert_eq!(r.call.disposition, Disposition::Blocked);
    }
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mid_call_cap_crossing_ends_the_call_and_the_cap_survives_a_restart() {
    let (sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    // 100 cents a second to the UK; 300 cents a day: the cap is crossed 3 s into a call.
    let config = egress_config(carrier.addr(), Some("+44,6000\n*,1\n"), smtp);
    let mut t = TrunkEnv::start(config, |s| s.fraud_limits.spend_cap_cents_per_day = 300).await;

    let run = Sipp::new("call_uac_wait_bye.xml", t.sip())
        .account("100", PW, DOMAIN)
        .arg("-auth_uri")
        .arg(format!("{UK}@{DOMAIN}"))
        .key("callee", UK)
        .run()
        .await;
    run.assert_success();
    let records = t.records().await;
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0].call;
    assert!(r.reason.as_deref().unwrap_or("").starts_with("fraud spend_cap: "), "{r:?}");
    assert!(r.answered_at.is_some());
    assert!((2..=20).contains(&r.duration_s), "{r:?}");

    // The slow pump after it: the next call is refused before it leaves (daily cap).
    t.dial(UK, 1, 10).await;
    let records = t.records().await;
    let last = &records.last().unwrap().call;
    assert_eq!((last.disposition, last.sip_status), (Disposition::Blocked, Some(403)));
    assert!(last.reason.as_deref().unwrap().starts_with("fraud spend_cap: "), "{last:?}");

    // A restart does not reset the day's spend.
    t.halt().await;
    t.boot().await;
    t.dial(UK, 1, 10).await;
    let records = t.records().await;
    assert_eq!(records.len(), 3);
    let last = &records.last().unwrap().call;
    assert_eq!(last.disposition, Disposition::Blocked, "{last:?}");
    assert!(last.reason.as_deref().unwrap().starts_with("fraud spend_cap: "), "{last:?}");

    let received = carrier.stop().await;
    assert_eq!(invites(&received).len(), 1, "only the first call reached the carrier");
    assert!(received.iter().any(|m| m.starts_with("BYE ")), "the carrier's leg was ended");
    let events = t.fraud_events(1).await;
    assert!(events.iter().any(|e| e.event.kind == "spend_cap"), "{events:#?}");
    let mail = mail_with(&sink, "spend_cap").await.expect("alert mail");
    assert!(unfold(&mail).contains("tenant_spend_cents"), "{mail}");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_trunk_answers_the_carriers_challenge() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start(
        "trunk_carrier_digest.xml",
        &["-key", "trunk_user", "ringfence", "-key", "trunk_pass", "trunk-secret-1"],
    );
    let mut config = egress_config(carrier.addr(), None, smtp);
    config.trunks[0].auth =
        TrunkAuth::Digest { username: "ringfence".into(), password: "trunk-secret-1".into() };
    let mut t = TrunkEnv::start(config, |_| {}).await;
    t.dial(UK, 1, 10).await;
    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert!(header(&out[1], "Authorization").unwrap().contains("username=\"ringfence\""));
    assert_eq!(records[0].call.disposition, Disposition::Answered, "{records:#?}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_pump_outside_business_hours_raises_the_anomaly_score_and_alerts() {
    let (sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    // 150 cents a minute to the UK: an expensive destination.
    let config = egress_config(carrier.addr(), Some("+44,150\n*,1\n"), smtp);
    // The office is open only on another weekday: now is outside business hours.
    let today = time::OffsetDateTime::now_utc().weekday().number_from_monday();
    let t = TrunkEnv::start(config, |s| {
        s.business_hours = Some(ringfence_store::BusinessHours {
            utc_offset_minutes: 0,
            periods: vec![ringfence_store::OpenPeriod {
                weekday: today % 7 + 1,
                start_minute: 0,
                end_minute: 1440,
            }],
        });
    })
    .await;

    // A slow pump: one call at a time to different UK numbers, far below the rate limit.
    for number in ["+442079460958", "+441614960123", "+441134960456"] {
        t.dial(number, 1, 1).await;
    }
    let records = t.records().await;
    assert_eq!(outbound(&records, Disposition::Answered).len(), 3, "{records:#?}");

    // The first call to a new country, outside hours, to an expensive destination: scored
    // and alerted, with each signal in the explanation.
    let events = t.fraud_events(1).await;
    let anomaly = events.iter().find(|e| e.event.kind == "anomaly").expect("anomaly event");
    assert_eq!(anomaly.event.severity, "warning", "{anomaly:#?}");
    assert!(anomaly.event.score >= 60, "{anomaly:#?}");
    for signal in ["new_country", "tenant_new_country", "outside_hours", "expensive_destination"] {
        assert!(anomaly.event.explanation.contains(signal), "{signal}: {anomaly:#?}");
    }
    assert!(anomaly.event.actions.contains(&"alert".to_owned()));
    let mail = mail_with(&sink, "anomaly").await.expect("alert mail");
    assert!(unfold(&mail).contains("outside_hours"), "{mail}");
    carrier.stop().await;
    let mut t = t;
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_trunk_credentials_are_tried_once_and_the_call_fails() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start(
        "trunk_carrier_digest.xml",
        &["-key", "trunk_user", "ringfence", "-key", "trunk_pass", "trunk-secret-1"],
    );
    let mut config = egress_config(carrier.addr(), None, smtp);
    config.trunks[0].auth =
        TrunkAuth::Digest { username: "ringfence".into(), password: "wrong-secret".into() };
    let mut t = TrunkEnv::start(config, |_| {}).await;
    let run = t.dial(UK, 1, 10).await;
    let records = t.records().await;
    let received = carrier.stop().await;
    // One challenge answered once, refused by the carrier, and no third INVITE.
    assert_eq!(invites(&received).len(), 2, "{received:#?}");
    assert_eq!(records.len(), 1, "{records:#?}");
    // The carrier's 403 is in the record; the caller gets the B2BUA's summary status.
    let r = &records[0].call;
    assert_eq!(r.reason.as_deref(), Some("devices answered 403"), "{r:?}");
    assert_ne!(r.disposition, Disposition::Answered);
    let status = r.sip_status.unwrap();
    assert!(run.received().iter().any(|m| m.starts_with(&format!("SIP/2.0 {status}"))));
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_over_tcp() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &["-t", "t1"]);
    let mut config = egress_config(carrier.addr(), None, smtp);
    config.trunks[0].transport = Some(ringfence_server::egress::TrunkTransport::Tcp);
    let mut t = TrunkEnv::start(config, |_| {}).await;
    t.dial(UK, 1, 10).await;
    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 1, "{received:#?}");
    assert!(out[0].contains(";transport=tcp"), "{}", out[0]);
    assert!(header(&out[0], "Via").unwrap().starts_with("SIP/2.0/TCP"), "{}", out[0]);
    assert_eq!(records[0].call.disposition, Disposition::Answered, "{records:#?}");
    t.halt().await;
}
