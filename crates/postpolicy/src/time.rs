//! The range of time the crate handles, and checked arithmetic within it.
//!
//! Policy documents, `x-oss-date` and `x-amz-date` write the year with four
//! digits, so an instant after 9999-12-31 cannot be stated: it would be
//! printed with a wrong year (year 262142 as `2142`), and adding a duration to
//! an instant near chrono's own limit panics. Every instant a caller passes
//! (`now`, an expiration) is checked against [`EARLIEST`]..=[`LATEST`] and
//! every configured duration against its own bound, so that the arithmetic
//! the signers and verifiers do afterwards cannot leave the calendar.

use chrono::{DateTime, TimeDelta, Utc};

/// 0000-01-01T00:00:00Z in seconds since the epoch.
const EARLIEST_SECONDS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59.999Z in milliseconds since the epoch.
const LATEST_MILLIS: i64 = 253_402_300_799_999;

/// `EARLIEST` as text, for messages.
pub(crate) const EARLIEST_TEXT: &str = "0000-01-01T00:00:00.000Z";
/// `LATEST` as text, for messages.
pub(crate) const LATEST_TEXT: &str = "9999-12-31T23:59:59.999Z";

/// The largest clock skew a verifier accepts: a date more than a week ahead
/// is a wrong clock, not skew (and a V4 form is valid for a week at most).
pub(crate) const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::days(7);
/// The largest maximum date age an S3 verifier accepts (ten years).
pub(crate) const MAX_DATE_AGE: TimeDelta = TimeDelta::days(3650);

/// The earliest instant handled: 0000-01-01T00:00:00Z. Built at compile
/// time: every signature checks and clamps against both ends several times,
/// and building them from their timestamps cost ~300 instructions a call.
pub(crate) const fn earliest() -> DateTime<Utc> {
    const AT: DateTime<Utc> = match DateTime::from_timestamp(EARLIEST_SECONDS, 0) {
        Some(at) => at,
        None => DateTime::<Utc>::MIN_UTC,
    };
    AT
}

/// The latest instant handled: 9999-12-31T23:59:59.999Z (see [`earliest`]).
pub(crate) const fn latest() -> DateTime<Utc> {
    const AT: DateTime<Utc> = match DateTime::from_timestamp_millis(LATEST_MILLIS) {
        Some(at) => at,
        None => DateTime::<Utc>::MAX_UTC,
    };
    AT
}

/// An instant or a duration a caller passed is outside what can be stated.
///
/// Every variant names the input; none prints a year past 9999.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeRangeError {
    /// An instant (`now`, an expiration) outside 0000-01-01..9999-12-31.
    #[error(
        "{input} is {} {}, outside the range of dates a policy can state ({EARLIEST_TEXT} to {LATEST_TEXT})",
        if *.after { "after" } else { "before" },
        if *.after { LATEST_TEXT } else { EARLIEST_TEXT }
    )]
    Instant {
        /// What the instant is, e.g. `` `now` ``.
        input: &'static str,
        /// True when it is too late, false when too early.
        after: bool,
    },
    /// A duration that must not be negative is.
    #[error("{input} must not be negative")]
    Negative {
        /// What the duration is, e.g. `the clock skew`.
        input: &'static str,
    },
    /// A duration longer than its bound.
    #[error("{input} is longer than {max}, the most it may be")]
    TooLong {
        /// What the duration is, e.g. `the clock skew`.
        input: &'static str,
        /// The bound, e.g. `7 days`.
        max: &'static str,
    },
    /// `expires in …` counted from `now` ends after 9999-12-31.
    #[error(
        "the lifetime `expires in {lifetime}` counted from {now} ends after {LATEST_TEXT}, the latest expiration a policy can state"
    )]
    Lifetime {
        /// The lifetime as the DSL writes it, e.g. `99999999999d`.
        lifetime: String,
        /// The moment it is counted from (a valid timestamp).
        now: String,
    },
}

impl TimeRangeError {
    /// The stable code, `TIME_OUT_OF_RANGE`, for every variant.
    pub fn code(&self) -> &'static str {
        "TIME_OUT_OF_RANGE"
    }

    /// The earliest instant a policy can state, 0000-01-01T00:00:00Z: one
    /// before it is this error. Public so that callers (tests, bindings) can
    /// probe the edge without writing the date again.
    pub fn earliest() -> DateTime<Utc> {
        earliest()
    }

    /// The latest instant a policy can state, 9999-12-31T23:59:59.999Z:
    /// one after it is this error (see [`TimeRangeError::earliest`]).
    pub fn latest() -> DateTime<Utc> {
        latest()
    }
}

