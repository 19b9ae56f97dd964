//! Policy micro-benchmarks: normalisation, classification, egress decisions, inbound checks.
//! Run with `cargo bench -p ringfence-policy`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ringfence_policy::{
    BlockKind, BlockRule, CallerId, Country, DialPlan, E164, EgressOrigin, EgressPolicy,
    EgressRequest, ExtensionPattern, InboundBlockList, NumberClassifier, PlatformOverrides,
    TenantPolicy, warm_up,
};

fn benches(c: &mut Criterion) {
    let gb = Country::parse("GB").unwrap();
    warm_up(None);
    let plan = DialPlan::new(gb, ExtensionPattern::lengths(3, 4)).unwrap();
    let classifier = Arc::new(NumberClassifier::builtin());
    let tenant = TenantPolicy {
        home_country: gb,
        international_calling: true,
        allowed_countries: ["FR", "DE", "US"].iter().map(|s| Country::parse(s).unwrap()).collect(),
    };
    let policy = EgressPolicy::new(
        tenant,
        PlatformOverrides::default(),
        ExtensionPattern::lengths(3, 4),
        classifier.clone(),
    )
    .unwrap();

    let mut g = c.benchmark_group("policy");
    g.bench_function("normalize_national_gb", |b| {
        b.iter(|| plan.normalize(black_box("020 7946 0958")))
    });
    g.bench_function("normalize_idd_gb", |b| {
        b.iter(|| plan.normalize(black_box("0033 1 23 45 67 89")))
    });
    let us = E164::parse("+12125550123").unwrap();
    let jm = E164::parse("+18765550123").unwrap();
    g.bench_function("classify_us", |b| b.iter(|| classifier.classify(black_box(us))));
    g.bench_function("classify_jm_shared_code", |b| b.iter(|| classifier.classify(black_box(jm))));
    for (name, target) in [
        ("decide_domestic_allow", "020 7946 0958"),
        ("decide_international_allow", "+33 1 23 45 67 89"),
        ("decide_premium_deny", "0909 879 0000"),
        ("decide_high_risk_deny", "+882 16 0000 0000"),
        ("decide_extension", "1001"),
    ] {
        let req = EgressRequest::new(EgressOrigin::DialledCall, target);
        g.bench_function(name, |b| b.iter(|| policy.decide(black_box(&req))));
    }
    let rules: Vec<BlockRule> = (0..1000)
        .map(|i| BlockRule { kind: BlockKind::Exact, value: format!("+44207946{i:04}") })
        .chain([BlockRule { kind: BlockKind::Prefix, value: "+882".into() }])
        .collect();
    let list = InboundBlockList::new(gb, rules).unwrap();
    let caller = CallerId { number: Some("+33123456789"), ..Default::default() };
    g.bench_function("inbound_check_1000_rules_miss", |b| {
        b.iter(|| list.check(black_box(&caller)))
    });
    g.finish();
}

criterion_group!(policy_benches, benches);
criterion_main!(policy_benches);
