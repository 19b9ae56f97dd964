//! State survives a restart: daily counters, baselines and containment round-trip through a
//! serialized snapshot; the local-midnight rollover still applies after a restore.

use crate::common;

use std::sync::Arc;

use common::*;
use ringfence_fraud::{
    Containment, Error, ExtensionId, FraudEngine, FraudState, Limits, Measure, RateTable,
    TenantConfig,
};
use ringfence_policy::PlatformOverrides;

fn config() -> TenantConfig {
    TenantConfig {
        limits: Limits { international_minutes_per_day: 40, ..Limits::default() },
        ..office_config()
    }
}

/// Ten working hours of calls from extension 1 (a warm hourly baseline), 30 international
/// minutes, and extension 2 contained for scanning.
fn busy_day() -> (Harness, Tenant, u64) {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(77, &["FR"], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, config()).unwrap();
    let mut i = 0;
    for hour in 8..18u64 {
        for k in 0..3u64 {
            let now = MONDAY + hour * HOUR + k * 15 * MINUTE;
            let a = h.attempt(now, &t, 1, &scattered_mobile(i), office_ip());
            i += 1;
            assert!(a.placed());
            h.engine.call_answered(at(now), a.call);
            h.engine.call_ended(at(now + MINUTE), a.call);
        }
    }
    let now = MONDAY + 17 * HOUR + 50 * MINUTE;
    let a = h.attempt(now, &t, 1, "+33 1 23 45 67 89", office_ip());
    h.engine.call_answered(at(now), a.call);
    h.engine.call_ended(at(now + 30 * MINUTE), a.call);
    for k in 0..5u64 {
        let n = format!("020 7946 {:04}", 2000 + k);
        let now = MONDAY + 18 * HOUR + 30 * MINUTE + k * 1000;
        let a = h.attempt(now, &t, 2, &n, office_ip());
        h.engine.call_ended(at(now + 500), a.call);
    }
    assert!(matches!(h.engine.containment(t.id, ExtensionId(2)), Containment::Suspended { .. }));
    (h, t, MONDAY + 20 * HOUR)
}

fn office_ip() -> Option<std::net::IpAddr> {
    Some("198.51.100.20".parse().unwrap())
}

fn restored(state: &FraudState) -> Harness {
    let json = serde_json::to_string(state).unwrap();
    let back: FraudState = serde_json::from_str(&json).unwrap();
    let mut h = Harness::new(RateTable::sample());
    h.engine.set_tenant_config(ringfence_fraud::TenantId(77), config()).unwrap();
    h.engine.restore(back);
    h
}

#[test]
fn snapshot_round_trips_through_json() {
    let (h, _, now) = busy_day();
    let snap = h.engine.snapshot(at(now));
    let again = restored(&snap).engine.snapshot(at(now));
    assert_eq!(snap, again);
    assert_eq!(snap.tenants[0].international_minutes(), 30.0);
    assert_eq!(snap.tenants[0].extensions.len(), 2);
}

#[test]
fn daily_counters_survive_a_restart() {
    let (h, t, now) = busy_day();
    let mut h2 = restored(&h.engine.snapshot(at(now)));
    // 30 of 40 international minutes are used: a new call may run ten minutes.
    let a = h2.attempt(now, &t, 3, "+33 1 98 76 54 32", office_ip());
    assert!(a.placed());
    h2.engine.call_answered(at(now), a.call);
    assert_eq!(h2.engine.poll_timeout(), Some(at(now + 10 * MINUTE)));
    // Running calls count in a snapshot too: a crash mid-call does not reset the meter.
    let mid = h2.engine.snapshot(at(now + 4 * MINUTE));
    assert_eq!(mid.tenants[0].international_minutes(), 34.0);
    let mut h3 = restored(&mid);
    let b = h3.attempt(now + 5 * MINUTE, &t, 3, "+33 1 11 11 11 11", office_ip());
    h3.engine.call_answered(at(now + 5 * MINUTE), b.call);
    assert_eq!(h3.engine.poll_timeout(), Some(at(now + 11 * MINUTE)));
}

#[test]
fn containment_survives_a_restart() {
    let (h, t, now) = busy_day();
    let mut h2 = restored(&h.engine.snapshot(at(now)));
    assert!(matches!(h2.engine.containment(t.id, ExtensionId(2)), Containment::Suspended { .. }));
    let d = h2.attempt(now, &t, 2, "020 7946 0958", office_ip()).fraud.unwrap();
    assert!(!d.allow);
    assert!(h2.engine.clear_containment(t.id, ExtensionId(2)));
    assert!(h2.attempt(now + 1000, &t, 2, "020 7946 0958", office_ip()).placed());
}

