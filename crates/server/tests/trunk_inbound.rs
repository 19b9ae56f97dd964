//! Calls from the carrier (a SIPp UAC on the trunk's address) to a number of the platform:
//! routed to the number's extension (a SIPp device), accepted without digest only from the
//! trunk's address, and a blocked caller ID is answered without ringing anyone, counted
//! and recorded.

use crate::trunk_support;

use std::net::SocketAddr;

use ringfence_store::{
    Actor, BlockKind, CallDirection, CallerIdBlock, Disposition, E164, NumberRepo as _,
};
use trunk_support::*;

use crate::b2bua_support::{Device, final_status};
use crate::common::tools::{Sipp, SippRun, free_udp_port};

const DID: &str = "+4930901820";
const BLOCKED: &str = "+4915112345678";

/// The carrier calls `did` from `caller_uri` (From), sending from `ip`.
async fn carrier_calls(
    server: SocketAddr,
    ip: &str,
    did: &str,
    caller_uri: &str,
    name: &str,
) -> SippRun {
    Sipp::new("trunk_inbound_uac.xml", server)
        .key("did", did)
        .key("caller_uri", caller_uri)
        .key("caller_name", name)
        .arg("-i")
        .arg(ip)
        .arg("-p")
        .arg(free_udp_port().to_string())
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_from_the_trunk_ring_the_number_s_extension_unless_the_caller_is_blocked() {
    let (_sink, smtp) = SmtpSink::start().await;
    // The trunk: the carrier's address (its UAS is not used in this test).
    let carrier = Carrier::start("trunk_carrier.xml", &[]);
    let t = TrunkEnv::start(egress_config(carrier.addr(), None, smtp), |s| {
        s.inbound_blocks = vec![
            CallerIdBlock { kind: BlockKind::Exact, value: BLOCKED.into() },
            CallerIdBlock { kind: BlockKind::Anonymous, value: String::new() },
        ];
    })
    .await;
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
    let device = Device::start(t.sip(), "100", "call_uas_answer.xml").await;

    // A blocked number and an anonymous caller: answered at once, nobody rings.
    let blocked =
        carrier_calls(t.sip(), CARRIER_IP, DID, &format!("sip:{BLOCKED}@carrier.test"), "Spam")
            .await;
    assert_eq!(final_status(&blocked), 603, "{}", blocked.messages);
    let anonymous =
        carrier_calls(t.sip(), CARRIER_IP, DID, "sip:anonymous@anonymous.invalid", "Anonymous")
            .await;
    assert_eq!(final_status(&anonymous), 433, "{}", anonymous.messages);
    // Nobody's number: 404.
    let unknown =
        carrier_calls(t.sip(), CARRIER_IP, "+4930901899", "sip:+447700900123@carrier.test", "X")
            .await;
    assert_eq!(final_status(&unknown), 404);
    // The same INVITE from anywhere but the trunk is challenged like any other request.
    let spoofed =
        carrier_calls(t.sip(), "127.0.0.1", DID, "sip:+447700900123@carrier.test", "Friend").await;
    assert_eq!(final_status(&spoofed), 407);
    // A caller that is not blocked: the extension's device rings and answers.
    let friend =
        carrier_calls(t.sip(), CARRIER_IP, DID, "sip:+447700900123@carrier.test", "Friend").await;
    friend.assert_success();
    assert_eq!(final_status(&friend), 200);

    let dev = device.finish().await;
    dev.assert_success();
    let rang: Vec<String> =
        dev.received().into_iter().filter(|m| m.starts_with("INVITE ")).collect();
    assert_eq!(rang.len(), 1, "the device rang once: {rang:#?}");
    assert!(rang[0].contains("+447700900123"), "{}", rang[0]);

    assert_eq!(t.gate.inbound_blocked(), 2);
    let records = t.records().await;
    assert_eq!(records.len(), 3, "{records:#?}");
    for r in &records {
        assert_eq!(r.call.direction, CallDirection::Inbound);
        assert_eq!(r.call.callee, DID);
        assert_eq!(r.call.to_extension_id, Some(t.caller));
        assert_eq!(r.call.from_extension_id, None);
    }
    assert_eq!(
        (records[0].call.disposition, records[0].call.sip_status),
        (Disposition::Blocked, Some(603))
    );
    assert_eq!(records[0].call.caller, BLOCKED);
    assert_eq!(records[0].call.reason.as_deref(), Some("inbound caller-ID block: exact rule 1"));
    assert_eq!(records[1].call.sip_status, Some(433));
    assert_eq!(
        records[1].call.reason.as_deref(),
        Some("inbound caller-ID block: anonymous rule 2")
    );
    assert_eq!(records[2].call.disposition, Disposition::Answered);
    assert_eq!(records[2].call.caller, "+447700900123");
    carrier.stop().await;
    let mut t = t;
    t.halt().await;
}
