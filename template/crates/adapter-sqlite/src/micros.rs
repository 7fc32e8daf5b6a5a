//! Timestamps as SQLite stores them: integer microseconds since the Unix epoch, UTC. Integers
//! sort and compare exactly (text timestamps do not, once fractions differ in length), and
//! microseconds are what PostgreSQL keeps, so both adapters return the same instants.

use anyhow::Context;
use time::OffsetDateTime;

/// Now, at the precision stored.
pub(crate) fn now() -> i64 {
    from_time(OffsetDateTime::now_utc())
}

/// An instant as stored (sub-microsecond digits dropped).
pub(crate) fn from_time(instant: OffsetDateTime) -> i64 {
    i64::try_from(instant.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// A stored instant back as a time.
pub(crate) fn to_time(micros: i64) -> anyhow::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .with_context(|| format!("timestamp {micros} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_survives_the_round_trip_at_microsecond_precision() {
        let instant = time::macros::datetime!(2026-12-01 02:18:34.123_456_789 UTC);
        let stored = from_time(instant);
        assert_eq!(stored % 1_000_000, 123_456);
        assert_eq!(
            to_time(stored).unwrap(),
            time::macros::datetime!(2026-12-01 02:18:34.123_456 UTC)
        );
    }
}
