//! Records the time of 100 000 individual per-call decisions (egress policy + fraud engine)
//! and prints p50/p99/p99.9 in microseconds, then the memory held per tracked extension.
//!
//! `cargo run --release -p ringfence-fraud --example decision_latency`

// A measurement tool: its output is the point.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use ringfence_fraud::{
    BusinessHours, CallContext, CallId, ExtensionId, FraudEngine, Limits, RateTable, TenantConfig,
    TenantId, Timestamp,
};
use ringfence_policy::{
    Country, EgressDecision, EgressOrigin, EgressPolicy, EgressRequest, ExtensionPattern,
    NumberClassifier, PlatformOverrides, TenantPolicy, warm_up,
};

const SAMPLES: usize = 100_000;
const EXTENSIONS: u64 = 1_000;
const MEMORY_EXTENSIONS: u64 = 100_000;

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

fn report(name: &str, mut ns: Vec<u64>) {
    ns.sort_unstable();
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1000.0;
    println!(
        "{name:<34} n={:<7} mean {mean:6.2} us  p50 {:6.2} us  p99 {:6.2} us  p99.9 {:6.2} us  max {:8.2} us",
        ns.len(),
        percentile(&ns, 0.50),
        percentile(&ns, 0.99),
        percentile(&ns, 0.999),
        percentile(&ns, 1.0),
    );
}