#[test]
fn baselines_survive_a_restart() {
    let (h, t, now) = busy_day();
    let mut fresh = restored(&h.engine.snapshot(at(now)));
    // Extension 1 makes about three calls an hour; sixteen in one hour is a spike once the
    // baseline is warm, and the restored engine knows it at once.
    let tuesday = MONDAY + DAY + 10 * HOUR;
    let mut spike = None;
    for k in 0..16u64 {
        let now = tuesday + k * 3 * MINUTE;
        let a = fresh.attempt(now, &t, 1, &scattered_mobile(1000 + k), office_ip());
        let d = a.fraud.unwrap();
        if d.score > 0 && spike.is_none() {
            spike = Some(k);
        }
        fresh.engine.call_ended(at(now + 30_000), a.call);
    }
    assert_eq!(spike, Some(15), "the 16th call of the hour exceeds the floor of 15");
    // Without the snapshot there is no baseline: no spike signal during warm-up.
    let mut cold = Harness::new(RateTable::sample());
    cold.engine.set_tenant_config(t.id, config()).unwrap();
    for k in 0..16u64 {
        let now = tuesday + k * 3 * MINUTE;
        let a = cold.attempt(now, &t, 1, &scattered_mobile(1000 + k), office_ip());
        assert_eq!(a.fraud.unwrap().score, 0);
        cold.engine.call_ended(at(now + 30_000), a.call);
    }
}

#[test]
fn counters_roll_over_at_local_midnight_after_restore() {
    let (h, t, now) = busy_day();
    let mut h2 = restored(&h.engine.snapshot(at(now)));
    let next_day = MONDAY + DAY + 9 * HOUR;
    let a = h2.attempt(next_day, &t, 3, "+33 1 98 76 54 32", office_ip());
    h2.engine.call_answered(at(next_day), a.call);
    assert_eq!(h2.engine.poll_timeout(), Some(at(next_day + 40 * MINUTE)));
    let snap = h2.engine.snapshot(at(next_day));
    assert_eq!(snap.tenants[0].international_minutes(), 0.0);
}

#[test]
fn midnight_splits_a_running_call_between_days() {
    let mut h = Harness::new(RateTable::parse("*,1").unwrap());
    let t = Tenant::new(78, &["FR"], PlatformOverrides::default());
    // UTC+1: local midnight is 23:00 UTC.
    let cfg = TenantConfig { utc_offset_minutes: 60, ..config() };
    h.engine.set_tenant_config(t.id, cfg).unwrap();
    let start = MONDAY + 22 * HOUR + 30 * MINUTE;
    let a = h.attempt(start, &t, 1, "+33 1 23 45 67 89", office_ip());
    h.engine.call_answered(at(start), a.call);
    // The timer wakes at local midnight, before the cap (40 minutes) would be crossed.
    assert_eq!(h.engine.poll_timeout(), Some(at(MONDAY + 23 * HOUR)));
    assert!(h.engine.poll_actions(at(MONDAY + 23 * HOUR)).is_empty());
    // The new day counts from midnight: the cap is crossed 40 minutes after it.
    assert_eq!(h.engine.poll_timeout(), Some(at(MONDAY + 23 * HOUR + 40 * MINUTE)));
    let s = h.engine.call_ended(at(MONDAY + 23 * HOUR + 10 * MINUTE), a.call).unwrap();
    assert_eq!(s.duration.as_secs(), 40 * 60);
    assert_eq!(
        h.engine.snapshot(at(MONDAY + 23 * HOUR + 11 * MINUTE)).tenants[0].international_minutes(),
        10.0
    );
}

#[test]
fn configuration_is_checked_and_parsed_strictly() {
    let mut e = FraudEngine::new(Arc::new(RateTable::default()));
    let bad = TenantConfig {
        limits: Limits { max_concurrent_calls_per_extension: 0, ..Limits::default() },
        ..TenantConfig::default()
    };
    match e.set_tenant_config(ringfence_fraud::TenantId(1), bad) {
        Err(Error::Config { field, .. }) => {
            assert_eq!(field, "limits.max_concurrent_calls_per_extension")
        }
        other => panic!("{other:?}"),
    }
    let mut bad = TenantConfig::default();
    bad.anomaly.block_score = 10;
    assert!(matches!(bad.validate(), Err(Error::Config { field: "anomaly", .. })));
    let cfg: TenantConfig = serde_json::from_str(
        r#"{"limits":{"international_minutes_per_day":30},"utc_offset_minutes":60,
            "business_hours":{"periods":[{"weekday":1,"start_minute":480,"end_minute":1080}]}}"#,
    )
    .unwrap();
    assert_eq!(cfg.limits.international_minutes_per_day, 30);
    assert_eq!(cfg.limits.max_concurrent_calls_per_extension, 4);
    cfg.validate().unwrap();
    assert!(serde_json::from_str::<TenantConfig>(r#"{"limits":{"bogus":1}}"#).is_err());
    let _ = Measure::Score.as_str();
}

/// Most extensions only ever register: what is saved for them is their networks and little
/// else (the whole state is saved every minute), and it comes back whole.
#[test]
fn an_extension_that_only_registered_saves_little() {
    let (mut h, t, now) = busy_day();
    for e in 100..1100u128 {
        h.engine.registration(at(now), t.id, ExtensionId(e), "198.51.100.20".parse().unwrap());
    }
    let snap = h.engine.snapshot(at(now));
    let one = snap.tenants[0].extensions.iter().find(|x| x.extension == ExtensionId(100)).unwrap();
    let one = serde_json::to_string(one).unwrap();
    assert!(one.len() < 100, "{one}");
    assert!(one.contains("networks"), "{one}");
    let all = serde_json::to_string(&snap).unwrap();
    assert!(all.len() < 1000 * 100 + 2000, "{} bytes", all.len());
    let again = restored(&snap).engine.snapshot(at(now));
    assert_eq!(snap, again);
}
