//! The B2BUA's seams: an SDP rewriter sees every offer and answer in both directions,
//! a call gate can refuse a call before the second leg exists, an observer hears about
//! answered and ended calls, and a call can be ended from outside (the fraud engine).

use crate::b2bua_support;
use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use b2bua_support::{Endpoint, PW, b2bua_config, sdp};
use common::tools::eventually;
use common::{TestEnv, test_config};
use ringfence_server::b2bua::{
    B2buaBuilder, CallAttempt, CallGate, CallInfo, CallObserver, CallRef, Destination,
    GateDecision, SdpContext, SdpKind, SdpRefusal, SdpRewriter, Side,
};
use ringfence_sip_types::Method;
use ringfence_store::{
    CallFilter, CallRecordRepo, Disposition, EncryptionRequirement, NewCallRecord,
};

/// Marks every body it relays with where it came from.
struct Marker;

impl SdpRewriter for Marker {
    fn rewrite(&self, ctx: &SdpContext, sdp: &[u8]) -> Result<Vec<u8>, SdpRefusal> {
        let from = match ctx.from {
            Side::Caller => "caller",
            Side::Callee => "callee",
        };
        let kind = match ctx.kind {
            SdpKind::Offer => "offer",
            SdpKind::Answer => "answer",
        };
        let mut out = sdp.to_vec();
        out.extend_from_slice(format!("a=x-relayed:{from}-{kind}\r\n").as_bytes());
        Ok(out)
    }
}

/// Refuses calls to 102.
struct No102;

impl CallGate for No102 {
    fn check(&self, attempt: &CallAttempt<'_>) -> GateDecision {
        match attempt.destination {
            Destination::Extension { number: "102", .. } => {
                GateDecision::Deny { status: 403, reason: "102 is off limits".into() }
            }
            _ => GateDecision::Allow,
        }
    }
}

#[derive(Default)]
struct Log {
    answered: Mutex<Vec<CallInfo>>,
    ended: Mutex<Vec<(CallRef, Disposition)>>,
}

struct Observer(Arc<Log>);

impl CallObserver for Observer {
    fn call_answered(&self, info: &CallInfo) {
        self.0.answered.lock().unwrap().push(info.clone());
    }
    fn call_ended(&self, info: &CallInfo, record: &NewCallRecord) {
        self.0.ended.lock().unwrap().push((info.call, record.disposition));
    }
}

#[tokio::test]
async fn rewriter_gate_observer_and_ending_a_call_from_outside() {
    let env = TestEnv::new().await;
    let tenant = env.tenant(b2bua_support::DOMAIN, EncryptionRequirement::Optional).await;
    for n in ["100", "101", "102"] {
        env.extension(&tenant, n, PW, true).await;
    }
    let log = Arc::new(Log::default());
    let (factory, b2bua) = B2buaBuilder::new(b2bua_config(), env.store.clone())
        .sdp_rewriter(Arc::new(Marker))
        .gate(Arc::new(No102))
        .observer(Arc::new(Observer(log.clone())))
        .build()
        .unwrap();
    let server = env.start_with(test_config(), Some(factory)).await;

    // The gate: refused before any device is called, with the gate's status.
    let mut caller = Endpoint::udp(server.udp).await;
    let inv = caller.call("100", "102", PW, &sdp(false)).await;
    let r = caller.response(200).await;
    caller.send(&b2bua_support::ack_for(&inv, &r)).await;
    assert_eq!(r.status.code(), 403);

    // The rewriter: the callee sees the rewritten offer, the caller the rewritten answer.
    let mut callee = Endpoint::udp(server.udp).await;
    callee.register("101").await;
    caller.call("100", "101", PW, &sdp(false)).await;
    let offer = callee.request().await;
    assert!(String::from_utf8_lossy(&offer.body).ends_with("a=x-relayed:caller-offer\r\n"));
    callee.answer(&offer, 200, Some(&sdp(false))).await;
    let ok = caller.response(200).await;
    assert!(String::from_utf8_lossy(&ok.body).ends_with("a=x-relayed:callee-answer\r\n"));
    caller.send(&caller.in_dialog("ACK", &ok, 2)).await;
    assert_eq!(callee.request().await.method, Method::Ack);

    // The observer heard the answer; ending the call from outside sends BYE both ways.
    let info = log.answered.lock().unwrap().first().cloned().expect("answered call observed");
    assert_eq!((info.caller.as_str(), info.callee.as_str()), ("100", "101"));
    assert!(b2bua.end_call(info.call, 403, "fraud limit crossed"));
    let bye = caller.request().await;
    assert_eq!(bye.method, Method::Bye);
    caller.ok(&bye).await;
    let bye = callee.request().await;
    assert_eq!(bye.method, Method::Bye);
    callee.ok(&bye).await;
    assert!(!b2bua.end_call(CallRef(9_999), 403, "no such call"));

    let b = b2bua.clone();
    assert!(eventually(Duration::from_secs(10), || b.stats().calls == 0).await);
    b2bua.flush_records().await;
    let ended = log.ended.lock().unwrap().clone();
    assert_eq!(ended.len(), 2, "{ended:?}");
    assert_eq!(ended[0].1, Disposition::Blocked);
    assert_eq!(ended[1], (info.call, Disposition::Answered));
    let mut recs = env
        .store
        .list_call_records(tenant.id, &CallFilter::default(), 10, None)
        .await
        .unwrap()
        .records;
    recs.reverse();
    assert_eq!(recs[0].call.reason.as_deref(), Some("102 is off limits"));
    assert_eq!(recs[0].call.sip_status, Some(403));
    assert_eq!(recs[1].call.reason.as_deref(), Some("fraud limit crossed"));
    server.stop().await;
}
