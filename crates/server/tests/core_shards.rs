//! The sharded core: every request of a call (INVITE, its retransmission, CANCEL, the ACK
//! of a non-2xx and of a 2xx, BYE) reaches the shard that owns the call's transactions,
//! and calls spread over the shards run side by side.
//!
//! A call handler records, for each request, the shard owning the transaction it came in
//! (the shard is part of the transaction id). A request that reached another shard shows:
//! a retransmitted INVITE would create a second transaction there (the handler would see
//! the INVITE twice), a CANCEL would match nothing there (481 instead of 200), the ACK of
//! a 487 would not be absorbed by its INVITE transaction (the handler would see it).
//!
//! The last test runs real calls in parallel through the B2BUA on four shards with SIPp.

use crate::b2bua_support;
use crate::common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use common::client::{Req, UdpClient, rand_hex};
use common::{TestEnv, test_config};
use ringfence_server::core::{CallFactory, CallHandler, CoreHandle};
use ringfence_sip_proto::transaction::{Peer, Transport, TxId};
use ringfence_sip_types::{HeaderName, Method, Request, Response};

const SHARDS: usize = 4;
const CALLS: usize = 48;

/// What the handler saw: (Call-ID, method, shard of the transaction if it had one).
type Log = Arc<Mutex<Vec<(String, String, Option<usize>)>>>;

struct Recorder {
    log: Log,
}

impl Recorder {
    fn record(&self, request: &Request, shard: Option<usize>) {
        let call_id = request.call_id().unwrap().to_owned();
        self.log.lock().unwrap().push((call_id, request.method.as_str().to_owned(), shard));
    }
}

fn with_to_tag(request: &Request, code: u16) -> Response {
    let mut r = Response::from_request(request, code);
    let to = request.headers.get("To").unwrap().to_owned();
    if !to.contains(";tag=") {
        r.headers.set(HeaderName::To, &format!("{to};tag=uas{}", rand_hex()));
    }
    r
}

impl CallHandler for Recorder {
    fn on_request(&mut self, core: &CoreHandle, tx: TxId, request: Request, _source: Peer) {
        self.record(&request, Some(core.shard_of_tx(tx)));
        let ring_only = request.uri.to_string().starts_with("sip:ring");
        let code = if request.method == Method::Invite && ring_only { 180 } else { 200 };
        let mut r = with_to_tag(&request, code);
        if request.method == Method::Invite {
            r.headers.push(HeaderName::Contact, "<sip:uas@127.0.0.1>");
        }
        core.respond(tx, r).unwrap();
    }

    fn on_ack(&mut self, core: &CoreHandle, tx: Option<TxId>, request: Request, _source: Peer) {
        self.record(&request, tx.map(|t| core.shard_of_tx(t)));
    }

    fn on_cancel(&mut self, core: &CoreHandle, invite_tx: TxId, request: Request, _source: Peer) {
        self.record(&request, Some(core.shard_of_tx(invite_tx)));
        let mut r = with_to_tag(&request, 487);
        let seq = request.cseq().unwrap().seq;
        r.headers.set(HeaderName::CSeq, &format!("{seq} INVITE"));
        core.respond(invite_tx, r).unwrap();
    }
}

/// One UDP caller: builds requests of one Call-ID and reads the answers.
struct Caller {
    ua: UdpClient,
    call_id: String,
    from_tag: String,
    user: String,
}

impl Caller {
    fn request(&self, method: &str, branch: &str, cseq: u32, to_tag: Option<&str>) -> Vec<u8> {
        let local = self.ua.local();
        let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        format!(
            "{method} sip:{u}@shards.test SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:caller@shards.test>;tag={f}\r\n\
             To: <sip:{u}@shards.test>{to_tag}\r\nCall-ID: {c}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:caller@{local}>\r\nContent-Length: 0\r\n\r\n",
            u = self.user,
            f = self.from_tag,
            c = self.call_id,
        )
        .into_bytes()
    }

    /// The next response with `status` to a request with CSeq method `method` (others,
    /// such as a 100 Trying or a resent provisional, are skipped).
    async fn expect(&self, method: &str, status: u16) -> Response {
        loop {
            let r = Response::parse(&self.ua.recv_raw().await).expect("a response");
            if r.cseq().unwrap().method.as_str() == method && r.status.code() == status {
                return r;
            }
            assert!(
                r.status.code() < 200 || r.cseq().unwrap().method.as_str() != method,
                "{method} got {} instead of {status}",
                r.status.code()
            );
        }
    }

