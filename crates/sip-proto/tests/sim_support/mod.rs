//! Invariant checks shared by the simulation tests.
#![allow(dead_code)]

use std::time::Duration;

use ringfence_sip_proto::sim::Sim;
use ringfence_sip_proto::sim::ua::{ScriptedUa, Uac, Uas};
use ringfence_sip_proto::transaction::TxKind;

pub const T64: Duration = Duration::from_secs(32);
pub const T4: Duration = Duration::from_secs(5);
pub const SLACK: Duration = Duration::from_secs(1);

pub fn uac(sim: &Sim<ScriptedUa>) -> &Uac {
    sim.nodes[0].tu.uac().expect("node 0 is the UAC")
}

pub fn uas(sim: &Sim<ScriptedUa>) -> &Uas {
    sim.nodes[1].tu.uas().expect("node 1 is the UAS")
}

/// What the UAC's main transaction ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Final(u16),
    Timeout,
}

/// Invariants of every run; returns the UAC's outcome.
///
/// - no harness violation (retransmission outside an allowed state, unparsable bytes,
///   stalled clock) and no API error in either agent;
/// - the UAC saw exactly one final response or exactly one timeout, never both; after a
///   2xx only further copies of that 2xx (RFC 6026 Accepted), after a non-2xx nothing;
/// - every transaction on both sides was removed, within its bound: non-INVITE
///   64*T1 + T4, server INVITE the TU's answer delay + 64*T1 + T4, client INVITE the
///   answer delay + 2 * 64*T1 (a late-arriving INVITE, then Timer D or M).
pub fn check_run(sim: &Sim<ScriptedUa>, seed: u64, tu_delay: Duration) -> Outcome {
    assert!(sim.violations.is_empty(), "seed {seed}: {:?}", sim.violations);
    let (c, s) = (uac(sim), uas(sim));
    assert!(c.errors.is_empty(), "seed {seed}: UAC errors {:?}", c.errors);
    assert!(s.errors.is_empty(), "seed {seed}: UAS errors {:?}", s.errors);
    let outcome = match (c.finals.first(), c.timeouts + c.transport_errors) {
        (Some(&code), 0) => Outcome::Final(code),
        (None, 1) => Outcome::Timeout,
        (f, t) => panic!("seed {seed}: finals {f:?} with {t} timeouts"),
    };
    if let Outcome::Final(code) = outcome {
        if (200..300).contains(&code) {
            assert!(c.finals.iter().all(|&f| f == code), "seed {seed}: finals {:?}", c.finals);
        } else {
            assert_eq!(c.finals.len(), 1, "seed {seed}: finals {:?}", c.finals);
        }
    }
    for life in &sim.lives {
        let ended =
            life.ended.unwrap_or_else(|| panic!("seed {seed}: transaction leaked: {life:?}"));
        let bound = match life.kind {
            Some(TxKind::ClientInvite) => tu_delay + T64 * 2,
            Some(TxKind::ServerInvite) => tu_delay + T64 + T4,
            _ => T64 + T4,
        } + SLACK;
        assert!(ended - life.created <= bound, "seed {seed}: {life:?} outlived {bound:?}");
    }
    assert!(sim.is_quiescent(), "seed {seed}: work left at the end");
    outcome
}

/// Fraction of `outcomes` equal to `want`.
pub fn share(outcomes: &[Outcome], want: Outcome) -> f64 {
    outcomes.iter().filter(|o| **o == want).count() as f64 / outcomes.len() as f64
}
