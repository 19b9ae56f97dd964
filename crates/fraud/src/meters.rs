//! Small bounded meters: a GCRA rate limiter, a ring of recent instants, an exponentially
//! weighted mean and variance, a capped set, and the daily budget arithmetic that finds the
//! exact instant running calls cross a cap.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Generic cell rate algorithm (ITU-T I.371): `per_minute` calls in a burst, then one every
/// `60 s / per_minute`. One `u64` of state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// Theoretical arrival time, ms.
    tat: u64,
}

impl Gcra {
    fn interval(per_minute: u32) -> u64 {
        (60_000 / u64::from(per_minute.max(1))).max(1)
    }

    /// The TAT, unless the clock stepped back by more than a minute since it was set (a TAT
    /// can be at most a minute ahead of the time it was recorded at): then the past is void.
    fn tat(&self, now: u64) -> u64 {
        if self.tat > now.saturating_add(60_000) { now } else { self.tat }
    }

    /// Whether a call at `now` conforms.
    pub(crate) fn conforms(&self, now: u64, per_minute: u32) -> bool {
        let t = Self::interval(per_minute);
        let tau = 60_000u64.saturating_sub(t);
        self.tat(now) <= now.saturating_add(tau)
    }

    /// Records a conforming call.
    pub(crate) fn record(&mut self, now: u64, per_minute: u32) {
        self.tat = self.tat(now).max(now) + Self::interval(per_minute);
    }

    /// Calls counted in the current minute (for explanations).
    pub(crate) fn in_flight(&self, now: u64, per_minute: u32) -> u64 {
        self.tat(now).saturating_sub(now).div_ceil(Self::interval(per_minute))
    }
}

/// The last `cap` instants (ms) of some kind of event, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Recent {
    times: VecDeque<u64>,
}

impl Recent {
    /// Records an instant, keeping at most `cap`.
    pub(crate) fn push(&mut self, now: u64, cap: usize) {
        while self.times.len() >= cap.max(1) {
            self.times.pop_front();
        }
        self.times.push_back(now);
    }

    /// How many recorded instants lie within `window_ms` before `now`.
    pub(crate) fn count_within(&self, now: u64, window_ms: u64) -> usize {
        self.times.iter().rev().take_while(|&&t| now.saturating_sub(t) < window_ms).count()
    }

    pub(crate) fn clear(&mut self) {
        self.times.clear();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.times.capacity() * 8
    }
}

/// Exponentially weighted moving mean and variance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Ewma {
    pub(crate) mean: f32,
    pub(crate) var: f32,
    /// Samples folded in.
    pub(crate) samples: u32,
}

impl Ewma {
    pub(crate) fn add(&mut self, x: f32, alpha: f32) {
        if self.samples == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let diff = x - self.mean;
            let incr = alpha * diff;
            self.mean += incr;
            self.var = (1.0 - alpha) * (self.var + diff * incr);
        }
        self.samples = self.samples.saturating_add(1);
    }

    /// `max(floor, factor * mean + 3 sd)`.
    pub(crate) fn threshold(&self, factor: f32, floor: u32) -> f32 {
        (factor * self.mean + 3.0 * self.var.max(0.0).sqrt()).max(floor as f32)
    }
}

/// A set of at most `cap` small values (linear search; caps are small).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct CappedSet<T> {
    items: Vec<T>,
}

impl<T: PartialEq + Copy> CappedSet<T> {
    pub(crate) fn contains(&self, x: T) -> bool {
        self.items.contains(&x)
    }

    /// Inserts; returns whether `x` was new. When full, the oldest item makes room.
    pub(crate) fn insert(&mut self, x: T, cap: usize) -> bool {
        if self.items.contains(&x) {
            return false;
        }
        if self.items.len() >= cap {
            self.items.remove(0);
        }
        self.items.push(x);
        true
    }

    /// Inserts unless full; returns whether `x` was new (a full set counts everything new as
    /// new without storing it, so counts saturate at `cap`).
    pub(crate) fn insert_saturating(&mut self, x: T, cap: usize) -> bool {
        if self.items.contains(&x) {
            return false;
        }
        if self.items.len() < cap {
            self.items.push(x);
        }
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<T>()
    }
}

/// Today's committed usage (ended calls, and running calls up to midnight or a settlement).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Used {
    /// International milliseconds.
    pub(crate) intl_ms: u64,
    /// Estimated spend, millicents.
    pub(crate) spend_mc: u64,
}

/// Sums over running answered calls, so usage at any instant and the instant a cap is crossed
/// are O(1): a call answered at `s` with rate `r` has used `now - s` ms and `r (now - s) / 60000`
/// millicents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Running {
    intl_calls: u32,
    intl_start_sum: u128,
    rate_sum: u128,
    rate_start_sum: u128,
}

impl Running {
    pub(crate) fn add(&mut self, intl: bool, rate: u32, from: u64) {
        if intl {
            self.intl_calls += 1;
            self.intl_start_sum += u128::from(from);
        }
        self.rate_sum += u128::from(rate);
        self.rate_start_sum += u128::from(rate) * u128::from(from);
    }

    pub(crate) fn remove(&mut self, intl: bool, rate: u32, from: u64) {
        if intl {
            self.intl_calls = self.intl_calls.saturating_sub(1);
            self.intl_start_sum = self.intl_start_sum.saturating_sub(u128::from(from));
        }
        self.rate_sum = self.rate_sum.saturating_sub(u128::from(rate));
        self.rate_start_sum =
            self.rate_start_sum.saturating_sub(u128::from(rate) * u128::from(from));
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.intl_calls == 0 && self.rate_sum == 0
    }

