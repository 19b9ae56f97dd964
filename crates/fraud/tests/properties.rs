//! Property tests: random sequences of driver calls never panic, running calls are accounted
//! exactly, daily caps hold when the driver polls at `poll_timeout`, and a suspended extension
//! never places a call.

use crate::common;

use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use ringfence_fraud::{
    CallContext, CallId, Containment, ExtensionId, FraudEngine, FraudState, Limits, RateTable,
    TenantConfig, TenantId,
};
use ringfence_policy::{ClassifiedNumber, E164};

#[derive(Clone, Debug)]
enum Op {
    Advance(u64),
    Attempt { tenant: u8, ext: u8, dest: u8 },
    Answer(u8),
    End(u8),
    Register { tenant: u8, ext: u8, net: u8 },
    Refusal { tenant: u8, ext: u8 },
    Clear { tenant: u8, ext: u8 },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..180_000).prop_map(Op::Advance),
        4 => (0u8..2, 0u8..4, 0u8..6)
            .prop_map(|(tenant, ext, dest)| Op::Attempt { tenant, ext, dest }),
        3 => any::<u8>().prop_map(Op::Answer),
        2 => any::<u8>().prop_map(Op::End),
        1 => (0u8..2, 0u8..4, 0u8..3)
            .prop_map(|(tenant, ext, net)| Op::Register { tenant, ext, net }),
        1 => (0u8..2, 0u8..4).prop_map(|(tenant, ext)| Op::Refusal { tenant, ext }),
        1 => (0u8..2, 0u8..4).prop_map(|(tenant, ext)| Op::Clear { tenant, ext }),
        1 => Just(Op::Restart),
    ]
}

const CAP_MINUTES: u32 = 15;

fn config() -> TenantConfig {
    TenantConfig {
        limits: Limits {
            international_minutes_per_day: CAP_MINUTES,
            spend_cap_cents_per_day: 300,
            ..Limits::default()
        },
        ..office_config()
    }
}

fn engine() -> FraudEngine {
    let mut e = FraudEngine::new(Arc::new(RateTable::parse("*,5\n+44,0\n+33,10").unwrap()));
    for t in 0..2 {
        e.set_tenant_config(TenantId(t), config()).unwrap();
    }
    e
}

fn destinations() -> Vec<(ClassifiedNumber, bool)> {
    let c = classifier();
    [
        ("+442079460958", false),
        ("+447400123456", false),
        ("+33123456789", true),
        ("+33612345678", true),
        ("+12125550123", true),
        ("+882160000000", true),
    ]
    .iter()
    .map(|(n, intl)| (c.classify(E164::parse(n).unwrap()), *intl))
    .collect()
}

fn drive(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dests = destinations();
    let mut e = engine();
    let mut now = MONDAY + 9 * HOUR;
    let mut next_call = 0u64;
    let mut live: Vec<CallId> = Vec::new();
    for op in ops {
        match op {
            Op::Advance(ms) => {
                let target = now + ms;
                // The driver sleeps until poll_timeout and ends what it is told to.
                while let Some(due) =
                    e.poll_timeout().map(|t| t.unix_millis()).filter(|&d| d <= target)
                {
                    now = now.max(due);
                    for end in e.poll_actions(at(now)).end_calls {
                        prop_assert!(live.contains(&end.call));
                    }
                }
                now = target;
            }
            Op::Attempt { tenant, ext, dest } => {
                let (destination, international) = dests[usize::from(dest)];
                let (t, x) = (TenantId(u128::from(tenant)), ExtensionId(u128::from(ext)));
                let suspended = matches!(e.containment(t, x), Containment::Suspended { .. });
                next_call += 1;
                let ctx = CallContext {
                    call: CallId(next_call),
                    tenant: t,
                    extension: x,
                    destination,
                    international,
                    source: None,
                };
                let d = e.call_attempt(at(now), &ctx);
                prop_assert_eq!(d.allow, d.refusal.is_none());
                if suspended {
                    prop_assert!(!d.allow);
                }
                if d.allow {
                    live.push(CallId(next_call));
                }
            }
            Op::Answer(i) => {
                if !live.is_empty() {
                    e.call_answered(at(now), live[usize::from(i) % live.len()]);
                }
            }
            Op::End(i) => {
                if !live.is_empty() {
                    let c = live.remove(usize::from(i) % live.len());
                    prop_assert!(e.call_ended(at(now), c).is_some());
                }
            }
            Op::Register { tenant, ext, net } => {
                let ip = std::net::IpAddr::from([198, 51, 100 + net, 7]);
                e.registration(
                    at(now),
                    TenantId(u128::from(tenant)),
                    ExtensionId(u128::from(ext)),
                    ip,
                );
            }
            Op::Refusal { tenant, ext } => {
                e.policy_refusal(
                    at(now),
                    TenantId(u128::from(tenant)),
                    ExtensionId(u128::from(ext)),
                    None,
                );
            }
            Op::Clear { tenant, ext } => {
                e.clear_containment(TenantId(u128::from(tenant)), ExtensionId(u128::from(ext)));
            }
            Op::Restart => {
                let json = serde_json::to_string(&e.snapshot(at(now))).unwrap();
                let state: FraudState = serde_json::from_str(&json).unwrap();
                e = engine();
                e.restore(state);
                live.clear();
            }
        }
        prop_assert_eq!(e.memory().calls, live.len());
        // Crossing instants are whole milliseconds (rounded up) and costs whole millicents
        // per call (rounded up): the overshoot is below a millisecond and a millicent per
        // call.
        let calls = next_call as f64;
        for t in e.snapshot(at(now)).tenants {
            prop_assert!(
                t.international_minutes() <= f64::from(CAP_MINUTES) + calls / 60_000.0,
                "{} international minutes",
                t.international_minutes()
            );
            prop_assert!(t.spend_cents() <= 300.0 + calls / 1000.0, "{} cents", t.spend_cents());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_driving_keeps_the_invariants(ops in proptest::collection::vec(op(), 1..120)) {
        drive(ops)?;
    }
}
