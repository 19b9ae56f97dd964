//! Attacks played against the engine in virtual time: pumps to expensive destinations, a slow
//! pump under the velocity limit, mid-call cap crossings, number scanning, short-call bursts.

use crate::common;

use std::collections::HashMap;
use std::net::IpAddr;

use common::*;
use ringfence_fraud::{
    Action, CallId, Containment, EventKind, ExtensionId, FraudEvent, Limits, Measure, RateTable,
    Severity, TenantConfig,
};
use ringfence_policy::PlatformOverrides;

fn office_ip() -> Option<IpAddr> {
    Some("198.51.100.20".parse().unwrap())
}

fn attacker_ip() -> Option<IpAddr> {
    Some("203.0.113.66".parse().unwrap())
}

/// A tenant whose super admin allowed satellite destinations (a shipping company).
fn satellite_tenant() -> Tenant {
    let ov = PlatformOverrides {
        allow_high_risk: true,
        allow_non_geographic: true,
        ..Default::default()
    };
    Tenant::new(1, &["FR", "US"], ov)
}

struct Pump {
    placed: usize,
    refused_after_containment: usize,
    attempts_after_containment: usize,
    contained_at: Option<u64>,
    events: Vec<FraudEvent>,
    ended_by_engine: usize,
}

/// 20 calls a minute to random +882 16 numbers for ten minutes; answered calls stay up until the
/// engine ends them.
fn pump(h: &mut Harness, t: &Tenant, start: u64, source: Option<IpAddr>) -> Pump {
    let mut p = Pump {
        placed: 0,
        refused_after_containment: 0,
        attempts_after_containment: 0,
        contained_at: None,
        events: Vec::new(),
        ended_by_engine: 0,
    };
    let mut rng = Rng::new(7);
    let mut live: Vec<CallId> = Vec::new();
    for i in 0..200u64 {
        let now = start + i * 3_000;
        let out = h.engine.poll_actions(at(now));
        p.ended_by_engine += out.end_calls.len();
        for e in out.end_calls {
            live.retain(|c| *c != e.call);
            h.engine.call_ended(at(now), e.call);
        }
        p.events.extend(out.events);
        let target = format!("+882 16{:08}", rng.below(100_000_000));
        let a = h.attempt(now, t, 100, &target, source);
        let d = a.fraud.expect("policy allows satellite for this tenant");
        if p.contained_at.is_some() {
            p.attempts_after_containment += 1;
            if !d.allow {
                assert_eq!(d.refusal.unwrap().sip_status, 403);
                p.refused_after_containment += 1;
            }
        }
        for e in &d.end_calls {
            live.retain(|c| *c != e.call);
            h.engine.call_ended(at(now), e.call);
            p.ended_by_engine += 1;
        }
        p.events.extend(d.events);
        if d.allow {
            p.placed += 1;
            h.engine.call_answered(at(now + 1_000), a.call);
            live.push(a.call);
        }
        if p.contained_at.is_none()
            && h.engine.containment(t.id, ExtensionId(100)) != Containment::None
        {
            p.contained_at = Some(now);
        }
    }
    p
}

