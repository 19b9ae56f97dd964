//! "Calls right after a registration from a new network": the registrar tells the fraud
//! engine where each extension registers from; an international call soon after a
//! registration from a network (IPv4 /24) the extension never used is scored with the
//! `new_network` signal, named in the fraud event's explanation. SIPp registers from
//! 127.0.0.1 and then from 127.0.1.1 (another /24 on the loopback interface).

use crate::trunk_support;

use std::time::Duration;

use ringfence_server::b2bua::B2buaBuilder;
use ringfence_server::core::SipService;
use ringfence_server::egress;
use ringfence_server::transport::{TransportConfig, TransportKind};
use ringfence_store::{Actor, CountryCode, EncryptionRequirement, FraudRepo as _, TenantRepo as _};
use tokio_util::sync::CancellationToken;
use trunk_support::*;

use crate::b2bua_support::{DOMAIN, PW, b2bua_config};
use crate::common::tools::{Sipp, free_udp_port};
use crate::common::{TestEnv, test_config};

const UK: &str = "+442079460958";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_right_after_a_registration_from_a_new_network_is_scored() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    // 150 cents a minute to the UK: an expensive destination.
    let config = egress_config(carrier.addr(), Some("+44,150\n*,1\n"), smtp);
    let env = TestEnv::new().await;
    let tenant = env.tenant(DOMAIN, EncryptionRequirement::Optional).await;
    let mut s = tenant.settings.clone();
    s.international_calling = true;
    s.allowed_countries.insert(CountryCode::parse("GB").unwrap());
    let tenant =
        env.store.update_tenant_settings(tenant.id, s, &Actor::system("test")).await.unwrap();
    let ext = env.extension(&tenant, "100", PW, true).await;

    // The server as `ringfence serve` wires it: the gate hears registrations.
    let (gate, driver) = egress::build(&config, env.store.clone()).await.unwrap();
    let (factory, b2bua) = B2buaBuilder::new(b2bua_config(), env.store.clone())
        .gate(gate.clone())
        .observer(gate.clone())
        .build()
        .unwrap();
    let mut tc = TransportConfig::without_listeners();
    tc.udp = vec!["127.0.0.1:0".parse().unwrap()];
    let shutdown = CancellationToken::new();
    let service = SipService::builder(test_config(), tc)
        .nonce_key(env.nonce_key)
        .registration_observer(gate.clone())
        .call_handler(factory)
        .start(env.store.clone(), shutdown.clone())
        .await
        .unwrap();
    let sip = service.transports().local_addr(TransportKind::Udp).unwrap();
    let stop = CancellationToken::new();
    let driver = tokio::spawn(driver.run(b2bua.clone(), stop.clone().cancelled_owned()));

    // The usual network, then a new one.
    for ip in ["127.0.0.1", "127.0.1.1"] {
        Sipp::new("call_register.xml", sip)
            .account("100", PW, DOMAIN)
            .arg("-i")
            .arg(ip)
            .arg("-p")
            .arg(free_udp_port().to_string())
            .run()
            .await
            .assert_success();
    }
    let run = Sipp::new("trunk_uac.xml", sip)
        .account("100", PW, DOMAIN)
        .arg("-i")
        .arg("127.0.1.1")
        .arg("-auth_uri")
        .arg(format!("{UK}@{DOMAIN}"))
        .key("callee", UK)
        .run()
        .await;
    run.assert_success();

    let mut anomaly = None;
    for _ in 0..300 {
        let events = env.store.list_fraud_events(tenant.id, 100, None).await.unwrap();
        anomaly = events.into_iter().find(|e| e.event.kind == "anomaly");
        if anomaly.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let anomaly = anomaly.expect("anomaly event");
    assert_eq!(anomaly.event.extension_id, Some(ext.id));
    assert!(anomaly.event.explanation.contains("new_network"), "{anomaly:#?}");
    assert!(anomaly.event.signals.to_string().contains("new_network"), "{anomaly:#?}");

    // The networks are kept with the engine's state.
    b2bua.shutdown().await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), driver).await.unwrap().unwrap();
    let state = env.store.load_fraud_state().await.unwrap().expect("state saved");
    // The engine's key of 127.0.1.0/24 (IPv4 tag, address >> 8).
    let key = (1u64 << 62) | u64::from(u32::from(std::net::Ipv4Addr::new(127, 0, 1, 1)) >> 8);
    assert!(state.state.contains(&key.to_string()), "{}", state.state);
    shutdown.cancel();
    service.stopped().await;
    carrier.stop().await;
}
