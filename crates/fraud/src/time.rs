//! Time as the engine sees it: wall-clock milliseconds passed in by the driver (the engine
//! never reads a clock), and the tenant's local day, weekday and minute at a fixed UTC offset.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// A point in time: milliseconds since the Unix epoch (UTC). Wall-clock rather than monotonic
/// because daily caps roll over at the tenant's midnight and snapshots outlive the process; the
/// engine tolerates a clock that steps back (durations saturate at zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub const fn from_unix_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// From seconds since the Unix epoch.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// From a `SystemTime` (times before the epoch become the epoch).
    pub fn from_system_time(t: SystemTime) -> Self {
        Self(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.as_millis() as u64))
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    fn local_ms(self, offset_minutes: i16) -> i64 {
        self.0 as i64 + i64::from(offset_minutes) * 60_000
    }

    /// The local day number (days since 1970-01-01 in local time).
    pub(crate) fn local_day(self, offset_minutes: i16) -> i64 {
        self.local_ms(offset_minutes).div_euclid(DAY_MS)
    }

    /// The hour number since the epoch (UTC hours; hour boundaries are the same in every
    /// whole-hour zone, and only relative hours matter for volume baselines).
    pub(crate) fn hour(self) -> i64 {
        self.0 as i64 / HOUR_MS
    }

    /// ISO weekday (1 = Monday ..= 7 = Sunday) and minute of the local day.
    pub(crate) fn local_weekday_minute(self, offset_minutes: i16) -> (u8, u16) {
        let local = self.local_ms(offset_minutes);
        let day = local.div_euclid(DAY_MS);
        // 1970-01-01 was a Thursday (ISO weekday 4).
        let weekday = (day + 3).rem_euclid(7) as u8 + 1;
        let minute = (local.rem_euclid(DAY_MS) / 60_000) as u16;
        (weekday, minute)
    }

    /// The local hour of day, 0..24.
    pub(crate) fn local_hour(self, offset_minutes: i16) -> usize {
        usize::from(self.local_weekday_minute(offset_minutes).1 / 60)
    }

    /// The first instant of the current local day.
    pub(crate) fn start_of_local_day(self, offset_minutes: i16) -> Timestamp {
        let start = self.local_day(offset_minutes) * DAY_MS - i64::from(offset_minutes) * 60_000;
        Timestamp(start.max(0) as u64)
    }

    /// The first instant of the next local day.
    pub(crate) fn next_local_midnight(self, offset_minutes: i16) -> Timestamp {
        let next =
            (self.local_day(offset_minutes) + 1) * DAY_MS - i64::from(offset_minutes) * 60_000;
        Timestamp(next.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_calendar() {
        // 2024-01-01T00:30:00Z is a Monday.
        let t = Timestamp::from_unix_secs(1_704_069_000);
        assert_eq!(t.local_weekday_minute(0), (1, 30));
        // At UTC-1 it is still Sunday 23:30.
        assert_eq!(t.local_weekday_minute(-60), (7, 1410));
        assert_eq!(t.local_day(0) - t.local_day(-60), 1);
        assert_eq!(t.local_hour(120), 2);
        let midnight = t.next_local_midnight(60);
        assert_eq!(midnight.local_weekday_minute(60), (2, 0));
        assert!(midnight > t);
        assert_eq!(midnight.since(t), Duration::from_secs(22 * 3600 + 30 * 60));
        assert_eq!(t.since(midnight), Duration::ZERO);
        assert_eq!(t.start_of_local_day(60).unix_millis(), 1_704_067_200_000 - 3_600_000);
    }
}
