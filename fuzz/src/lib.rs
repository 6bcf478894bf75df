//! What the fuzz targets share: fixed instants, the known keys, and the
//! input shapes of the verifier targets (see [`form`]).

pub mod form;

use chrono::{DateTime, Timelike as _, Utc};

/// The instant `seconds` after the epoch (the epoch when out of range).
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// The instant policy JSON writes for `t`: whole milliseconds, and a leap
/// second as the last millisecond before it (the wire format has no `:60`).
pub fn wire_instant(t: DateTime<Utc>) -> DateTime<Utc> {
    let t = if t.nanosecond() >= 1_000_000_000 {
        t.with_nanosecond(999_999_999).unwrap_or(t)
    } else {
        t
    };
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}
