//! Per-call decision cost: the egress policy (normalise, classify, rules) plus the fraud
//! engine's `call_attempt`, on a tenant with 1000 extensions and warm baselines.
//! Run with `cargo bench -p ringfence-fraud --bench decision`; for percentiles of individual
//! decisions run `cargo run --release -p ringfence-fraud --example decision_latency`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ringfence_fraud::{
    BusinessHours, CallContext, CallId, ExtensionId, FraudEngine, Limits, RateTable, TenantConfig,
    TenantId, Timestamp,
};
use ringfence_policy::{
    Country, EgressDecision, EgressOrigin, EgressPolicy, EgressRequest, ExtensionPattern,
    NumberClassifier, PlatformOverrides, TenantPolicy, warm_up,
};

const TARGETS: [&str; 8] = [
    "020 7946 0958",
    "07400 123456",
    "0161 496 0000",
    "+33 1 23 45 67 89",
    "+49 30 1234567",
    "+1 212 555 0123",
    "0800 123 4567",
    "07700 900123",
];

struct Setup {
    policy: EgressPolicy,
    engine: FraudEngine,
    tenant: TenantId,
    now: u64,
    call: u64,
}

fn setup() -> Setup {
    warm_up(None);
    let gb = Country::parse("GB").unwrap();
    let policy = EgressPolicy::new(
        TenantPolicy {
            home_country: gb,
            international_calling: true,
            allowed_countries: ["FR", "DE", "US"]
                .iter()
                .map(|c| Country::parse(c).unwrap())
                .collect(),
        },
        PlatformOverrides::default(),
        ExtensionPattern::lengths(3, 4),
        Arc::new(NumberClassifier::builtin()),
    )
    .unwrap();
    let mut engine = FraudEngine::new(Arc::new(RateTable::sample()));
    let tenant = TenantId(1);
    let config = TenantConfig {
        limits: Limits {
            max_concurrent_calls_per_tenant: 100_000,
            max_calls_per_minute_per_tenant: 1_000_000,
            ..Limits::default()
        },
        business_hours: Some(BusinessHours::weekdays(8, 18)),
        ..TenantConfig::default()
    };
    engine.set_tenant_config(tenant, config).unwrap();
    let mut s = Setup { policy, engine, tenant, now: 1_704_704_400_000, call: 0 };
    // Warm baselines: two days of traffic.
    for _ in 0..40_000 {
        one(&mut s);
    }
    s
}

fn one(s: &mut Setup) -> bool {
    s.call += 1;
    s.now += 50;
    let target = TARGETS[(s.call % TARGETS.len() as u64) as usize];
    let EgressDecision::Allow { destination } =
        s.policy.decide(&EgressRequest::new(EgressOrigin::DialledCall, target))
    else {
        return false;
    };
    let ctx = CallContext {
        call: CallId(s.call),
        tenant: s.tenant,
        extension: ExtensionId(u128::from(s.call % 1000)),
        destination,
        international: destination.is_international_from(s.policy.tenant().home_country),
        source: None,
    };
    let now = Timestamp::from_unix_millis(s.now);
    let d = s.engine.call_attempt(now, &ctx);
    if d.allow {
        s.engine.call_ended(now, CallId(s.call));
    }
    d.allow
}

fn benches(c: &mut Criterion) {
    let mut s = setup();
    let mut g = c.benchmark_group("decision");
    g.bench_function("policy_and_fraud_attempt_and_end", |b| b.iter(|| black_box(one(&mut s))));
    let req = EgressRequest::new(EgressOrigin::DialledCall, "+33 1 23 45 67 89");
    g.bench_function("policy_decide_international", |b| {
        b.iter(|| s.policy.decide(black_box(&req)))
    });
    g.finish();
}

criterion_group!(decision_benches, benches);
criterion_main!(decision_benches);