impl miette::Diagnostic for TimeRangeError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code()))
    }
}

/// `now` when a policy can state it, else the error naming it.
///
/// Signing reports this error itself; verification, `explain` and lint
/// answer in their own terms (a 500 `InternalError` rejection, a
/// diagnostic). The bindings check the clock they read with this first, so
/// that every language reports a bad `now` the same way.
pub fn check_now(now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeRangeError> {
    check_instant(now, "`now`")
}

/// `at` when it is within [`earliest`]..=[`latest`]; `input` names it in the error.
pub(crate) fn check_instant(
    at: DateTime<Utc>,
    input: &'static str,
) -> Result<DateTime<Utc>, TimeRangeError> {
    if at > latest() {
        Err(TimeRangeError::Instant { input, after: true })
    } else if at < earliest() {
        Err(TimeRangeError::Instant {
            input,
            after: false,
        })
    } else {
        Ok(at)
    }
}

/// `span` when it is within `0..=max`; `input` and `max_text` name the input
/// and the bound in the error.
pub(crate) fn check_span(
    span: TimeDelta,
    max: TimeDelta,
    input: &'static str,
    max_text: &'static str,
) -> Result<TimeDelta, TimeRangeError> {
    if span < TimeDelta::zero() {
        Err(TimeRangeError::Negative { input })
    } else if span > max {
        Err(TimeRangeError::TooLong {
            input,
            max: max_text,
        })
    } else {
        Ok(span)
    }
}

/// `now` plus a lifetime in seconds, when the result can be stated.
pub(crate) fn after_lifetime(
    now: DateTime<Utc>,
    seconds: u64,
) -> Result<DateTime<Utc>, TimeRangeError> {
    let now = check_instant(now, "`now`")?;
    i64::try_from(seconds)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .and_then(|d| now.checked_add_signed(d))
        .filter(|at| *at <= latest())
        .ok_or_else(|| TimeRangeError::Lifetime {
            lifetime: crate::dsl::format_duration(seconds),
            now: crate::wire::format_timestamp(now),
        })
}

/// `at + span`, or `None` past chrono's calendar: comparisons treat that as
/// later than any instant (the operands are checked, so it does not happen).
pub(crate) fn later_by(at: DateTime<Utc>, span: TimeDelta) -> Option<DateTime<Utc>> {
    at.checked_add_signed(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_print_with_four_digit_years() {
        assert_eq!(crate::wire::format_timestamp(earliest()), EARLIEST_TEXT);
        assert_eq!(crate::wire::format_timestamp(latest()), LATEST_TEXT);
    }

    #[test]
    fn instants_outside_the_range_are_errors() {
        let past_end = latest() + TimeDelta::milliseconds(1);
        assert_eq!(
            check_instant(past_end, "`now`"),
            Err(TimeRangeError::Instant {
                input: "`now`",
                after: true
            })
        );
        let before = earliest() - TimeDelta::seconds(1);
        assert!(check_instant(before, "`now`").is_err());
        assert_eq!(check_instant(latest(), "`now`"), Ok(latest()));
        assert_eq!(check_instant(earliest(), "`now`"), Ok(earliest()));
        assert!(check_instant(DateTime::<Utc>::MAX_UTC, "`now`").is_err());
        assert!(check_instant(DateTime::<Utc>::MIN_UTC, "`now`").is_err());
    }

    #[test]
    fn lifetimes_are_checked() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(after_lifetime(now, 3600).is_ok());
        let error = after_lifetime(now, 99_999_999_999 * 86_400).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the lifetime `expires in 99999999999d` counted from 2027-01-15T08:00:00.000Z ends after 9999-12-31T23:59:59.999Z, the latest expiration a policy can state"
        );
        assert!(after_lifetime(now, u64::MAX).is_err());
        assert!(after_lifetime(latest(), 1).is_err());
        assert!(after_lifetime(DateTime::<Utc>::MAX_UTC, 0).is_err());
    }

    #[test]
    fn spans_are_checked() {
        let day = TimeDelta::days(1);
        assert_eq!(check_span(day, day, "x", "1 day"), Ok(day));
        assert_eq!(
            check_span(-TimeDelta::seconds(1), day, "the clock skew", "1 day"),
            Err(TimeRangeError::Negative {
                input: "the clock skew"
            })
        );
        assert_eq!(
            check_span(TimeDelta::MAX, day, "the clock skew", "1 day")
                .unwrap_err()
                .to_string(),
            "the clock skew is longer than 1 day, the most it may be"
        );
    }
}
