//! `now` as JS passes it: milliseconds since the epoch (`index.js` turns a
//! `Date` into `+date`); when it is absent the binding reads the clock (the
//! core never does).

use chrono::{DateTime, Utc};
use napi::bindgen_prelude::Env;
use napi::{Error, Result, Status};

use crate::errors::throw_from;

/// The current time, read by the binding.
fn clock() -> DateTime<Utc> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let millis = i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX);
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// `now` from milliseconds since the epoch, or the clock when absent.
pub(crate) fn from_millis(millis: Option<f64>) -> Result<DateTime<Utc>> {
    let Some(millis) = millis else {
        return Ok(clock());
    };
    if !millis.is_finite() {
        return Err(Error::new(
            Status::InvalidArg,
            "`now` must be a valid Date".to_owned(),
        ));
    }
    // `as` saturates; the range check below rejects what the calendar cannot hold.
    DateTime::from_timestamp_millis(millis.floor() as i64).ok_or_else(|| {
        Error::new(
            Status::InvalidArg,
            format!("`now` ({millis} ms) is outside the supported date range"),
        )
    })
}

/// [`from_millis`], also within the core's range of dates (years 0000 to
/// 9999): a `now` past it throws `TIME_OUT_OF_RANGE` naming `now`, for calls
/// whose core API reports no such error of its own (verify, explain, lint).
pub(crate) fn now_in_range(env: &Env, millis: Option<f64>) -> Result<DateTime<Utc>> {
    postpolicy::check_now(from_millis(millis)?).map_err(|e| throw_from(env, e))
}
