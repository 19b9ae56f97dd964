//! Helpers for the unit tests: a guard on a virtual clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::{Guard, GuardConfig, GuardEvent};

/// A guard and a virtual clock.
pub(crate) struct Sim {
    pub(crate) guard: Guard,
    pub(crate) now: Instant,
}

impl Sim {
    pub(crate) fn new(config: GuardConfig) -> Sim {
        let now = Instant::now();
        Sim { guard: Guard::with_seed(config, now, 7).unwrap(), now }
    }

    pub(crate) fn default() -> Sim {
        Sim::new(GuardConfig::default())
    }

    pub(crate) fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    pub(crate) fn secs(&mut self, s: u64) {
        self.advance(Duration::from_secs(s));
    }

    pub(crate) fn poll_all(&self) -> Vec<GuardEvent> {
        self.events()
    }

    pub(crate) fn events(&self) -> Vec<GuardEvent> {
        std::iter::from_fn(|| self.guard.poll_event()).collect()
    }
}

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}
