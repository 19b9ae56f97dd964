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
