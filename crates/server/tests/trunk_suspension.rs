//! A suspension by fraud control takes effect on SIP at once: the extension's credentials
//! were cached by a registration a moment before (the cache keeps them 30 s), yet once the
//! engine suspends it, its REGISTER and INVITE are refused like a wrong password.

use crate::trunk_support;

use std::time::Duration;

use ringfence_store::ExtensionRepo as _;
use trunk_support::*;

use crate::b2bua_support::{DOMAIN, PW};
use crate::common::tools::{Sipp, free_udp_port};

const UK: &str = "+442079460958";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_suspended_by_fraud_control_cannot_register_or_call() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let mut t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |s| {
        s.fraud_limits.max_calls_per_minute_per_extension = 4;
    })
    .await;
    // As `ringfence serve` wires it.
    t.gate.on_suspension(t.server.as_ref().unwrap().service().auth().clone());

    // A registration caches the credentials.
    let port = free_udp_port();
    crate::b2bua_support::register(t.sip(), "100", port).await;

    // The pump: sustained abuse suspends the extension.
    t.dial(UK, 12, 10).await.assert_success();
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
    let pumped = t.records().await.len();

    // The same credentials, within the cache's lifetime: refused.
    Sipp::new("register_refused.xml", t.sip())
        .account("100", PW, DOMAIN)
        .arg("-p")
        .arg(port.to_string())
        .run()
        .await
        .assert_success();
    let refused = Sipp::new("call_uac_auth_refused.xml", t.sip())
        .account("100", PW, DOMAIN)
        .arg("-auth_uri")
        .arg(format!("{UK}@{DOMAIN}"))
        .key("callee", UK)
        .run()
        .await;
    refused.assert_success();
    let records = t.records().await;
    // Refused at authentication: no call, so no record.
    assert_eq!(records.len(), pumped, "{records:#?}");
    carrier.stop().await;
    t.halt().await;
}
