//! INVITE transactions and dialogs in the deterministic simulation: many seeds per
//! scenario over lossy, duplicating, reordering UDP and over reliable transports.
//! Every run checks the invariants of `sim_support::check_run`.

use crate::sim_support;

use std::time::Duration;

use ringfence_sip_proto::sim::ua::{UacPlan, UasPlan, pair};
use ringfence_sip_proto::sim::{Direction, NetConfig, SimRng};
use ringfence_sip_proto::transaction::{Config, Transport};
use sim_support::*;

const SEEDS: u64 = 500;
const END: Duration = Duration::from_secs(400);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn reject_plan() -> UasPlan {
    UasPlan { ring_after: Some(ms(100)), answer_after: ms(1_000), code: 486, non_invite_code: 200 }
}

fn answer_plan(after: Duration) -> UasPlan {
    UasPlan { ring_after: Some(ms(100)), answer_after: after, code: 200, non_invite_code: 200 }
}

const CALL: UacPlan =
    UacPlan::Invite { cancel_after: None, bye_after: Some(Duration::from_secs(3)) };

#[test]
fn rfc3261_17_1_1_invite_rejected_over_lossy_udp() {
    for loss in [0.0, 0.1, 0.3] {
        let mut outcomes = Vec::new();
        for seed in 0..SEEDS {
            let plan = UacPlan::Invite { cancel_after: None, bye_after: None };
            let mut sim = pair(
                seed,
                NetConfig::lossy(loss),
                Transport::Udp,
                Config::default(),
                plan,
                reject_plan(),
            );
            sim.run_until(END);
            outcomes.push(check_run(&sim, seed, ms(1_000)));
            if let Outcome::Final(486) = outcomes.last().copied().unwrap() {
                // The ACK for the non-2xx came from the client transaction with the
                // INVITE's branch; the UAS's TU never saw it as a request.
                assert!(uac(&sim).acks_sent == 0 && uas(&sim).requests.len() == 1, "seed {seed}");
            }
        }
        let got = share(&outcomes, Outcome::Final(486));
        // Failing needs all ~7 INVITE sends or ~10 final response sends lost: < 1e-3.
        let want = if loss == 0.0 { 1.0 } else { 0.99 };
        assert!(got >= want, "loss {loss}: 486 in {got:.3} of runs");
    }
}

#[test]
fn rfc3261_13_invite_answered_acked_and_hung_up() {
    for loss in [0.0, 0.3] {
        let (mut answered, mut acked, mut hung_up) = (0, 0, 0);
        for seed in 0..SEEDS {
            let mut sim = pair(
                seed,
                NetConfig::lossy(loss),
                Transport::Udp,
                Config::default(),
                CALL,
                answer_plan(ms(2_000)),
            );
            sim.run_until(END);
            // The BYE comes up to 64*T1 after the 2xx went out, which is up to 64*T1 after
            // the INVITE: count that as TU delay for the bounds.
            let outcome = check_run(&sim, seed, ms(2_000) + T64);
            let (c, s) = (uac(&sim), uas(&sim));
            if outcome == Outcome::Final(200) {
                answered += 1;
                assert!(c.acks_sent >= 1, "seed {seed}: 2xx never ACKed");
                assert!(c.acks_sent as usize >= c.finals.len(), "seed {seed}: one ACK per 2xx");
                assert!(c.bye_tx.is_some(), "seed {seed}: no BYE");
            }
            acked += u32::from(s.acked);
            hung_up += u32::from(c.bye_final == Some(200) || s.gave_up);
            assert!(
                s.acked || s.gave_up || s.final_sent.is_none(),
                "seed {seed}: UAS stuck before ACK"
            );
            if s.gave_up {
                assert!(
                    s.ok_retransmissions >= 9,
                    "seed {seed}: gave up after {} resends",
                    s.ok_retransmissions
                );
            }
        }
        let n = SEEDS as f64;
        let want = if loss == 0.0 { 1.0 } else { 0.98 };
        assert!(f64::from(answered) / n >= want, "loss {loss}: answered {answered}");
        assert!(f64::from(acked) / n >= want, "loss {loss}: acked {acked}");
        assert!(f64::from(hung_up) / n >= want, "loss {loss}: hung up {hung_up}");
    }
}

