//! Registering a trunk with the carrier's registrar (a SIPp UAS): the REGISTER is
//! challenged and answered with the trunk's digest credentials, the registration shows as
//! registered, a call the carrier sends to the registered Contact rings the extension of
//! the number in its To header, and the trunk unregisters at shutdown. Wrong credentials:
//! the state shows the failure, and the registrar is not asked again at once. The Contact
//! and Via name the advertised address when one is set; behind NAT (the registrar's 200
//! says it saw us elsewhere, RFC 3581) the trunk registers the address it was seen at.

use crate::trunk_support;

use std::net::SocketAddr;
use std::time::Duration;

use ringfence_server::egress::{RegistrationState, RegistrationStatus, TrunkAuth};
use ringfence_store::{Actor, CallDirection, Disposition, E164, NumberRepo as _};
use trunk_support::*;

use crate::b2bua_support::{Device, final_status};
use crate::common::tools::{Sipp, SippRun, eventually, free_udp_port};

const DID: &str = "+4930901820";
const USER: &str = "pbx-1";
const PASS: &str = "carrier-secret";

fn registered_trunk(
    registrar: SocketAddr,
    password: &str,
    smtp: SocketAddr,
) -> ringfence_server::egress::EgressConfig {
    let mut config = egress_config(registrar, None, smtp);
    let t = &mut config.trunks[0];
    t.auth = TrunkAuth::Digest { username: USER.into(), password: password.into() };
    t.register = true;
    t.register_expires_s = Some(600);
    t.realm = Some("carrier.test".into());
    config
}

async fn state_of(t: &TrunkEnv, want: RegistrationState) -> RegistrationStatus {
    let regs = t.registrations.as_ref().unwrap();
    let view = regs.watch();
    eventually(Duration::from_secs(15), || view.status()[0].state == want).await;
    regs.status()[0].clone()
}