    /// INVITE (sent twice: a retransmission), 200, ACK, BYE, 200. The ACK reuses the
    /// INVITE's branch when `ack_same_branch` (then it matches the INVITE transaction and
    /// the handler learns its shard), else takes a new one (RFC 3261 §13.2.2.4).
    async fn answered(&self, ack_same_branch: bool) {
        let branch = format!("z9hG4bK{}", rand_hex());
        let invite = self.request("INVITE", &branch, 1, None);
        self.ua.send(&invite).await;
        self.ua.send(&invite).await;
        let ok = self.expect("INVITE", 200).await;
        let tag = ok.to().unwrap().tag().unwrap().to_owned();
        let ack_branch = if ack_same_branch { branch } else { format!("z9hG4bK{}", rand_hex()) };
        self.ua.send(&self.request("ACK", &ack_branch, 1, Some(&tag))).await;
        let bye = self.request("BYE", &format!("z9hG4bK{}", rand_hex()), 2, Some(&tag));
        self.ua.send(&bye).await;
        self.expect("BYE", 200).await;
    }

    /// INVITE, 180, CANCEL: 200 for the CANCEL, 487 for the INVITE, ACK (absorbed by
    /// the INVITE transaction), then a BYE as a barrier: the ACK was handled before it.
    async fn cancelled(&self) {
        let branch = format!("z9hG4bK{}", rand_hex());
        self.ua.send(&self.request("INVITE", &branch, 1, None)).await;
        self.expect("INVITE", 180).await;
        self.ua.send(&self.request("CANCEL", &branch, 1, None)).await;
        self.expect("CANCEL", 200).await;
        let busy = self.expect("INVITE", 487).await;
        let tag = busy.to().unwrap().tag().unwrap().to_owned();
        self.ua.send(&self.request("ACK", &branch, 1, Some(&tag))).await;
        let bye = self.request("BYE", &format!("z9hG4bK{}", rand_hex()), 2, Some(&tag));
        self.ua.send(&bye).await;
        self.expect("BYE", 200).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_request_of_a_call_reaches_its_shard_and_calls_run_on_all_shards() {
    let env = TestEnv::new().await;
    let mut config = test_config();
    config.core.shards = SHARDS;
    let log: Log = Arc::default();
    let l = log.clone();
    let factory: CallFactory =
        Box::new(move |_| Box::new(Recorder { log: l }) as Box<dyn CallHandler>);
    let server = env.start_with(config, Some(factory)).await;
    let core = server.service().core().clone();
    assert_eq!(core.shards(), SHARDS);

    let mut calls = Vec::new();
    for i in 0..CALLS {
        let caller = Caller {
            ua: UdpClient::new(server.udp).await,
            call_id: format!("{}@shards.test", rand_hex()),
            from_tag: rand_hex(),
            user: if i % 3 == 2 { format!("ring{i}") } else { format!("callee{i}") },
        };
        calls.push(tokio::spawn(async move {
            match i % 3 {
                0 => caller.answered(true).await,
                1 => caller.answered(false).await,
                _ => caller.cancelled().await,
            }
            (caller.call_id, i % 3)
        }));
    }
    let mut kinds = HashMap::new();
    for c in calls {
        let (call_id, kind) = c.await.expect("the call went as expected");
        kinds.insert(call_id, kind);
    }

    let log = log.lock().unwrap().clone();
    let mut used = HashSet::new();
    for (call_id, kind) in &kinds {
        let shard = core.shard_of_call_id(call_id);
        used.insert(shard);
        let seen: Vec<(&str, Option<usize>)> =
            log.iter().filter(|(c, _, _)| c == call_id).map(|(_, m, s)| (m.as_str(), *s)).collect();
        let expected: Vec<(&str, Option<usize>)> = match kind {
            // One INVITE (the retransmission was absorbed), the ACK matched the INVITE
            // transaction, the BYE.
            0 => vec![("INVITE", Some(shard)), ("ACK", Some(shard)), ("BYE", Some(shard))],
            // An ACK with its own branch belongs to no transaction: no shard to report.
            1 => vec![("INVITE", Some(shard)), ("ACK", None), ("BYE", Some(shard))],
            // The CANCEL matched the INVITE; the ACK of the 487 was absorbed.
            _ => vec![("INVITE", Some(shard)), ("CANCEL", Some(shard)), ("BYE", Some(shard))],
        };
        assert_eq!(seen, expected, "call {call_id}");
    }
    assert!(used.len() > 1, "{CALLS} calls all hashed to one shard: {used:?}");
    server.stop().await;
}

/// Regression: with one shard still draining (a client transaction nobody answers), the
/// shards that had nothing open stopped at once, so new requests whose Call-ID hashed to
/// them got no answer at all instead of 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_shard_answers_503_until_all_have_drained() {
    let env = TestEnv::new().await;
    let mut config = test_config();
    config.core.shards = SHARDS;
    let server = env.start(config).await;
    let core = server.service().core().clone();
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = core.local_addr(Transport::Udp).unwrap();
    let text = format!(
        "OPTIONS sip:{dest} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:ringfence@{local}>;tag=1\r\nTo: <sip:{dest}>\r\n\
         Call-ID: {cid}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        dest = silent.local_addr().unwrap(),
        branch = core.new_branch(),
        cid = core.new_call_id(None),
    );
    let request = Request::parse(text.as_bytes()).unwrap();
    let dest = Peer::new(silent.local_addr().unwrap(), Transport::Udp);
    let _pending = core.start_request(request, dest).await.unwrap();
    server.begin_shutdown();
    // One REGISTER per shard.
    let mut covered = HashSet::new();
    while covered.len() < SHARDS {
        let req = Req::register("100", "shards.test", "<sip:100@127.0.0.1:5996>");
        if !covered.insert(core.shard_of_call_id(&req.call_id)) {
            continue;
        }
        let c = UdpClient::new(server.udp).await;
        let resp = c.call(&req).await;
        assert_eq!(resp.status.code(), 503, "shard {}", core.shard_of_call_id(&req.call_id));
    }
    server.stop().await;
}

/// True when something is bound to UDP 127.0.0.1:`port`.
fn udp_bound(port: u16) -> bool {
    let needle = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/udp")
        .map(|t| t.lines().any(|l| l.split_whitespace().nth(1) == Some(needle.as_str())))
        .unwrap_or(false)
}

/// Many calls at once through the B2BUA on four shards (SIPp caller: 40 calls, 20 at a
/// time, each INVITE/407/ACK/INVITE/180/200/ACK/BYE on the caller's leg and a new
/// Call-ID on the callee's, so the two legs of a call usually live on different
/// shards): every call is answered and recorded, and nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_sipp_calls_through_the_b2bua_on_four_shards() {
    use b2bua_support::{CallEnv, b2bua_config, caller, register};
    use common::tools::{Sipp, eventually, free_udp_port};
    use ringfence_store::{Disposition, EncryptionRequirement};
    const N: usize = 40;
    let mut config = test_config();
    config.core.shards = SHARDS;
    let c = CallEnv::start_with(
        EncryptionRequirement::Optional,
        b2bua_config(),
        config,
        &["100", "101"],
    )
    .await;
    assert_eq!(c.server.service().core().shards(), SHARDS);
    let port = free_udp_port();
    register(c.server.udp, "101", port).await;
    let callee = Sipp::new("call_uas_answer.xml", c.server.udp)
        .arg("-p")
        .arg(port.to_string())
        .arg("-m")
        .arg(N.to_string());
    let callee = tokio::spawn(callee.run());
    assert!(
        eventually(std::time::Duration::from_secs(10), || udp_bound(port)).await,
        "SIPp did not bind port {port}"
    );
    let run = caller("call_uac.xml", c.server.udp, "100", "101")
        .arg("-m")
        .arg(N.to_string())
        .arg("-l")
        .arg("20")
        .arg("-r")
        .arg("20")
        .run()
        .await;
    run.assert_success();
    callee.await.unwrap().assert_success();
    let records = c.records().await;
    assert_eq!(records.len(), N);
    assert!(records.iter().all(|r| r.call.disposition == Disposition::Answered), "{records:#?}");
    let a_legs: HashSet<&str> = records.iter().map(|r| r.call.call_id.as_str()).collect();
    let shards: HashSet<usize> =
        a_legs.iter().map(|id| c.server.service().core().shard_of_call_id(id)).collect();
    assert!(shards.len() > 1, "{N} callers all on one shard: {shards:?}");
    c.assert_clean();
    c.stop().await;
}