#[test]
fn rfc3261_9_cancel_before_answer_yields_487_and_200() {
    for loss in [0.0, 0.2] {
        let (mut got_487, mut cancel_200) = (0, 0);
        for seed in 0..SEEDS {
            let plan = UacPlan::Invite { cancel_after: Some(ms(1_000)), bye_after: Some(ms(500)) };
            let mut sim = pair(
                seed,
                NetConfig::lossy(loss),
                Transport::Udp,
                Config::default(),
                plan,
                answer_plan(ms(10_000)),
            );
            sim.run_until(END);
            let outcome = check_run(&sim, seed, ms(10_000) + T64);
            if outcome == Outcome::Final(487) {
                got_487 += 1;
                assert!(uas(&sim).cancels >= 1, "seed {seed}");
                assert_eq!(uas(&sim).final_sent, Some(487), "seed {seed}");
            }
            let ok_to_cancel = sim.trace_where(|e| {
                e.node == 0
                    && e.direction == Direction::Delivered
                    && e.summary.starts_with("SIP/2.0 200")
                    && e.summary.ends_with("CANCEL")
            });
            cancel_200 += u32::from(!ok_to_cancel.is_empty());
        }
        let n = SEEDS as f64;
        let want = if loss == 0.0 { 1.0 } else { 0.98 };
        assert!(f64::from(got_487) / n >= want, "loss {loss}: 487 in {got_487}");
        assert!(f64::from(cancel_200) / n >= want, "loss {loss}: 200 to CANCEL in {cancel_200}");
    }
}

#[test]
fn rfc3261_9_cancel_racing_the_answer_ends_in_one_final() {
    let (mut cancelled, mut answered) = (0, 0);
    for seed in 0..SEEDS {
        let mut rng = SimRng::new(seed.wrapping_mul(31));
        let cancel_after = ms(800) + rng.duration_up_to(ms(400));
        let plan = UacPlan::Invite { cancel_after: Some(cancel_after), bye_after: Some(ms(500)) };
        let mut sim = pair(
            seed,
            NetConfig::lossy(0.1),
            Transport::Udp,
            Config::default(),
            plan,
            answer_plan(ms(1_000)),
        );
        sim.run_until(END);
        match check_run(&sim, seed, ms(1_000) + T64) {
            Outcome::Final(487) => cancelled += 1,
            Outcome::Final(200) => {
                answered += 1;
                // Lost race: the call was answered, so the UAC must ACK and hang up.
                let c = uac(&sim);
                assert!(c.acks_sent >= 1 && c.bye_tx.is_some(), "seed {seed}");
            }
            Outcome::Timeout => {}
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(
        cancelled > 50 && answered > 50,
        "both race outcomes occur: {cancelled} cancelled, {answered} answered"
    );
}

#[test]
fn rfc3261_17_reliable_transports_never_retransmit() {
    for transport in [Transport::Tcp, Transport::Tls] {
        for seed in 0..100 {
            let plans = [
                (UacPlan::Invite { cancel_after: None, bye_after: None }, reject_plan(), ms(1_000)),
                (CALL, answer_plan(ms(2_000)), ms(2_000)),
                (
                    UacPlan::Invite { cancel_after: Some(ms(1_000)), bye_after: None },
                    answer_plan(ms(10_000)),
                    ms(10_000),
                ),
            ];
            for (uac_plan, uas_plan, delay) in plans {
                let net = NetConfig { jitter: ms(50), ..NetConfig::CLEAN };
                let mut sim = pair(seed, net, transport, Config::default(), uac_plan, uas_plan);
                sim.run_until(END);
                let outcome = check_run(&sim, seed, delay);
                assert!(
                    matches!(outcome, Outcome::Final(200 | 486 | 487)),
                    "seed {seed}: {outcome:?}"
                );
                for n in &sim.nodes {
                    assert_eq!(n.layer.stats().retransmissions, 0, "seed {seed} {transport}");
                }
                assert!(sim.trace.iter().all(|e| !e.retransmission), "seed {seed} {transport}");
                assert_eq!(
                    uas(&sim).ok_retransmissions,
                    0,
                    "seed {seed}: the ACK arrives within T1"
                );
            }
        }
    }
}

#[test]
fn rfc3261_17_2_1_retransmissions_stop_after_the_ack() {
    // With a clean network the final response is sent, ACKed within one round trip,
    // and never sent again: exactly one 486 goes out.
    for seed in 0..50 {
        let plan = UacPlan::Invite { cancel_after: None, bye_after: None };
        let mut sim =
            pair(seed, NetConfig::CLEAN, Transport::Udp, Config::default(), plan, reject_plan());
        sim.run_until(END);
        check_run(&sim, seed, ms(1_000));
        let sent_486 = sim.trace_where(|e| {
            e.node == 1 && e.direction == Direction::Sent && e.summary.starts_with("SIP/2.0 486")
        });
        assert_eq!(sent_486.len(), 1, "seed {seed}");
        let invites = sim.trace_where(|e| {
            e.node == 0 && e.direction == Direction::Sent && e.summary.starts_with("INVITE")
        });
        assert_eq!(invites.len(), 1, "seed {seed}: the 100 Trying at 200 ms stops Timer A");
    }
}
