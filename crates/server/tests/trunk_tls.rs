//! SIP over TLS to a carrier (RFC 3261 §26.2, RFC 5922, RFC 5630): the carrier is a SIPp
//! UAS behind a real TLS server (socat with OpenSSL) holding a certificate for
//! `carrier.test` from a test CA. A call goes through the TLS trunk and completes; a
//! carrier whose certificate does not verify (unknown CA, or issued for another name) gets
//! no call, and the call record says why; a server whose certificate does not verify, or
//! that refuses the connection, is left at once for the next one (RFC 3261 §8.1.3.1, RFC
//! 3263 §4.3), not after Timer B; a trunk registers with its carrier over TLS. NAPTR
//! `SIPS+D2T` and SRV `_sips._tcp` are tested in `trunk_dns`.

use crate::trunk_support;

use std::time::Duration;

use ringfence_server::egress::{
    EgressConfig, RegistrationState, TrunkAuth, TrunkTransport, trunk_tls,
};
use ringfence_sip_proto::transaction::{Peer, Transport};
use ringfence_sip_types::{Method, Request, Uri};
use ringfence_store::Disposition;
use trunk_support::*;

use crate::common::tools::{eventually, free_udp_port};
use crate::dns_support::Dnsmasq;

const UK: &str = "+442079460958";

/// `config` with its trunk reached over TLS at `carrier.test` (resolved by `dns`) on
/// `port`, trusting the certificates of `ca`.
fn over_tls(mut config: EgressConfig, port: u16, dns: &Dnsmasq, ca: &TestCa) -> EgressConfig {
    let t = &mut config.trunks[0];
    t.host = "carrier.test".into();
    t.port = Some(port);
    t.transport = Some(TrunkTransport::Tls);
    t.tls_ca_file = Some(ca.ca_file());
    config.dns_servers = vec![dns.addr];
    config
}