/// Resident set size in bytes (Linux), for a cross-check of the estimate.
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let targets: Vec<String> = (0..5_000u64)
        .map(|i| match i % 10 {
            0..=4 => format!("020 7{:03} {:04}", (i * 7919) % 1000, (i * 104_729) % 10_000),
            5..=6 => format!(
                "07{}00 {:06}",
                [4, 5, 7, 8, 9][(i % 5) as usize],
                (i * 611_953) % 1_000_000
            ),
            7 => format!(
                "+33 1 {:02} {:02} {:02} {:02}",
                40 + i % 50,
                i % 100,
                (i / 7) % 100,
                (i / 3) % 100
            ),
            8 => format!("+49 30 {:07}", 2_000_000 + (i * 7_777) % 7_000_000),
            _ => format!("+1 212 {:03} {:04}", 200 + i % 700, (i * 31) % 10_000),
        })
        .collect();

    let t0 = Instant::now();
    let failed = warm_up(None);
    println!(
        "numbering plans compiled in {:.0} ms ({failed} regions failed)",
        t0.elapsed().as_secs_f64() * 1000.0
    );

    let gb = Country::parse("GB").unwrap_or_else(|e| panic!("{e}"));
    let allowed = ["FR", "DE", "US"].iter().filter_map(|c| Country::parse(c).ok()).collect();
    let policy = EgressPolicy::new(
        TenantPolicy { home_country: gb, international_calling: true, allowed_countries: allowed },
        PlatformOverrides::default(),
        ExtensionPattern::lengths(3, 4),
        Arc::new(NumberClassifier::builtin()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut engine = FraudEngine::new(Arc::new(RateTable::sample()));
    let tenant = TenantId(1);
    // Limits sized for this synthetic load (20 calls a second), so every decision takes the
    // full path: limits, scanning check, anomaly score, commit.
    let config = TenantConfig {
        limits: Limits {
            max_concurrent_calls_per_tenant: 100_000,
            max_calls_per_minute_per_tenant: 1_000_000,
            international_minutes_per_day: 1_000_000,
            spend_cap_cents_per_day: 100_000_000,
            ..Limits::default()
        },
        business_hours: Some(BusinessHours::weekdays(8, 18)),
        ..TenantConfig::default()
    };
    engine.set_tenant_config(tenant, config).unwrap_or_else(|e| panic!("{e}"));

    let mut now = 1_704_704_400_000u64; // Monday 09:00 UTC
    let mut total = Vec::with_capacity(SAMPLES);
    let mut policy_ns = Vec::with_capacity(SAMPLES);
    let mut fraud_ns = Vec::with_capacity(SAMPLES);
    let mut refused = 0usize;
    for i in 0..(SAMPLES + 20_000) as u64 {
        now += 50;
        let target = &targets[(i as usize * 7) % targets.len()];
        let start = Instant::now();
        let decision = policy.decide(&EgressRequest::new(EgressOrigin::DialledCall, target));
        let mid = Instant::now();
        let EgressDecision::Allow { destination } = decision else {
            panic!("policy refused {target}: {decision:?}");
        };
        let ctx = CallContext {
            call: CallId(i),
            tenant,
            extension: ExtensionId(u128::from(i % EXTENSIONS)),
            destination,
            international: destination.is_international_from(gb),
            source: None,
        };
        let d = engine.call_attempt(Timestamp::from_unix_millis(now), &ctx);
        let end = Instant::now();
        if let Some(r) = d.refusal {
            refused += 1;
            if refused <= 3 {
                println!("refused: {r:?}");
            }
        } else {
            engine.call_answered(Timestamp::from_unix_millis(now), CallId(i));
            engine.call_ended(Timestamp::from_unix_millis(now + 1_000), CallId(i));
        }
        // The first 20 000 decisions warm caches and baselines.
        if i >= 20_000 {
            total.push((end - start).as_nanos() as u64);
            policy_ns.push((mid - start).as_nanos() as u64);
            fraud_ns.push((end - mid).as_nanos() as u64);
        }
    }
    println!("{SAMPLES} decisions, {EXTENSIONS} extensions, {refused} refused by the fraud engine");
    report("policy + fraud (per call)", total);
    report("  egress policy decide", policy_ns);
    report("  fraud call_attempt", fraud_ns);

    // Memory per tracked extension: 100 000 extensions that each made a call (long-term and
    // short-term state), then after the short-term windows of idle ones are dropped.
    let mut engine = FraudEngine::new(Arc::new(RateTable::sample()));
    let config = TenantConfig {
        limits: Limits {
            max_concurrent_calls_per_tenant: 1_000_000,
            max_calls_per_minute_per_tenant: 10_000_000,
            ..Limits::default()
        },
        ..TenantConfig::default()
    };
    engine.set_tenant_config(tenant, config).unwrap_or_else(|e| panic!("{e}"));
    let before = rss();
    let mut now = 1_704_704_400_000u64;
    for i in 0..MEMORY_EXTENSIONS {
        now += 1;
        let target = &targets[(i as usize) % targets.len()];
        if let EgressDecision::Allow { destination } =
            policy.decide(&EgressRequest::new(EgressOrigin::DialledCall, target))
        {
            let ctx = CallContext {
                call: CallId(i),
                tenant,
                extension: ExtensionId(u128::from(i)),
                destination,
                international: destination.is_international_from(gb),
                source: Some(std::net::IpAddr::from([198, 51, 100, (i % 250) as u8])),
            };
            engine.registration(
                Timestamp::from_unix_millis(now),
                tenant,
                ExtensionId(u128::from(i)),
                ctx.source.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
            );
            engine.call_attempt(Timestamp::from_unix_millis(now), &ctx);
            engine.call_ended(Timestamp::from_unix_millis(now + 60_000), CallId(i));
        }
    }
    let after = rss();
    let active = engine.memory();
    engine.maintain(Timestamp::from_unix_millis(now + 2 * 3_600_000));
    let idle = engine.memory();
    println!(
        "memory per tracked extension (estimate): {} B active (with short-term windows), {} B idle",
        active.extension_bytes / active.extensions.max(1),
        idle.extension_bytes / idle.extensions.max(1)
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "memory per tracked extension (RSS growth over {MEMORY_EXTENSIONS} extensions): {} B",
            a.saturating_sub(b) / MEMORY_EXTENSIONS
        );
    }
}
