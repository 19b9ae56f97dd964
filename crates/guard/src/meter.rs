//! Virtual time and the two counters everything else is built from.
//!
//! Time comes in as [`Instant`] and is kept as microseconds since the guard was created
//! (`u64`: no overflow for half a million years). All arithmetic saturates, so an `Instant`
//! slightly older than one already seen (two receive tasks racing) does no harm.

use std::time::{Duration, Instant};

/// Converts [`Instant`]s to the guard's microsecond clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: Instant,
}

impl Clock {
    pub(crate) fn new(epoch: Instant) -> Clock {
        Clock { epoch }
    }

    /// Microseconds since the epoch (0 for instants before it).
    #[inline]
    pub(crate) fn us(self, now: Instant) -> u64 {
        micros(now.saturating_duration_since(self.epoch))
    }
}

/// `d` in microseconds, saturating.
#[inline]
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Whole seconds in `us` microseconds, rounded up.
pub(crate) fn secs_ceil(us: u64) -> u64 {
    us.div_ceil(1_000_000)
}

/// A rate for the generic cell rate algorithm (GCRA, the virtual-scheduling form of a token
/// bucket): at most `limit` requests at once, refilled at `limit` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rate {
    /// Emission interval: the window divided by the limit.
    interval: u64,
    /// Burst tolerance: the window.
    tolerance: u64,
}

impl Rate {
    /// `limit` (>= 1) requests per `window_us` (>= 1).
    pub(crate) fn new(limit: u32, window_us: u64) -> Rate {
        let limit = u64::from(limit.max(1));
        Rate { interval: (window_us / limit).max(1), tolerance: window_us.max(1) }
    }

    /// The same window with `factor` times the requests.
    pub(crate) fn scaled(self, factor: u32) -> Rate {
        Rate { interval: (self.interval / u64::from(factor.max(1))).max(1), ..self }
    }
}

/// One request against the meter whose theoretical arrival time is `tat`. True if it
/// conforms (and is counted); false if it is over the rate (and is not counted).
#[inline]
pub(crate) fn gcra(tat: &mut u64, now: u64, rate: Rate) -> bool {
    let next = (*tat).max(now).saturating_add(rate.interval);
    if next - now > rate.tolerance {
        return false;
    }
    *tat = next;
    true
}

/// A count that forgets one unit every `leak` microseconds (a leaky bucket that counts up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Leaky {
    level: u32,
    at: u64,
}

impl Leaky {
    /// The count at `now`.
    pub(crate) fn value(&self, now: u64, leak: u64) -> u32 {
        let drained = now.saturating_sub(self.at) / leak.max(1);
        let drained = u32::try_from(drained).unwrap_or(u32::MAX);
        self.level.saturating_sub(drained)
    }

    /// Adds `n` at `now`; returns the new count.
    pub(crate) fn add(&mut self, now: u64, leak: u64, n: u32) -> u32 {
        let leak = leak.max(1);
        if self.level == 0 || now <= self.at {
            if self.level == 0 {
                self.at = now;
            }
        } else {
            let drained = (now - self.at) / leak;
            if drained >= u64::from(self.level) {
                self.level = 0;
                self.at = now;
            } else {
                // Keep the partial interval so the leak stays steady.
                self.level -= drained as u32;
                self.at += drained * leak;
            }
        }
        self.level = self.level.saturating_add(n);
        self.level
    }

    /// Back to zero.
    pub(crate) fn clear(&mut self) {
        *self = Leaky::default();
    }

    /// True when the count has drained to zero by `now`.
    pub(crate) fn is_empty(&self, now: u64, leak: u64) -> bool {
        self.value(now, leak) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn gcra_allows_the_burst_then_the_rate() {
        let rate = Rate::new(10, 2 * S);
        let mut tat = 0;
        let now = 5 * S;
        for i in 0..10 {
            assert!(gcra(&mut tat, now, rate), "request {i} of the burst");
        }
        assert!(!gcra(&mut tat, now, rate), "the eleventh at once is over");
        // One interval (200 ms) later, one more fits.
        assert!(!gcra(&mut tat, now + 199_999, rate));
        assert!(gcra(&mut tat, now + 200_000, rate));
        assert!(!gcra(&mut tat, now + 200_000, rate));
        // After a full window at rest, the whole burst again.
        let later = now + 200_000 + 2 * S;
        for _ in 0..10 {
            assert!(gcra(&mut tat, later, rate));
        }
        assert!(!gcra(&mut tat, later, rate));
    }

    #[test]
    fn gcra_sustained_rate_at_the_limit_conforms() {
        let rate = Rate::new(16, 2 * S);
        let mut tat = 0;
        // 8 per second, evenly spaced, for a minute.
        for i in 0..480u64 {
            assert!(gcra(&mut tat, i * 125_000, rate));
        }
        // 9 per second does not last.
        let mut tat = 0;
        let over = (0..540u64).filter(|i| !gcra(&mut tat, i * 111_111, rate)).count();
        assert!(over > 0);
    }

    #[test]
    fn scaled_rate_multiplies_the_burst() {
        let rate = Rate::new(10, S).scaled(4);
        let mut tat = 0;
        assert_eq!((0..100).filter(|_| gcra(&mut tat, S, rate)).count(), 40);
    }

    #[test]
    fn leaky_counts_and_forgets() {
        let leak = 60 * S;
        let mut l = Leaky::default();
        assert_eq!(l.add(0, leak, 1), 1);
        assert_eq!(l.add(10 * S, leak, 1), 2);
        assert_eq!(l.value(59 * S, leak), 2);
        assert_eq!(l.value(60 * S, leak), 1);
        assert_eq!(l.add(70 * S, leak, 1), 2);
        // The partial interval is kept: the next unit leaks at 120 s, not at 130 s.
        assert_eq!(l.value(119 * S, leak), 2);
        assert_eq!(l.value(120 * S, leak), 1);
        assert!(l.is_empty(180 * S, leak));
        assert_eq!(l.add(1000 * S, leak, 3), 3);
        l.clear();
        assert!(l.is_empty(1000 * S, leak));
    }

    #[test]
    fn leaky_tolerates_time_going_backwards() {
        let mut l = Leaky::default();
        l.add(100, 10, 1);
        assert_eq!(l.add(50, 10, 1), 2);
        assert_eq!(l.value(40, 10), 2);
    }

    #[test]
    fn clock_saturates_before_epoch() {
        let epoch = Instant::now() + Duration::from_secs(10);
        let c = Clock::new(epoch);
        assert_eq!(c.us(Instant::now()), 0);
        assert_eq!(c.us(epoch + Duration::from_millis(3)), 3000);
        assert_eq!(secs_ceil(1), 1);
        assert_eq!(secs_ceil(2_000_000), 2);
    }
}
