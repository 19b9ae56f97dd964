//! Non-INVITE transactions in the deterministic simulation (RFC 3261 §17.1.2, §17.2.2):
//! many seeds over lossy, duplicating and reordering UDP, and over TCP.

use crate::sim_support;

use std::time::Duration;

use ringfence_sip_proto::sim::ua::{UacPlan, UasPlan, pair};
use ringfence_sip_proto::sim::{Direction, NetConfig};
use ringfence_sip_proto::transaction::{Config, Transport};
use sim_support::*;

const SEEDS: u64 = 500;
const END: Duration = Duration::from_secs(200);

fn uas_plan(code: u16) -> UasPlan {
    UasPlan { ring_after: None, answer_after: Duration::ZERO, code: 200, non_invite_code: code }
}

#[test]
fn rfc3261_17_1_2_options_over_lossy_udp() {
    for loss in [0.0, 0.1, 0.3] {
        let mut outcomes = Vec::new();
        for seed in 0..SEEDS {
            let mut sim = pair(
                seed,
                NetConfig::lossy(loss),
                Transport::Udp,
                Config::default(),
                UacPlan::Request("OPTIONS"),
                uas_plan(200),
            );
            sim.run_until(END);
            outcomes.push(check_run(&sim, seed, Duration::ZERO));
            // However many copies arrived, the UAS's TU saw one request.
            let s = uas(&sim);
            assert!(s.requests.len() <= 1, "seed {seed}: {:?}", s.requests);
        }
        let got = share(&outcomes, Outcome::Final(200));
        // A run fails only if none of ~11 request/response round trips gets through
        // (each succeeds with (1-loss)^2): below 1e-3 at 30% loss.
        let want = if loss == 0.0 { 1.0 } else { 0.99 };
        assert!(got >= want, "loss {loss}: 200 in {got:.3} of runs");
        let timeouts = share(&outcomes, Outcome::Timeout);
        assert!((got + timeouts - 1.0).abs() < 1e-9, "only 200 or timeout can happen");
    }
}

#[test]
fn rfc3261_17_2_2_duplicates_and_reordering_reach_the_tu_once() {
    for seed in 0..SEEDS {
        let net = NetConfig {
            loss: 0.0,
            duplicate: 0.5,
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(1_500),
        };
        let mut sim = pair(
            seed,
            net,
            Transport::Udp,
            Config::default(),
            UacPlan::Request("REGISTER"),
            uas_plan(401),
        );
        sim.run_until(END);
        assert_eq!(check_run(&sim, seed, Duration::ZERO), Outcome::Final(401), "seed {seed}");
        assert_eq!(uas(&sim).requests.len(), 1, "seed {seed}");
        assert_eq!(uac(&sim).finals, [401], "seed {seed}");
    }
}

#[test]
fn rfc3261_17_1_2_2_request_to_nobody_times_out_with_timer_f() {
    for seed in 0..20 {
        let mut sim = pair(
            seed,
            NetConfig { loss: 1.0, ..NetConfig::CLEAN },
            Transport::Udp,
            Config::default(),
            UacPlan::Request("OPTIONS"),
            uas_plan(200),
        );
        sim.run_until(END);
        assert_eq!(check_run(&sim, seed, Duration::ZERO), Outcome::Timeout);
        let sends = sim.trace_where(|e| e.node == 0 && e.direction == Direction::Sent);
        // Timer E: 0, 0.5, 1.5, 3.5, 7.5, then every T2 until Timer F at 32 s.
        assert_eq!(sends.len(), 11, "seed {seed}");
        let life = sim.lives[0];
        assert_eq!(life.ended.unwrap() - life.created, T64, "Timer F");
    }
}

#[test]
fn rfc3261_17_1_2_2_reliable_non_invite_has_no_retransmissions() {
    for seed in 0..100 {
        let mut sim = pair(
            seed,
            NetConfig::CLEAN,
            Transport::Tcp,
            Config::default(),
            UacPlan::Request("OPTIONS"),
            uas_plan(200),
        );
        sim.run_until(END);
        assert_eq!(check_run(&sim, seed, Duration::ZERO), Outcome::Final(200));
        assert!(sim.trace.iter().all(|e| !e.retransmission));
        // Timers J and K are zero: both transactions end on the response.
        assert!(
            sim.lives.iter().all(|l| l.ended.unwrap() - l.created <= Duration::from_millis(20)),
            "{:?}",
            sim.lives
        );
    }
}