/// The carrier calls `did` at the registered Contact of user `USER`.
async fn carrier_calls_contact(server: SocketAddr, did: &str) -> SippRun {
    Sipp::new("trunk_registered_uac.xml", server)
        .key("contact_user", USER)
        .key("did", did)
        .key("caller_uri", "sip:+447700900123@carrier.test")
        .key("caller_name", "Friend")
        .arg("-i")
        .arg(CARRIER_IP)
        .arg("-p")
        .arg(free_udp_port().to_string())
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_registers_receives_calls_at_its_contact_and_unregisters() {
    let (_sink, smtp) = SmtpSink::start().await;
    let registrar = Carrier::start(
        "trunk_registrar.xml",
        &["-key", "trunk_user", USER, "-key", "trunk_pass", PASS],
    );
    let mut t = TrunkEnv::start(registered_trunk(registrar.addr(), PASS, smtp), |_| {}).await;
    t.env
        .store
        .create_number(
            t.tenant.id,
            &E164::parse(DID).unwrap(),
            Some(t.caller),
            &Actor::system("test"),
        )
        .await
        .unwrap();

    let s = state_of(&t, RegistrationState::Registered).await;
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    assert_eq!(s.registrar.as_deref(), Some(registrar.addr().to_string().as_str()));
    let contact = format!("sip:{USER}@{}", t.sip());
    assert_eq!(s.contact.as_deref(), Some(format!("<{contact}>").as_str()), "{s:?}");
    assert!(s.expires_at.is_some() && s.last_error.is_none(), "{s:?}");

    // The carrier calls the registered Contact; the number in To rings its extension.
    let device = Device::start(t.sip(), "100", "call_uas_answer.xml").await;
    let call = carrier_calls_contact(t.sip(), DID).await;
    call.assert_success();
    assert_eq!(final_status(&call), 200);
    let dev = device.finish().await;
    dev.assert_success();
    let records = t.records().await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0].call.direction, CallDirection::Inbound);
    assert_eq!(records[0].call.callee, DID);
    assert_eq!(records[0].call.disposition, Disposition::Answered);

    // Shutdown unregisters.
    t.halt().await;
    let s = t.registrations.as_ref().map(|r| r.status());
    assert!(s.is_none());
    let got = registrar.stop().await;
    let registers: Vec<&String> = got.iter().filter(|m| m.starts_with("REGISTER ")).collect();
    assert_eq!(registers.len(), 3, "{registers:#?}");
    assert!(header(registers[0], "Authorization").is_none());
    let auth = header(registers[1], "Authorization").expect("answered challenge");
    assert!(
        auth.contains(&format!("username=\"{USER}\"")) && auth.contains("realm=\"carrier.test\"")
    );
    assert_eq!(header(registers[1], "Expires").as_deref(), Some("600"));
    assert_eq!(header(registers[1], "Contact").as_deref(), Some(format!("<{contact}>").as_str()));
    assert_eq!(header(registers[2], "Expires").as_deref(), Some("0"));
    // One registration: the same Call-ID throughout, CSeq rising.
    let call_ids: Vec<_> = registers.iter().map(|m| header(m, "Call-ID")).collect();
    assert!(call_ids.iter().all(|c| c == &call_ids[0]), "{call_ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_registration_password_shows_failed_without_a_retry_loop() {
    let (_sink, smtp) = SmtpSink::start().await;
    let registrar = Carrier::start(
        "trunk_registrar.xml",
        &["-key", "trunk_user", USER, "-key", "trunk_pass", PASS],
    );
    let mut t =
        TrunkEnv::start(registered_trunk(registrar.addr(), "not-the-password", smtp), |_| {}).await;
    let s = state_of(&t, RegistrationState::Failed).await;
    assert_eq!(s.state, RegistrationState::Failed, "{s:?}");
    assert_eq!(s.last_status, Some(403));
    assert!(s.last_error.as_deref().unwrap_or("").contains("403"), "{s:?}");
    assert_eq!(s.failures, 1);
    assert!(s.expires_at.is_none());
    // The next attempt waits (30 s after a first failure): still one failure once the
    // server is stopped, and the registrar saw only the challenged and the refused REGISTER.
    t.halt().await;
    let got = registrar.stop().await;
    let registers = got.iter().filter(|m| m.starts_with("REGISTER ")).count();
    assert_eq!(registers, 2, "{got:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advertised_address_is_the_contact_and_via_of_registrations() {
    let (_sink, smtp) = SmtpSink::start().await;
    let registrar = Carrier::start(
        "trunk_registrar.xml",
        &["-key", "trunk_user", USER, "-key", "trunk_pass", PASS],
    );
    let mut config = registered_trunk(registrar.addr(), PASS, smtp);
    config.advertised_address = Some("192.0.2.10:5999".into());
    let mut t = TrunkEnv::start(config, |_| {}).await;
    let s = state_of(&t, RegistrationState::Registered).await;
    let contact = format!("<sip:{USER}@192.0.2.10:5999>");
    assert_eq!(s.contact.as_deref(), Some(contact.as_str()), "{s:?}");
    // Calls to the trunk name it too.
    let advertised = t.gate.trunk_list()[0].advertise().map(|a| a.to_string());
    assert_eq!(advertised.as_deref(), Some("192.0.2.10:5999"));
    t.halt().await;
    let got = registrar.stop().await;
    let registers: Vec<&String> = got.iter().filter(|m| m.starts_with("REGISTER ")).collect();
    assert_eq!(registers.len(), 3, "{registers:#?}");
    for r in &registers {
        assert_eq!(header(r, "Contact").as_deref(), Some(contact.as_str()), "{r}");
        let via = header(r, "Via").unwrap();
        assert!(via.starts_with("SIP/2.0/UDP 192.0.2.10:5999;branch="), "{via}");
        assert!(via.ends_with(";rport"), "{via}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nat_the_trunk_registers_the_address_the_registrar_saw() {
    let (_sink, smtp) = SmtpSink::start().await;
    let registrar = Carrier::start(
        "trunk_registrar_nat.xml",
        &["-key", "nat_ip", "127.0.0.9", "-key", "nat_port", "40000"],
    );
    let mut config = egress_config(registrar.addr(), None, smtp);
    config.trunks[0].register = true;
    config.trunks[0].register_expires_s = Some(600);
    let mut t = TrunkEnv::start(config, |_| {}).await;
    let first = format!("<sip:carrier@{}>", t.sip());
    let nat = "<sip:carrier@127.0.0.9:40000>".to_owned();
    let view = t.registrations.as_ref().unwrap().watch();
    let moved = eventually(Duration::from_secs(15), || {
        view.status().first().is_some_and(|s| {
            s.state == RegistrationState::Registered && s.contact.as_deref() == Some(nat.as_str())
        })
    })
    .await;
    assert!(moved, "{:?}", view.status());
    // Calls to the trunk name the address the registrar saw.
    let advertised = t.gate.trunk_list()[0].advertise().map(|a| a.to_string());
    assert_eq!(advertised.as_deref(), Some("127.0.0.9:40000"));
    t.halt().await;
    let got = registrar.stop().await;
    let registers: Vec<&String> = got.iter().filter(|m| m.starts_with("REGISTER ")).collect();
    assert_eq!(registers.len(), 3, "{registers:#?}");
    assert_eq!(header(registers[0], "Contact").as_deref(), Some(first.as_str()));
    assert!(header(registers[0], "Via").unwrap().ends_with(";rport"), "{}", registers[0]);
    assert_eq!(header(registers[1], "Contact").as_deref(), Some(nat.as_str()));
    assert!(
        header(registers[1], "Via").unwrap().starts_with("SIP/2.0/UDP 127.0.0.9:40000;"),
        "{}",
        registers[1]
    );
    assert_ne!(header(registers[1], "Expires").as_deref(), Some("0"));
    // The unregistration at shutdown removes the binding that was made.
    assert_eq!(header(registers[2], "Expires").as_deref(), Some("0"));
    assert_eq!(header(registers[2], "Contact").as_deref(), Some(nat.as_str()));
}
