//! Locating the carrier's SIP servers as RFC 3263 §4 says, against a real DNS server
//! (dnsmasq) and real carriers (SIPp UAS): NAPTR -> SRV -> A reaches the carrier; with two
//! SRV targets the call moves to the second when the first answers 503 or refuses the
//! connection (§4.3: at once, as a transport error, not after Timer B); NAPTR `SIPS+D2T`
//! -> SRV `_sips._tcp` reaches a carrier over TLS (socat + SIPp, certificate checked for
//! the trunk's domain); a trunk host without records refuses the call with the reason in
//! the record.

use crate::trunk_support;

use std::time::Duration;

use ringfence_server::egress::{EgressConfig, TrunkTransport};
use ringfence_store::Disposition;
use trunk_support::*;

use crate::common::tools::{eventually, free_udp_port};
use crate::dns_support::Dnsmasq;

const UK: &str = "+442079460958";

/// `config` with its trunk's host `host` (no port, transport `transport`) and `dns` as the
/// only DNS server.
fn via_dns(
    mut config: EgressConfig,
    host: &str,
    transport: Option<TrunkTransport>,
    dns: &Dnsmasq,
) -> EgressConfig {
    config.trunks[0].host = host.into();
    config.trunks[0].port = None;
    config.trunks[0].transport = transport;
    config.dns_servers = vec![dns.addr];
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naptr_srv_and_a_records_lead_to_the_carrier() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let dns = Dnsmasq::start(&[
        // Preferred: TCP, which this carrier does not offer in SRV; then UDP.
        "--naptr-record=carrier.test,10,10,s,SIP+D2T,,_sip._tcp.carrier.test".into(),
        "--naptr-record=carrier.test,20,10,s,SIP+D2U,,_sip._udp.carrier.test".into(),
        format!("--srv-host=_sip._udp.carrier.test,sip1.carrier.test,{},10,0", carrier.port),
        format!("--host-record=sip1.carrier.test,{CARRIER_IP}"),
    ]);
    let config = via_dns(egress_config(carrier.addr(), None, smtp), "carrier.test", None, &dns);
    let mut t = TrunkEnv::start(config, |_| {}).await;

    t.dial(UK, 1, 1).await;
    let records = t.records().await;
    let received = carrier.stop().await;
    let out = invites(&received);
    assert_eq!(out.len(), 1, "{received:#?}");
    // The Request-URI keeps the trunk's domain; the packet went to the SRV target.
    assert!(out[0].starts_with(&format!("INVITE sip:{UK}@carrier.test ")), "{}", out[0]);
    assert_eq!(outbound(&records, Disposition::Answered).len(), 1, "{records:#?}");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_srv_target_takes_the_call_when_the_first_answers_503() {
    let (_sink, smtp) = SmtpSink::start().await;
    let down = Carrier::start("trunk_carrier_503.xml", &[]);
    let up = Carrier::start("trunk_carrier.xml", &[]);
    let dns = Dnsmasq::start(&[
        format!("--srv-host=_sip._udp.carrier.test,down.carrier.test,{},10,0", down.port),
        format!("--srv-host=_sip._udp.carrier.test,up.carrier.test,{},20,0", up.port),
        format!("--host-record=down.carrier.test,{CARRIER_IP}"),
        format!("--host-record=up.carrier.test,{CARRIER_IP}"),
    ]);
    let config = via_dns(egress_config(up.addr(), None, smtp), "carrier.test", None, &dns);
    let mut t = TrunkEnv::start(config, |_| {}).await;

    t.dial(UK, 2, 1).await;
    let records = t.records().await;
    let first = invites(&down.stop().await);
    let second = invites(&up.stop().await);
    // Each call tried the preferred server first, then the other.
    assert_eq!((first.len(), second.len()), (2, 2), "{first:#?}\n{second:#?}");
    assert_eq!(outbound(&records, Disposition::Answered).len(), 2, "{records:#?}");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_srv_target_takes_the_call_when_the_first_refuses_the_connection() {
    let (_sink, smtp) = SmtpSink::start().await;
    let up = Carrier::start("trunk_carrier.xml", &["-t", "t1"]);
    // Nothing listens on this TCP port of the carrier's address.
    let dead = free_udp_port();
    let dns = Dnsmasq::start(&[
        "--naptr-record=carrier.test,10,10,s,SIP+D2T,,_sip._tcp.carrier.test".into(),
        format!("--srv-host=_sip._tcp.carrier.test,dead.carrier.test,{dead},10,0"),
        format!("--srv-host=_sip._tcp.carrier.test,up.carrier.test,{},20,0", up.port),
        format!("--host-record=dead.carrier.test,{CARRIER_IP}"),
        format!("--host-record=up.carrier.test,{CARRIER_IP}"),
    ]);
    let config = via_dns(
        egress_config(up.addr(), None, smtp),
        "carrier.test",
        Some(TrunkTransport::Tcp),
        &dns,
    );
    let mut t = TrunkEnv::start(config, |_| {}).await;
    // The live carrier listens before the call (SIPp over TCP may start slowly).
    let live = up.addr();
    assert!(
        eventually(Duration::from_secs(10), || std::net::TcpStream::connect(live).is_ok()).await,
        "the carrier's SIPp does not listen on TCP {live}"
    );

    // Nothing answers at the first server: its refused connection is reported to the INVITE
    // transaction at once (RFC 3261 §8.1.3.1: a transport error, treated as 503), which goes
    // to the next server. Were it left to Timer B (32 s), the caller, who gives up on any
    // answer that takes 10 s, would fail.
    let run = t.dial_with(UK, &["-recv_timeout", "10000"]).await;
    run.assert_success();
    let records = t.records().await;
    let got = invites(&up.stop().await);
    assert_eq!(got.len(), 1, "{got:#?}\n{records:#?}");
    assert!(got[0].contains("SIP/2.0/TCP"), "{}", got[0]);
    assert_eq!(outbound(&records, Disposition::Answered).len(), 1, "{records:#?}");
    let stats = t.server.as_ref().unwrap().service().transports().stats();
    assert!(stats.connect_failures >= 1, "the first server's connection was refused: {stats:?}");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naptr_sips_d2t_and_srv_sips_tcp_lead_to_the_carrier_over_tls() {
    let (_sink, smtp) = SmtpSink::start().await;
    let ca = TestCa::new("Carrier Test CA");
    // The certificate names the carrier's domain only, not the SRV target.
    let (cert, key) = ca.issue("carrier", &["carrier.test"]);
    let carrier = TlsCarrier::start("trunk_carrier.xml", &[], &cert, &key).await;
    let udp_decoy = Carrier::start("trunk_carrier.xml", &[]);
    let dns = Dnsmasq::start(&[
        // The carrier prefers TLS (lower order), then UDP.
        "--naptr-record=carrier.test,10,10,s,SIPS+D2T,,_sips._tcp.carrier.test".into(),
        "--naptr-record=carrier.test,20,10,s,SIP+D2U,,_sip._udp.carrier.test".into(),
        format!("--srv-host=_sips._tcp.carrier.test,tls1.carrier.test,{},10,0", carrier.port),
        format!("--srv-host=_sip._udp.carrier.test,udp1.carrier.test,{},10,0", udp_decoy.port),
        format!("--host-record=tls1.carrier.test,{CARRIER_IP}"),
        format!("--host-record=udp1.carrier.test,{CARRIER_IP}"),
    ]);
    let mut config = egress_config(carrier.addr(), None, smtp);
    let tr = &mut config.trunks[0];
    tr.host = "carrier.test".into();
    tr.port = None;
    tr.transport = None;
    tr.tls_ca_file = Some(ca.ca_file());
    config.dns_servers = vec![dns.addr];
    let mut t = TrunkEnv::start(config, |_| {}).await;
    let targets = t.gate.trunk_list()[0].targets.get();
    assert_eq!(targets.targets[0].transport, TrunkTransport::Tls, "{targets:?}");
    assert_eq!(targets.targets[0].addr, carrier.addr(), "{targets:?}");

    t.dial(UK, 1, 1).await.assert_success();
    let records = t.records().await;
    let over_tls = invites(&carrier.stop().await);
    let over_udp = invites(&udp_decoy.stop().await);
    assert_eq!((over_tls.len(), over_udp.len()), (1, 0), "{over_tls:#?}\n{over_udp:#?}");
    assert!(over_tls[0].starts_with(&format!("INVITE sips:{UK}@carrier.test ")), "{}", over_tls[0]);
    assert_eq!(outbound(&records, Disposition::Answered).len(), 1, "{records:#?}");
    t.halt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_host_without_records_refuses_the_call_with_the_reason() {
    let (_sink, smtp) = SmtpSink::start().await;
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let dns = Dnsmasq::start(&["--host-record=other.test,127.0.0.9".into()]);
    let config = via_dns(egress_config(carrier.addr(), None, smtp), "nowhere.test", None, &dns);
    let mut t = TrunkEnv::start(config, |_| {}).await;

    t.dial(UK, 1, 1).await;
    let records = t.records().await;
    assert!(invites(&carrier.stop().await).is_empty());
    let out: Vec<_> = records.iter().filter(|r| r.call.callee == UK).collect();
    assert_eq!(out.len(), 1, "{records:#?}");
    assert_eq!(out[0].call.sip_status, Some(503));
    let reason = out[0].call.reason.as_deref().unwrap_or("");
    assert!(
        reason.contains("nowhere.test has no SIP targets (no NAPTR, SRV or A/AAAA records)"),
        "{reason}"
    );
    t.halt().await;
}