#[test]
fn night_pump_from_a_new_network_is_refused_from_the_first_call_and_contained() {
    let mut h = Harness::new(RateTable::sample());
    let t = satellite_tenant();
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    // The extension's phone lives in the office network.
    h.engine.registration(at(MONDAY + 9 * HOUR), t.id, ExtensionId(100), office_ip().unwrap());
    // At 02:00 on Tuesday the stolen credentials register from elsewhere and pump.
    let start = MONDAY + DAY + 2 * HOUR;
    h.engine.registration(at(start - MINUTE), t.id, ExtensionId(100), attacker_ip().unwrap());
    let p = pump(&mut h, &t, start, attacker_ip());

    assert_eq!(p.placed, 0, "no call may leave");
    let contained_at = p.contained_at.expect("contained");
    assert!(contained_at - start <= MINUTE, "contained after {} s", (contained_at - start) / 1000);
    assert_eq!(p.refused_after_containment, p.attempts_after_containment);
    assert!(matches!(h.engine.containment(t.id, ExtensionId(100)), Containment::Suspended { .. }));
    let first = p.events.iter().find(|e| e.kind == EventKind::Anomaly).expect("anomaly event");
    assert!(first.severity >= Severity::High);
    let names: Vec<Measure> = first.signals.iter().map(|s| s.name).collect();
    for m in [
        Measure::HighRiskDestination,
        Measure::OutsideHours,
        Measure::NewNetwork,
        Measure::ExpensiveDestination,
    ] {
        assert!(names.contains(&m), "{m:?} missing from {names:?}");
    }
    assert!(first.explanation.contains("high_risk_destination"), "{}", first.explanation);
    // Blocked attempts count as recent refusals: the score escalates to critical.
    let critical = p.events.iter().find(|e| e.severity == Severity::Critical).expect("escalated");
    assert!(critical.actions.contains(&Action::SuspendExtension));
    assert!(critical.actions.contains(&Action::Alert));
    // Alerts are folded: a ten-minute attack does not send hundreds of mails.
    let alerts = p.events.iter().filter(|e| e.actions.contains(&Action::Alert)).count();
    assert!(alerts <= 5, "{alerts} alerts");
}

#[test]
fn daytime_pump_is_stopped_before_the_cap_and_contained() {
    let mut h = Harness::new(RateTable::sample());
    let t = satellite_tenant();
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    h.engine.registration(at(MONDAY + 8 * HOUR), t.id, ExtensionId(100), office_ip().unwrap());
    let start = MONDAY + 10 * HOUR;
    let p = pump(&mut h, &t, start, office_ip());

    let limits = Limits::default();
    eprintln!(
        "daytime pump: {} calls placed, contained after {} s, {} calls ended by the engine",
        p.placed,
        (p.contained_at.unwrap_or(start) - start) / 1000,
        p.ended_by_engine
    );
    assert!(
        p.placed as u32 <= limits.max_calls_per_minute_per_extension,
        "{} calls placed",
        p.placed
    );
    assert!(p.contained_at.expect("contained") - start <= 2 * MINUTE);
    assert_eq!(p.refused_after_containment, p.attempts_after_containment);
    // Containment ended the calls that were up.
    assert!(p.ended_by_engine >= 1);
    let state = h.engine.snapshot(at(start + 10 * MINUTE));
    let spent = state.tenants[0].spend_cents();
    assert!(spent <= limits.spend_cap_cents_per_day as f64, "spent {spent} cents");
    assert!(p.events.iter().any(|e| e.actions.contains(&Action::Alert)));
}

