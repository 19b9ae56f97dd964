//! A generated week of normal office traffic raises no alert: twenty extensions, business
//! hours with a little overtime, mostly domestic calls, a few international calls to allowed
//! countries, Poisson arrivals from a seeded generator, home working on Friday.

use crate::common;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;

use common::*;
use ringfence_fraud::{Action, CallId, ExtensionId, FraudEvent, RateTable};
use ringfence_policy::{EgressDecision, EgressOrigin, EgressRequest, PlatformOverrides};

/// Domestic calls inclusive (a typical business plan), international at the sample rates.
const RATES: &str =
    "*,100\n+44,0\n+449,150\n+4487,40\n+33,1.5\n+336,6\n+337,6\n+49,1.4\n+4915,7\n+1,1\n";

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    Answer(CallId),
    End(CallId, u128),
}

#[test]
fn a_normal_office_week_raises_no_alert() {
    let mut h = Harness::new(RateTable::parse(RATES).unwrap());
    let t = Tenant::new(42, &["FR", "DE", "US"], PlatformOverrides::default());
    h.engine.set_tenant_config(t.id, office_config()).unwrap();
    let mut rng = Rng::new(0x5eed_0ff1ce);

    // Who the office calls: regular contacts, partners abroad (only numbers the policy takes).
    let valid = |n: &str| {
        matches!(
            t.policy.decide(&EgressRequest::new(EgressOrigin::DialledCall, n)),
            EgressDecision::Allow { .. }
        )
    };
    let pick = |rng: &mut Rng, make: &dyn Fn(&mut Rng) -> String| loop {
        let n = make(rng);
        if valid(&n) {
            break n;
        }
    };
    let mobile = |r: &mut Rng| {
        format!("07{}{:08}", [4, 5, 7, 8, 9][r.below(5) as usize], r.below(100_000_000))
    };
    let london = |r: &mut Rng| format!("020 7{:03} {:04}", r.below(1000), r.below(10_000));
    let contacts: Vec<String> = (0..200)
        .map(|i| if i % 3 == 0 { pick(&mut rng, &mobile) } else { pick(&mut rng, &london) })
        .collect();
    let paris = |r: &mut Rng| {
        format!(
            "+33 1 {:02} {:02} {:02} {:02}",
            40 + r.below(50),
            r.below(100),
            r.below(100),
            r.below(100)
        )
    };
    let berlin = |r: &mut Rng| format!("+49 30 {:07}", 2_000_000 + r.below(7_000_000));
    let new_york = |r: &mut Rng| format!("+1 212 {:03} {:04}", 200 + r.below(700), r.below(10_000));
    let partners: Vec<String> = (0..10)
        .flat_map(|_| [pick(&mut rng, &paris), pick(&mut rng, &berlin), pick(&mut rng, &new_york)])
        .collect();
    let random_number =
        move |r: &mut Rng| if r.unit() < 0.5 { pick(r, &london) } else { pick(r, &mobile) };

    let office = |ext: u128| -> IpAddr { format!("198.51.100.{}", 10 + ext).parse().unwrap() };
    let home = |ext: u128| -> IpAddr { format!("203.0.113.{}", 10 + ext).parse().unwrap() };

    let mut calls = 0u64;
    let mut refused = 0u64;
    let mut events: Vec<FraudEvent> = Vec::new();
    let mut max_score = 0;
    let mut scored = 0u64;
    let mut international = 0u64;
    let mut pending: BinaryHeap<Reverse<(u64, Next)>> = BinaryHeap::new();
    let mut busy_until = [0u64; 21];

    // Arrivals per extension and hour: (from, to, calls per hour), local = UTC here.
    let profile = [(8.0, 12.0, 3.0), (12.0, 13.0, 1.0), (13.0, 18.0, 3.0), (18.0, 18.5, 0.5)];
    let mut arrivals: Vec<(u64, u128)> = Vec::new();
    for day in 0..5u64 {
        for ext in 1..=20u128 {
            for &(from, to, per_hour) in &profile {
                let mut t_h = from + rng.exp(1.0 / per_hour);
                while t_h < to {
                    arrivals.push((MONDAY + day * DAY + (t_h * HOUR as f64) as u64, ext));
                    t_h += rng.exp(1.0 / per_hour);
                }
            }
        }
    }
    arrivals.sort();

    let mut registered_day = [u64::MAX; 21];
    let run_until = |h: &mut Harness,
                     until: u64,
                     events: &mut Vec<FraudEvent>,
                     pending: &mut BinaryHeap<Reverse<(u64, Next)>>| {
        while let Some(Reverse((at_ms, _))) = pending.peek() {
            if *at_ms > until {
                break;
            }
            let Some(Reverse((at_ms, next))) = pending.pop() else { break };
            events.extend(h.engine.poll_actions(at(at_ms)).events);
            match next {
                Next::Answer(c) => h.engine.call_answered(at(at_ms), c),
                Next::End(c, _) => {
                    if let Some(s) = h.engine.call_ended(at(at_ms), c) {
                        events.extend(s.outcome.events);
                    }
                }
            }
        }
    };

    for (now, ext) in arrivals {
        run_until(&mut h, now, &mut events, &mut pending);
        let day = (now - MONDAY) / DAY;
        if registered_day[ext as usize] != day {
            registered_day[ext as usize] = day;
            // Two people work from home on Friday.
            let ip = if day == 4 && (ext == 3 || ext == 7) { home(ext) } else { office(ext) };
            h.engine.registration(at(now - 5 * MINUTE), t.id, ExtensionId(ext), ip);
        }
        if busy_until[ext as usize] > now {
            continue; // on the phone already
        }
        let roll = rng.unit();
        let target = if roll < 0.03 {
            international += 1;
            partners[rng.below(partners.len() as u64) as usize].clone()
        } else if roll < 0.05 {
            format!("0800 {:03} {:04}", 100 + rng.below(900), rng.below(10_000))
        } else if roll < 0.6 {
            contacts[rng.below(contacts.len() as u64) as usize].clone()
        } else {
            random_number(&mut rng)
        };
        let source = if day == 4 && (ext == 3 || ext == 7) { home(ext) } else { office(ext) };
        let a = h.attempt(now, &t, ext, &target, Some(source));
        let Some(d) = a.fraud else {
            panic!("policy refused {target}: {:?}", a.policy);
        };
        calls += 1;
        max_score = max_score.max(d.score);
        scored += u64::from(d.score > 0);
        events.extend(d.events);
        if !d.allow {
            refused += 1;
            continue;
        }
        let ring = 5_000 + rng.below(15_000);
        let end = if rng.unit() < 0.8 {
            pending.push(Reverse((now + ring, Next::Answer(a.call))));
            now + ring + 5_000 + rng.exp(180_000.0) as u64
        } else {
            now + 20_000
        };
        busy_until[ext as usize] = end;
        pending.push(Reverse((end, Next::End(a.call, ext))));
    }
    run_until(&mut h, u64::MAX, &mut events, &mut pending);

    let alerts = events.iter().filter(|e| e.actions.contains(&Action::Alert)).count();
    let rate = alerts as f64 * 1000.0 / calls as f64;
    eprintln!(
        "office week: {calls} calls ({international} international), {refused} refused, \
         {} events, {alerts} alerts = {rate:.2} alerts per 1000 calls; {scored} calls with a \
         non-zero score, max score {max_score}",
        events.len()
    );
    for e in events.iter().filter(|e| e.actions.contains(&Action::Alert)) {
        eprintln!("  false positive: {}", e.explanation);
    }
    assert!(calls > 2000, "only {calls} calls generated");
    assert!(international > 50);
    assert_eq!(refused, 0);
    assert_eq!(alerts, 0, "false-positive rate {rate:.2} per 1000 calls");
    let mem = h.engine.memory();
    assert_eq!(mem.extensions, 20);
    assert_eq!(mem.calls, 0);
}