fn carrier_dns() -> Dnsmasq {
    Dnsmasq::start(&[format!("--host-record=carrier.test,{CARRIER_IP}")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_reaches_the_carrier_over_tls_and_completes() {
    let (_sink, smtp) = SmtpSink::start().await;
    let ca = TestCa::new("Carrier Test CA");
    let (cert, key) = ca.issue("carrier", &["carrier.test"]);
    let carrier = TlsCarrier::start("trunk_carrier.xml", &[], &cert, &key).await;
    let dns = carrier_dns();
    let config = over_tls(egress_config(carrier.addr(), None, smtp), carrier.port, &dns, &ca);
    let mut t = TrunkEnv::start(config, |_| {}).await;

    let run = t.dial(UK, 1, 1).await;
    run.assert_success();
    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 1, "{received:#?}");
    // A SIPS Request-URI for the carrier's domain, our TLS Via and a SIPS Contact.
    let port = t.config.trunks[0].port.unwrap();
    assert!(out[0].starts_with(&format!("INVITE sips:{UK}@carrier.test:{port} ")), "{}", out[0]);
    let via = header(&out[0], "Via").unwrap();
    assert!(via.starts_with("SIP/2.0/TLS "), "{via}");
    let contact = header(&out[0], "Contact").unwrap();
    assert!(contact.contains("<sips:"), "{contact}");
    // The ACK and the BYE went over the same TLS connection.
    assert!(received.iter().any(|m| m.starts_with("ACK ")), "{received:#?}");
    assert!(received.iter().any(|m| m.starts_with("BYE ")), "{received:#?}");
    assert_eq!(outbound(&records, Disposition::Answered).len(), 1, "{records:#?}");
    t.halt().await;
}

/// A carrier presenting `cert`: the call is refused with 503 and a reason naming the TLS
/// failure, and the carrier receives nothing.
async fn refused_for_its_certificate(ca: &TestCa, cert: &std::path::Path, key: &std::path::Path) {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = TlsCarrier::start("trunk_carrier.xml", &[], cert, key).await;
    let dns = carrier_dns();
    let config = over_tls(egress_config(carrier.addr(), None, smtp), carrier.port, &dns, ca);
    let mut t = TrunkEnv::start(config, |_| {}).await;

    t.dial(UK, 1, 1).await;
    let records = t.records().await;
    let received = carrier.stop().await;
    assert!(invites(&received).is_empty(), "{received:#?}");
    let out: Vec<_> = records.iter().filter(|r| r.call.callee == UK).collect();
    assert_eq!(out.len(), 1, "{records:#?}");
    assert_eq!(out[0].call.sip_status, Some(503), "{:?}", out[0]);
    let reason = out[0].call.reason.as_deref().unwrap_or("");
    assert!(reason.starts_with("trunk carrier: tls connection to "), "{reason}");
    assert!(reason.contains("TLS handshake with carrier.test failed"), "{reason}");
    assert!(reason.contains("invalid peer certificate"), "{reason}");
    let stats = t.server.as_ref().unwrap().service().transports().stats();
    assert!(stats.tls_handshake_failures >= 1, "{stats:?}");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_certificate_from_an_unknown_ca_gets_no_call() {
    let trusted = TestCa::new("Trusted CA");
    let rogue = TestCa::new("Rogue CA");
    let (cert, key) = rogue.issue("carrier", &["carrier.test"]);
    refused_for_its_certificate(&trusted, &cert, &key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_certificate_for_another_name_gets_no_call() {
    let ca = TestCa::new("Carrier Test CA");
    // Valid for the address and another name, not for the trunk's domain.
    let (cert, key) = ca.issue("other", &["other.test", CARRIER_IP]);
    refused_for_its_certificate(&ca, &cert, &key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_bad_certificate_is_left_at_once_for_the_next() {
    let (_sink, smtp) = SmtpSink::start().await;
    let ca = TestCa::new("Carrier Test CA");
    let rogue = TestCa::new("Rogue CA");
    let (bad_cert, bad_key) = rogue.issue("bad", &["carrier.test"]);
    let (cert, key) = ca.issue("good", &["carrier.test"]);
    let bad = TlsCarrier::start("trunk_carrier.xml", &[], &bad_cert, &bad_key).await;
    let good = TlsCarrier::start("trunk_carrier.xml", &[], &cert, &key).await;
    let dns = Dnsmasq::start(&[
        format!("--srv-host=_sips._tcp.carrier.test,bad.carrier.test,{},10,0", bad.port),
        format!("--srv-host=_sips._tcp.carrier.test,good.carrier.test,{},20,0", good.port),
        format!("--host-record=bad.carrier.test,{CARRIER_IP}"),
        format!("--host-record=good.carrier.test,{CARRIER_IP}"),
    ]);
    let mut config = egress_config(good.addr(), None, smtp);
    let tr = &mut config.trunks[0];
    tr.host = "carrier.test".into();
    tr.port = None;
    tr.transport = Some(TrunkTransport::Tls);
    tr.tls_ca_file = Some(ca.ca_file());
    config.dns_servers = vec![dns.addr];
    let mut t = TrunkEnv::start(config, |_| {}).await;

    // The caller gives up on any answer that takes 10 s: well under Timer B (32 s).
    let run = t.dial_with(UK, &["-recv_timeout", "10000"]).await;
    run.assert_success();
    let records = t.records().await;
    assert!(invites(&bad.stop().await).is_empty());
    assert_eq!(invites(&good.stop().await).len(), 1);
    assert_eq!(outbound(&records, Disposition::Answered).len(), 1, "{records:#?}");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_registers_with_its_carrier_over_tls() {
    const USER: &str = "pbx-1";
    const PASS: &str = "carrier-secret";
    let (_sink, smtp) = SmtpSink::start().await;
    let ca = TestCa::new("Carrier Test CA");
    let (cert, key) = ca.issue("carrier", &["carrier.test"]);
    let registrar = TlsCarrier::start(
        "trunk_registrar.xml",
        &["-key", "trunk_user", USER, "-key", "trunk_pass", PASS],
        &cert,
        &key,
    )
    .await;
    let dns = carrier_dns();
    let mut config =
        over_tls(egress_config(registrar.addr(), None, smtp), registrar.port, &dns, &ca);
    let tr = &mut config.trunks[0];
    tr.auth = TrunkAuth::Digest { username: USER.into(), password: PASS.into() };
    tr.register = true;
    tr.register_expires_s = Some(600);
    tr.realm = Some("carrier.test".into());
    let mut t = TrunkEnv::start(config, |_| {}).await;

    let regs = t.registrations.as_ref().unwrap();
    let view = regs.watch();
    assert!(
        eventually(Duration::from_secs(15), || view.status()[0].state
            == RegistrationState::Registered)
        .await,
        "{:?}",
        regs.status()
    );
    let status = regs.status()[0].clone();
    assert_eq!(status.registrar.as_deref(), Some(registrar.addr().to_string().as_str()));
    assert!(status.contact.as_deref().unwrap_or("").starts_with("<sips:"), "{status:?}");
    t.halt().await;
    let received = registrar.stop().await;
    let registers: Vec<_> = received.iter().filter(|m| m.starts_with("REGISTER ")).collect();
    assert!(registers.len() >= 2, "{received:#?}");
    let port = registrar_port(&t);
    assert!(
        registers[0].starts_with(&format!("REGISTER sips:carrier.test:{port} ")),
        "{}",
        registers[0]
    );
    assert!(header(registers[0], "Via").unwrap().starts_with("SIP/2.0/TLS "), "{}", registers[0]);
}

fn registrar_port(t: &TrunkEnv) -> u16 {
    t.config.trunks[0].port.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_ends_the_transaction_with_a_transport_error_at_once() {
    use ringfence_sip_types::Host;
    use ringfence_sip_types::header::{NameAddr, Via};
    let (_sink, smtp) = SmtpSink::start().await;
    let unused = "127.0.0.2:9".parse().unwrap();
    let mut t = TrunkEnv::start(egress_config(unused, None, smtp), |_| {}).await;
    let core = t.server.as_ref().unwrap().service().core().clone();
    // Nothing listens on this TCP port.
    let dead: std::net::SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let local = core.local_addr(Transport::Tcp).unwrap();
    let target = Uri::parse(&format!("sip:{dead};transport=tcp")).unwrap();
    let via = Via::new("TCP", Host::from(local.ip()), Some(local.port()), &core.new_branch());
    let from = NameAddr::new(Uri::parse("sip:probe@calls.test").unwrap());
    let request = Request::builder(Method::Options, target.clone())
        .via(&via)
        .max_forwards(70)
        .from(&from.with_tag(&core.new_tag()))
        .to(&NameAddr::new(target))
        .call_id(&core.new_call_id(None))
        .cseq(1)
        .build();
    let mut tx = core.start_request(request, Peer::new(dead, Transport::Tcp)).await.unwrap();
    // Timer F would end it only after 32 s; the refused connection ends it now. The bound
    // here only keeps a broken build from hanging.
    let event = tokio::time::timeout(Duration::from_secs(20), tx.next()).await.unwrap();
    match event {
        Some(ringfence_server::core::ClientEvent::TransportError(why)) => {
            assert!(why.contains(&format!("tcp connection to {dead} failed")), "{why}");
            assert!(why.to_lowercase().contains("refused"), "{why}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    let stats = t.server.as_ref().unwrap().service().transports().stats();
    assert!(stats.connect_failures >= 1, "{stats:?}");
    t.halt().await;
}

#[test]
fn trunk_tls_settings_are_checked() {
    let carrier = "127.0.0.2:5061".parse().unwrap();
    let mut config = egress_config(carrier, None, "127.0.0.1:25".parse().unwrap());
    let t = &mut config.trunks[0];
    t.host = "carrier.test".into();
    t.transport = Some(TrunkTransport::Tls);
    t.tls_ca_file = Some("/nonexistent/ca.pem".into());
    let e = trunk_tls(t).unwrap_err();
    assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    let ca = TestCa::new("CA");
    t.tls_ca_file = Some(ca.ca_file());
    let peer = trunk_tls(t).unwrap().unwrap();
    assert_eq!(peer.name(), &rustls::pki_types::ServerName::try_from("carrier.test").unwrap());
}