#[test]
fn slow_pump_below_the_velocity_limit_is_caught_by_the_daily_cap() {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(2, &["JM", "FR"], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    let start = MONDAY + 8 * HOUR;
    let mut rng = Rng::new(11);
    let mut events = Vec::new();
    let mut placed = 0;
    let mut refused_for_cap = 0;
    let mut ended_mid_call = 0;
    let mut live: HashMap<CallId, u64> = HashMap::new();
    // One call every two minutes (a tenth of the velocity limit), each meant to last 110 s,
    // to ever new Jamaican numbers, for five hours.
    for i in 0..150u64 {
        let now = start + i * 2 * MINUTE;
        let out = h.engine.poll_actions(at(now));
        ended_mid_call += out.end_calls.len();
        for e in &out.end_calls {
            live.remove(&e.call);
            h.engine.call_ended(at(now), e.call);
        }
        events.extend(out.events);
        let expired: Vec<CallId> =
            live.iter().filter(|&(_, &end)| end <= now).map(|(&c, _)| c).collect();
        for c in expired {
            live.remove(&c);
            if let Some(s) = h.engine.call_ended(at(now), c) {
                events.extend(s.outcome.events);
            }
        }
        let target =
            format!("+1 876 7{}{} {:04}", 1 + rng.below(6), rng.below(10), rng.below(10_000));
        let a = h.attempt(now, &t, 200, &target, office_ip());
        let d = a.fraud.unwrap();
        if d.allow {
            placed += 1;
            h.engine.call_answered(at(now), a.call);
            live.insert(a.call, now + 110_000);
        } else if matches!(d.refusal.unwrap().kind, EventKind::InternationalMinutesCap) {
            refused_for_cap += 1;
        }
        events.extend(d.events);
        // Let the cap timer fire between attempts, as the driver's sleep would.
        if let Some(due) = h.engine.poll_timeout() {
            let due = due.unix_millis();
            if due < now + 2 * MINUTE {
                let out = h.engine.poll_actions(at(due));
                ended_mid_call += out.end_calls.len();
                for e in &out.end_calls {
                    live.remove(&e.call);
                    h.engine.call_ended(at(due), e.call);
                }
                events.extend(out.events);
            }
        }
    }
    eprintln!("slow pump: {placed} calls placed, {refused_for_cap} refused at the cap");
    let cap_min = f64::from(Limits::default().international_minutes_per_day);
    let used = h.engine.snapshot(at(start + 6 * HOUR)).tenants[0].international_minutes();
    assert!((used - cap_min).abs() < 1e-6, "used {used} minutes of {cap_min}");
    assert!(placed <= 66, "{placed} calls placed");
    assert_eq!(ended_mid_call, 1, "the call that crossed the cap is ended");
    assert!(refused_for_cap >= 1);
    let warned = events
        .iter()
        .position(|e| e.kind == EventKind::CapApproaching)
        .expect("warning before the cap");
    let capped = events
        .iter()
        .position(|e| e.kind == EventKind::InternationalMinutesCap)
        .expect("cap event");
    assert!(warned < capped);
    assert!(events[warned].actions.contains(&Action::Alert));
    assert!(
        events[warned].explanation.contains("tenant_international_minutes"),
        "{}",
        events[warned].explanation
    );
    // A tenant-wide cap is no evidence against one extension: refusals continue, alerts are
    // folded, nobody is suspended for it.
    assert!(!events.iter().any(|e| e.kind == EventKind::SustainedAbuse));
    let cap_alerts = events
        .iter()
        .filter(|e| {
            e.kind == EventKind::InternationalMinutesCap && e.actions.contains(&Action::Alert)
        })
        .count();
    assert!(cap_alerts <= 3, "{cap_alerts} cap alerts");
}

#[test]
fn mid_call_crossing_ends_the_calls_at_the_exact_instant() {
    let mut h = Harness::new(RateTable::parse("*,1\n+33,2").unwrap());
    let t = Tenant::new(3, &["FR"], PlatformOverrides::default());
    let cfg = TenantConfig {
        limits: Limits { international_minutes_per_day: 10, ..Limits::default() },
        ..office_config()
    };
    h.engine.set_tenant_config(t.id, cfg).unwrap();
    let t0 = MONDAY + 9 * HOUR;
    let a = h.attempt(t0, &t, 1, "+33 1 23 45 67 89", office_ip());
    // A domestic call must not be touched.
    let c = h.attempt(t0, &t, 3, "020 7946 0958", office_ip());
    assert!(a.placed() && c.placed());
    h.engine.call_answered(at(t0), a.call);
    h.engine.call_answered(at(t0), c.call);
    let b = h.attempt(t0 + 2 * MINUTE, &t, 2, "+33 1 98 76 54 32", office_ip());
    assert!(b.placed());
    h.engine.call_answered(at(t0 + 2 * MINUTE), b.call);
    // used(t) = (t - t0) + (t - t0 - 2 min) = 10 min  ->  t = t0 + 6 min.
    let due = t0 + 6 * MINUTE;
    assert_eq!(h.engine.poll_timeout(), Some(at(due)));
    assert!(h.engine.poll_actions(at(due - 1)).is_empty());
    let out = h.engine.poll_actions(at(due));
    let mut ended: Vec<CallId> = out.end_calls.iter().map(|e| e.call).collect();
    ended.sort();
    assert_eq!(ended, vec![a.call, b.call]);
    assert!(out.end_calls.iter().all(|e| e.reason == "Daily International Limit Reached"));
    let ev = &out.events[0];
    assert_eq!((ev.kind, ev.severity), (EventKind::InternationalMinutesCap, Severity::High));
    assert_eq!(ev.signals[0].value, 10.0);
    // The driver's BYE arrives a little later; nothing more is counted.
    let sa = h.engine.call_ended(at(due + 800), a.call).unwrap();
    let sb = h.engine.call_ended(at(due + 800), b.call).unwrap();
    assert_eq!(sa.duration.as_secs(), 6 * 60);
    assert_eq!(sb.duration.as_secs(), 4 * 60);
    assert_eq!(sa.estimated_cost_millicents, 12_000);
    let snap = h.engine.snapshot(at(due + 1000));
    assert_eq!(snap.tenants[0].international_minutes(), 10.0);
    // New international attempts are refused; domestic ones still go.
    let d = h.attempt(due + 2000, &t, 1, "+33 1 11 22 33 44", office_ip());
    assert_eq!(d.fraud.unwrap().refusal.unwrap().sip_reason, "Daily International Limit Reached");
    assert!(h.attempt(due + 2000, &t, 1, "020 7946 0000", office_ip()).placed());
    // The cap resets at local midnight.
    let next_day = MONDAY + DAY + 9 * HOUR;
    assert!(h.attempt(next_day, &t, 1, "+33 1 11 22 33 44", office_ip()).placed());
}

#[test]
fn spend_cap_crossing_is_exact_too() {
    // 100 cents a minute to France, 50 cents a day: one call may last 30 s.
    let mut h = Harness::new(RateTable::parse("*,1\n+33,100").unwrap());
    let t = Tenant::new(4, &["FR"], PlatformOverrides::default());
    let cfg = TenantConfig {
        limits: Limits { spend_cap_cents_per_day: 50, ..Limits::default() },
        ..office_config()
    };
    h.engine.set_tenant_config(t.id, cfg).unwrap();
    let t0 = MONDAY + 9 * HOUR;
    let a = h.attempt(t0, &t, 1, "+33 1 23 45 67 89", office_ip());
    h.engine.call_answered(at(t0), a.call);
    assert_eq!(h.engine.poll_timeout(), Some(at(t0 + 30_000)));
    let out = h.engine.poll_actions(at(t0 + 30_000));
    assert_eq!(out.end_calls[0].kind, EventKind::SpendCap);
    let s = h.engine.call_ended(at(t0 + 31_000), a.call).unwrap();
    assert_eq!(s.estimated_cost_millicents, 50_000);
}

#[test]
fn per_extension_caps_end_only_that_extensions_calls() {
    let mut h = Harness::new(RateTable::parse("*,1").unwrap());
    let t = Tenant::new(5, &["FR"], PlatformOverrides::default());
    let cfg = TenantConfig {
        limits: Limits {
            international_minutes_per_day_per_extension: Some(5),
            ..Limits::default()
        },
        ..office_config()
    };
    h.engine.set_tenant_config(t.id, cfg).unwrap();
    let t0 = MONDAY + 9 * HOUR;
    let a = h.attempt(t0, &t, 1, "+33 1 23 45 67 89", office_ip());
    let b = h.attempt(t0, &t, 2, "+33 1 98 76 54 32", office_ip());
    h.engine.call_answered(at(t0), a.call);
    h.engine.call_answered(at(t0 + MINUTE), b.call);
    assert_eq!(h.engine.poll_timeout(), Some(at(t0 + 5 * MINUTE)));
    let out = h.engine.poll_actions(at(t0 + 5 * MINUTE));
    assert_eq!(out.end_calls.iter().map(|e| e.call).collect::<Vec<_>>(), vec![a.call]);
    assert_eq!(out.events[0].extension, Some(ExtensionId(1)));
    assert_eq!(h.engine.poll_timeout(), Some(at(t0 + 6 * MINUTE)));
}

#[test]
fn sequential_dialling_is_detected_and_contained() {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(6, &[], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    let t0 = MONDAY + 10 * HOUR;
    for (i, n) in
        ["020 7946 0101", "020 7946 0102", "020 7946 0104", "020 7946 0107"].iter().enumerate()
    {
        let a = h.attempt(t0 + i as u64 * 10_000, &t, 7, n, office_ip());
        assert!(a.placed(), "{n}");
        h.engine.call_ended(at(t0 + i as u64 * 10_000 + 5_000), a.call);
    }
    let a = h.attempt(t0 + 40_000, &t, 7, "020 7946 0110", office_ip());
    let d = a.fraud.unwrap();
    assert!(!d.allow);
    let ev = &d.events[0];
    assert_eq!((ev.kind, ev.severity), (EventKind::SequentialDialling, Severity::Critical));
    assert_eq!(ev.signals[0].value, 5.0);
    assert!(d.actions.contains(&Action::SuspendExtension));
    assert!(matches!(h.engine.containment(t.id, ExtensionId(7)), Containment::Suspended { .. }));
    let again = h.attempt(t0 + 50_000, &t, 7, "020 7946 0000", office_ip()).fraud.unwrap();
    assert_eq!(again.refusal.unwrap().sip_reason, "Calls Suspended By Fraud Control");
    // An administrator clears it.
    assert!(h.engine.clear_containment(t.id, ExtensionId(7)));
    assert!(h.attempt(t0 + 60_000, &t, 7, "020 7946 0958", office_ip()).placed());
}

#[test]
fn non_sequential_patterns_are_not_scanning() {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(7, &[], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    let t0 = MONDAY + 10 * HOUR;
    let patterns: [&[&str]; 3] = [
        // decreasing
        &["020 7946 0109", "020 7946 0108", "020 7946 0107", "020 7946 0106", "020 7946 0105"],
        // a different block each time
        &["020 7946 0101", "020 7947 0102", "020 7948 0103", "020 7949 0104", "020 7950 0105"],
        // the same number again (redial)
        &["020 7946 0101", "020 7946 0101", "020 7946 0101", "020 7946 0101", "020 7946 0101"],
    ];
    for (p, numbers) in patterns.iter().enumerate() {
        for (i, n) in numbers.iter().enumerate() {
            let now = t0 + (p as u64 * 10 + i as u64) * 20_000;
            let a = h.attempt(now, &t, 10 + p as u128, n, office_ip());
            assert!(a.placed(), "pattern {p}: {n}");
            h.engine.call_ended(at(now + 5_000), a.call);
        }
    }
    // Spread over more than the window, a run is not a scan either.
    for i in 0..5u64 {
        let now = t0 + HOUR + i * 4 * MINUTE;
        let a = h.attempt(now, &t, 20, &format!("020 7946 02{i:02}"), office_ip());
        assert!(a.placed());
        h.engine.call_ended(at(now + 60_000), a.call);
    }
}

#[test]
fn bursts_of_short_calls_raise_an_event() {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(8, &[], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    let t0 = MONDAY + 10 * HOUR;
    let mut burst = None;
    for i in 0..8u64 {
        let now = t0 + i * 30_000;
        let a = h.attempt(now, &t, 9, &scattered_mobile(i), office_ip());
        assert!(a.placed());
        h.engine.call_answered(at(now + 2_000), a.call);
        let s = h.engine.call_ended(at(now + 5_000), a.call).unwrap();
        if let Some(e) = s.outcome.events.into_iter().find(|e| e.kind == EventKind::ShortCallBurst)
        {
            burst = Some((i, e));
        }
    }
    let (i, e) = burst.expect("burst detected");
    assert_eq!(i, 7, "on the eighth short call");
    assert_eq!(e.severity, Severity::High);
    assert_eq!(e.signals[0].name, Measure::ShortCalls);
}

#[test]
fn concurrency_and_velocity_limits_refuse() {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(9, &[], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    let t0 = MONDAY + 10 * HOUR;
    let mut refusals = Vec::new();
    for i in 0..6u64 {
        let d = h.attempt(t0 + i, &t, 11, &scattered_mobile(i), office_ip()).fraud.unwrap();
        if !d.allow {
            refusals.push(d.refusal.unwrap().sip_reason);
        }
    }
    assert_eq!(refusals, vec!["Concurrent Call Limit Reached"; 2]);
    // Velocity: eleven short calls within six seconds (GCRA: a burst of ten, then one every
    // six seconds).
    let mut rate_refused = 0;
    for i in 0..11u64 {
        let now = t0 + HOUR + i * 500;
        let a = h.attempt(now, &t, 12, &scattered_mobile(100 + i), office_ip());
        if a.placed() {
            h.engine.call_ended(at(now + 100), a.call);
        } else if a.fraud.unwrap().refusal.unwrap().kind == EventKind::CallRate {
            rate_refused += 1;
        }
    }
    assert_eq!(rate_refused, 1);
}

#[test]
fn policy_refusals_warn_and_weigh_on_the_next_calls() {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(10, &["FR"], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    let t0 = MONDAY + 10 * HOUR;
    let mut warned = false;
    for (i, n) in ["+882 16 0000 0001", "0909 879 0000", "+53 5 212 3456"].iter().enumerate() {
        let a = h.attempt(t0 + i as u64 * 5_000, &t, 13, n, office_ip());
        assert!(a.fraud.is_none(), "the policy refuses {n}");
        let events = a.refusal.unwrap().events;
        assert_eq!(events.is_empty(), i < 2, "warning on the third refusal");
        warned |= events
            .iter()
            .any(|e| e.kind == EventKind::PolicyRefusals && e.actions.contains(&Action::Alert));
    }
    assert!(warned);
    let a = h.attempt(t0 + MINUTE, &t, 13, "+33 1 23 45 67 89", office_ip());
    let d = a.fraud.unwrap();
    assert!(d.score >= 30, "score {}", d.score);
}

#[test]
fn a_new_network_weighs_on_calls_right_after_registration() {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(11, &["FR"], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    let t0 = MONDAY + 10 * HOUR;
    h.engine.registration(at(t0), t.id, ExtensionId(14), office_ip().unwrap());
    assert_eq!(
        h.attempt(t0 + MINUTE, &t, 14, "020 7946 0958", office_ip()).fraud.unwrap().score,
        0
    );
    h.engine.registration(at(t0 + 2 * MINUTE), t.id, ExtensionId(14), attacker_ip().unwrap());
    let d = h.attempt(t0 + 3 * MINUTE, &t, 14, "020 7946 0959", attacker_ip()).fraud.unwrap();
    assert_eq!(d.score, 25);
    // Twenty minutes later the network is no longer new for the score.
    h.engine.registration(at(t0 + 4 * MINUTE), t.id, ExtensionId(14), attacker_ip().unwrap());
    let d = h.attempt(t0 + 25 * MINUTE, &t, 14, "020 7946 0960", attacker_ip()).fraud.unwrap();
    assert_eq!(d.score, 0);
}

#[test]
fn international_containment_keeps_domestic_calls() {
    let mut h = Harness::new(RateTable::sample());
    let t = Tenant::new(12, &["FR"], PlatformOverrides::default());
    let mut cfg = office_config();
    cfg.actions.critical =
        vec![Action::Log, Action::Alert, Action::BlockCall, Action::BlockInternationalForExtension];
    h.engine.set_tenant_config(t.id, cfg).unwrap();
    let t0 = MONDAY + 10 * HOUR;
    // A running international call is ended when the extension is contained.
    let intl = h.attempt(t0, &t, 15, "+33 1 23 45 67 89", office_ip());
    h.engine.call_answered(at(t0), intl.call);
    let mut ended = Vec::new();
    for i in 0..5u64 {
        let now = t0 + MINUTE + i * 5_000;
        let a = h.attempt(now, &t, 15, &format!("020 7946 05{i:02}"), office_ip());
        let d = a.fraud.unwrap();
        ended.extend(d.end_calls.iter().map(|e| e.call));
        if d.allow {
            h.engine.call_ended(at(now + 1_000), a.call);
        }
    }
    assert!(matches!(
        h.engine.containment(t.id, ExtensionId(15)),
        Containment::International { .. }
    ));
    assert_eq!(ended, vec![intl.call]);
    let d = h.attempt(t0 + 2 * MINUTE, &t, 15, "+33 1 98 76 54 32", office_ip()).fraud.unwrap();
    assert_eq!(d.refusal.unwrap().sip_reason, "International Calls Suspended By Fraud Control");
    assert!(h.attempt(t0 + 2 * MINUTE, &t, 15, "020 7946 0958", office_ip()).placed());
}
