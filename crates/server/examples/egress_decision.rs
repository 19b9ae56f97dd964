//! Times the egress gate's decision for an outside call as the B2BUA makes it
//! ([`CallGate::check`]: tenant policy cache, the one egress policy, the fraud engine, the
//! trunk route), 100 000 calls over 1 000 extensions, each call ended right after (so the
//! concurrency limits stay clear), and prints p50/p99/p99.9 in microseconds for all
//! decisions, the routed ones and the refused ones. The calls come faster than the
//! engine's tenant rate allows (its GCRA has millisecond resolution, so at most 60 000
//! calls a minute), so part of them are refused as `call_rate`: both paths are timed.
//!
//! `cargo run --release -p ringfence-server --example egress_decision`

// A measurement tool: its output is the point.
#![allow(clippy::print_stdout)]

use std::time::{Instant, SystemTime};

use ringfence_server::b2bua::{
    CallAttempt, CallGate, CallInfo, CallObserver, CallOrigin, CallRef, Destination, GateDecision,
};
use ringfence_server::egress::{self, EgressConfig, TrunkAuth, TrunkConfig};
use ringfence_sip_proto::transaction::{Peer, Transport};
use ringfence_store::{
    Actor, AnyStore, CallDirection, CountryCode, Disposition, ExtensionId, MasterKey,
    NewCallRecord, NewTenant, SipDomain, TenantRepo, TenantSettings,
};

const CALLS: u64 = 100_000;
const EXTENSIONS: u64 = 1_000;
const NUMBERS: [&str; 3] = ["+442079460958", "+441614960123", "030901820"];

fn pct(sorted: &[u64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = AnyStore::open_sqlite(dir.path(), MasterKey::generate().unwrap()).await.unwrap();
    let mut settings = TenantSettings::new(CountryCode::parse("DE").unwrap());
    settings.international_calling = true;
    settings.allowed_countries.insert(CountryCode::parse("GB").unwrap());
    settings.fraud_limits.max_calls_per_minute_per_extension = 1_000_000;
    settings.fraud_limits.max_calls_per_minute_per_tenant = 1_000_000;
    settings.fraud_limits.spend_cap_cents_per_day = 1 << 40;
    let tenant = store
        .create_tenant(
            NewTenant {
                name: "Bench".into(),
                domain: SipDomain::parse("bench.test").unwrap(),
                settings,
            },
            &Actor::system("bench"),
        )
        .await
        .unwrap();
    let config = EgressConfig {
        trunks: vec![TrunkConfig {
            name: "carrier".into(),
            host: "127.0.0.1".into(),
            port: Some(5070),
            transport: Default::default(),
            auth: TrunkAuth::Ip,
            tenants: vec![],
            caller_id: None,
            register: false,
            register_expires_s: None,
            realm: None,
            tls_ca_file: None,
            advertised_address: None,
        }],
        ..EgressConfig::default()
    };
    let (gate, _driver) = egress::build(&config, store.clone()).await.unwrap();
    let extensions: Vec<ExtensionId> = (0..EXTENSIONS).map(|_| ExtensionId::random()).collect();
    let source = Peer::new("192.0.2.10:5060".parse().unwrap(), Transport::Tls);
    let now = time::OffsetDateTime::now_utc();
    let record = NewCallRecord {
        call_id: String::new(),
        caller: String::new(),
        callee: String::new(),
        direction: CallDirection::Outbound,
        started_at: now,
        answered_at: None,
        ended_at: Some(now),
        duration_s: 0,
        disposition: Disposition::NoAnswer,
        sip_status: Some(480),
        reason: None,
        transport: ringfence_store::Transport::Tls,
        encrypted: true,
        from_extension_id: None,
        to_extension_id: None,
        forwarded_by: None,
        forwarded_by_extension_id: None,
        forward_reason: None,
    };
    let (mut routed, mut refused) = (0u64, 0u64);
    let mut reasons: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut ns = Vec::with_capacity(CALLS as usize);
    let (mut ns_routed, mut ns_refused) = (Vec::new(), Vec::new());
    let unrestricted = ringfence_store::CallingRestrictions::default();
    for i in 0..CALLS {
        let ext = extensions[(i % EXTENSIONS) as usize];
        let dialled = NUMBERS[(i % NUMBERS.len() as u64) as usize];
        let attempt = CallAttempt {
            call: CallRef(i + 1),
            tenant: &tenant,
            caller: "100",
            caller_id: ext,
            destination: Destination::External { dialled },
            origin: CallOrigin::DialledCall,
            source,
            restrictions: &unrestricted,
        };
        let t0 = Instant::now();
        let d = gate.check(&attempt);
        let took = t0.elapsed().as_nanos() as u64;
        ns.push(took);
        match d {
            GateDecision::Route(_) => {
                routed += 1;
                ns_routed.push(took);
            }
            GateDecision::Refuse { reason, .. } | GateDecision::Deny { reason, .. } => {
                refused += 1;
                ns_refused.push(took);
                let kind = reason.split(':').next().unwrap_or("").to_owned();
                *reasons.entry(kind).or_default() += 1;
            }
            _ => refused += 1,
        }
        let info = CallInfo {
            call: CallRef(i + 1),
            tenant: tenant.id,
            caller_id: ext,
            caller: "100".into(),
            callee_id: None,
            callee: dialled.into(),
            answered_at: None::<SystemTime>,
        };
        gate.call_ended(&info, &record);
    }
    println!("{CALLS} gate decisions, {EXTENSIONS} extensions: {routed} routed, {refused} refused");
    for (kind, n) in &reasons {
        println!("  refused by {kind}: {n}");
    }
    for (name, mut v) in [("all", ns), ("routed", ns_routed), ("refused", ns_refused)] {
        if v.is_empty() {
            continue;
        }
        v.sort_unstable();
        let mean = v.iter().sum::<u64>() as f64 / v.len() as f64 / 1000.0;
        println!(
            "egress gate check, {name:>7} (n={:>6})  mean {mean:.2} us  p50 {:.2} us  p99 {:.2} us  p99.9 {:.2} us  max {:.2} us",
            v.len(),
            pct(&v, 0.5),
            pct(&v, 0.99),
            pct(&v, 0.999),
            *v.last().unwrap() as f64 / 1000.0
        );
    }
}