    fn intl_ms(&self, now: u64) -> u128 {
        (u128::from(self.intl_calls) * u128::from(now)).saturating_sub(self.intl_start_sum)
    }

    /// Spend in millicent-milliseconds per minute (divide by 60 000 for millicents).
    fn spend_units(&self, now: u64) -> u128 {
        (self.rate_sum * u128::from(now)).saturating_sub(self.rate_start_sum)
    }
}

/// Caps of one account (tenant or extension) in engine units.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Caps {
    pub(crate) intl_ms: Option<u64>,
    pub(crate) spend_mc: Option<u64>,
}

/// Usage of an account at `now`: international ms and spend in millicents (fractional).
pub(crate) fn usage(used: &Used, running: &Running, now: u64) -> (u64, f64) {
    let intl = u128::from(used.intl_ms) + running.intl_ms(now);
    let spend = used.spend_mc as f64 + running.spend_units(now) as f64 / 60_000.0;
    (intl.min(u128::from(u64::MAX)) as u64, spend)
}

/// Whether the international cap is reached at `now`.
pub(crate) fn intl_reached(used: &Used, running: &Running, caps: &Caps, now: u64) -> bool {
    caps.intl_ms
        .is_some_and(|cap| u128::from(used.intl_ms) + running.intl_ms(now) >= u128::from(cap))
}

/// Whether the spend cap is reached at `now`.
pub(crate) fn spend_reached(used: &Used, running: &Running, caps: &Caps, now: u64) -> bool {
    caps.spend_mc.is_some_and(|cap| {
        u128::from(used.spend_mc) * 60_000 + running.spend_units(now) >= u128::from(cap) * 60_000
    })
}

/// The first instant at which running calls make usage reach a cap, if they ever do.
pub(crate) fn crossing(used: &Used, running: &Running, caps: &Caps) -> Option<u64> {
    let intl = caps.intl_ms.filter(|_| running.intl_calls > 0).map(|cap| {
        let remaining = u128::from(cap.saturating_sub(used.intl_ms));
        (remaining + running.intl_start_sum).div_ceil(u128::from(running.intl_calls))
    });
    let spend = caps.spend_mc.filter(|_| running.rate_sum > 0).map(|cap| {
        let remaining = u128::from(cap.saturating_sub(used.spend_mc)) * 60_000;
        (remaining + running.rate_start_sum).div_ceil(running.rate_sum)
    });
    let t = match (intl, spend) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(t.min(u128::from(u64::MAX)) as u64)
}

/// Cost of `ms` at `rate` millicents per minute, rounded up.
pub(crate) fn cost_mc(rate: u32, ms: u64) -> u64 {
    (u128::from(rate) * u128::from(ms)).div_ceil(60_000).min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_a_burst_then_the_rate() {
        let mut g = Gcra::default();
        let now = 10_000_000;
        for _ in 0..10 {
            assert!(g.conforms(now, 10));
            g.record(now, 10);
        }
        assert!(!g.conforms(now, 10));
        assert!(!g.conforms(now + 5_999, 10));
        assert!(g.conforms(now + 6_000, 10));
        assert_eq!(g.in_flight(now, 10), 10);
        // A clock stepped back by an hour does not lock the limiter for an hour.
        assert!(g.conforms(now - 3_600_000, 10));
    }

    #[test]
    fn recent_counts_within_window() {
        let mut r = Recent::default();
        for t in [0, 100, 200, 300] {
            r.push(t, 3);
        }
        assert_eq!(r.count_within(300, 1_000), 3);
        assert_eq!(r.count_within(300, 150), 2);
    }

    #[test]
    fn ewma_tracks_mean_and_spread() {
        let mut e = Ewma::default();
        for _ in 0..100 {
            e.add(4.0, 0.1);
        }
        assert!((e.mean - 4.0).abs() < 1e-3 && e.var < 1e-3);
        assert_eq!(e.threshold(3.0, 15), 15.0);
        for x in [0.0, 8.0].repeat(50) {
            e.add(x, 0.1);
        }
        assert!(e.var > 10.0, "{e:?}");
    }

    #[test]
    fn crossing_instant_is_exact() {
        // Two international calls answered at 0 and 120 s, cap 10 minutes, nothing used yet:
        // 2t - 120 s = 600 s -> t = 360 s.
        let mut r = Running::default();
        r.add(true, 0, 0);
        r.add(true, 0, 120_000);
        let caps = Caps { intl_ms: Some(600_000), spend_mc: None };
        let used = Used::default();
        assert_eq!(crossing(&used, &r, &caps), Some(360_000));
        assert!(!intl_reached(&used, &r, &caps, 359_999));
        assert!(intl_reached(&used, &r, &caps, 360_000));
        // Spend: 100 cents/min, cap 50 cents, 20 cents used: 30 cents = 18 s.
        let mut r = Running::default();
        r.add(false, 100_000, 1_000);
        let caps = Caps { intl_ms: None, spend_mc: Some(50_000) };
        let used = Used { intl_ms: 0, spend_mc: 20_000 };
        assert_eq!(crossing(&used, &r, &caps), Some(19_000));
        assert!(spend_reached(&used, &r, &caps, 19_000));
        assert!(!spend_reached(&used, &r, &caps, 18_999));
        assert_eq!(cost_mc(100_000, 18_000), 30_000);
    }
}
