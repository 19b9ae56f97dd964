//! Timestamps as stored: UTC, microsecond precision (PostgreSQL `timestamptz` precision; SQLite
//! stores the same microseconds as an integer).

use time::OffsetDateTime;

use crate::error::{Result, StoreError};

/// The current time in UTC, truncated to microseconds, so it round-trips through both backends.
pub fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

/// `t` in UTC, truncated to microseconds.
pub fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.nanosecond() / 1000;
    t.replace_nanosecond(micros * 1000).unwrap_or(t)
}

/// Microseconds since the Unix epoch.
pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// Inverse of [`to_micros`].
pub(crate) fn from_micros(m: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .map_err(|_| StoreError::corrupt("timestamp out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_microseconds_and_moves_to_utc() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)
            .unwrap()
            .to_offset(time::macros::offset!(+2));
        let u = truncate(t);
        assert_eq!(u.offset(), time::UtcOffset::UTC);
        assert_eq!(u.unix_timestamp_nanos(), 1_700_000_000_123_456_000);
        assert_eq!(from_micros(to_micros(u)).unwrap(), u);
        assert_eq!(now().nanosecond() % 1000, 0);
    }

    #[test]
    fn negative_and_extreme_micros() {
        let before_epoch = from_micros(-1_500_000).unwrap();
        assert_eq!(to_micros(before_epoch), -1_500_000);
        assert!(from_micros(i64::MAX).is_err());
    }
}
