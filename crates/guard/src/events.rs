//! Security events for the audit log and metrics, polled by the driver.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::ban::{BanKey, BanReason};
use crate::scanner::ScannerSignals;

/// Longest User-Agent kept in an event (attacker-controlled text: escape before display).
const MAX_AGENT: usize = 128;

/// Something the audit log should record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GuardEvent {
    /// A ban started (or a running one was renewed by a new offence).
    BanStarted {
        /// What is banned.
        key: BanKey,
        /// Why.
        reason: BanReason,
        /// How long, in seconds.
        duration_secs: u64,
        /// Which offence within the memory this is (1 for the first).
        offences: u32,
    },
    /// An administrator lifted a ban ([`crate::Guard::lift_ban`]).
    BanLifted {
        /// What was banned.
        key: BanKey,
    },
    /// A ban ran out (reported by [`crate::Guard::housekeeping`]).
    BanExpired {
        /// What was banned.
        key: BanKey,
    },
    /// A ban was forgotten before its end to make room for new state (the tables are full;
    /// see "Bounded state" in the crate documentation); the source is metered afresh if it
    /// comes back.
    BanEvicted {
        /// What was banned.
        key: BanKey,
    },
    /// A request showed scanner signals not seen from this address before.
    ScannerDetected {
        /// Where it came from.
        source: SocketAddr,
        /// The new signals.
        signals: ScannerSignals,
        /// Its User-Agent (at most 128 bytes).
        user_agent: Option<String>,
    },
}

impl GuardEvent {
    pub(crate) fn scanner(source: SocketAddr, signals: ScannerSignals, ua: Option<&str>) -> Self {
        let user_agent = ua.map(|u| {
            let mut end = u.len().min(MAX_AGENT);
            while !u.is_char_boundary(end) {
                end -= 1;
            }
            u[..end].to_owned()
        });
        GuardEvent::ScannerDetected { source, signals, user_agent }
    }
}

/// A bounded queue of events.
#[derive(Debug)]
pub(crate) struct Events {
    queue: Mutex<VecDeque<GuardEvent>>,
    cap: usize,
    pub(crate) dropped: AtomicU64,
}

impl Events {
    pub(crate) fn new(cap: usize) -> Events {
        Events { queue: Mutex::new(VecDeque::new()), cap, dropped: AtomicU64::new(0) }
    }

    /// Queues `e`, or counts it as dropped when the queue is full.
    pub(crate) fn push(&self, e: GuardEvent) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.len() >= self.cap {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        q.push_back(e);
    }

    pub(crate) fn pop(&self) -> Option<GuardEvent> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_bounded() {
        let q = Events::new(2);
        for i in 0..5u16 {
            q.push(GuardEvent::BanExpired {
                key: BanKey::Source { addr: SocketAddr::from(([192, 0, 2, 1], i)) },
            });
        }
        assert_eq!(q.dropped.load(Ordering::Relaxed), 3);
        assert!(
            matches!(q.pop(), Some(GuardEvent::BanExpired { key: BanKey::Source { addr } }) if addr.port() == 0)
        );
        assert!(q.pop().is_some());
        assert!(q.pop().is_none());
    }

    #[test]
    fn scanner_event_cuts_the_agent_and_serialises() {
        let src = SocketAddr::from(([192, 0, 2, 1], 5060));
        let e = GuardEvent::scanner(src, ScannerSignals::USER_AGENT, Some(&"ü".repeat(100)));
        let GuardEvent::ScannerDetected { user_agent: Some(ua), .. } = &e else { panic!() };
        assert!(ua.len() <= 128 && ua.chars().all(|c| c == 'ü'));
        let json = serde_json::to_string(&GuardEvent::scanner(
            src,
            ScannerSignals::USER_AGENT,
            Some("friendly-scanner"),
        ))
        .unwrap();
        assert_eq!(
            json,
            r#"{"event":"scanner_detected","source":"192.0.2.1:5060","signals":["user_agent"],"user_agent":"friendly-scanner"}"#
        );
    }
}
