//! Conversions between Python values and core types that several classes
//! share: instants, durations, field lists, the file part.

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::FileInfo;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyDelta, PyDict, PyMapping, PyString, PyTzInfo, PyTzInfoAccess};

use crate::errors;
use crate::verify::PyFileInfo;

/// The current time. The core never reads the clock; the binding does when
/// `now` is `None`.
pub fn utc_now() -> DateTime<Utc> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, since_epoch.subsec_nanos()))
        .unwrap_or_default()
}

/// `now` as given (an aware datetime), or the current time when `None`.
pub fn now_or_clock(now: Option<&Bound<'_, PyAny>>) -> PyResult<DateTime<Utc>> {
    match now {
        None => Ok(utc_now()),
        Some(value) if value.is_none() => Ok(utc_now()),
        // The core's range (years 0000 to 9999): a `now` in UTC past it
        // (9999-12-31 23:59 at UTC-23:00) is a `TimeRangeError`.
        Some(value) => postpolicy::check_now(instant(value, "now")?)
            .map_err(|e| errors::to_pyerr(value.py(), e)),
    }
}

/// An aware `datetime.datetime` as a UTC instant. Naive datetimes are refused:
/// treating them as local time would silently shift every expiration.
pub fn instant(value: &Bound<'_, PyAny>, what: &str) -> PyResult<DateTime<Utc>> {
    let py = value.py();
    let dt = value
        .cast::<PyDateTime>()
        .map_err(|_| errors::not_a_datetime(what, value))?;
    let Some(tzinfo) = dt.get_tzinfo() else {
        return Err(errors::naive_datetime(what));
    };
    let utc = PyTzInfo::utc(py)?;
    if tzinfo.is(&*utc) {
        return dt.extract::<DateTime<Utc>>();
    }
    // Python's rule: aware means `utcoffset()` is not None.
    if dt.call_method0(intern!(py, "utcoffset"))?.is_none() {
        return Err(errors::naive_datetime(what));
    }
    dt.call_method1(intern!(py, "astimezone"), (utc,))?
        .extract::<DateTime<Utc>>()
}

/// A UTC instant as an aware `datetime.datetime` (tzinfo `timezone.utc`).
pub fn to_datetime<'py>(py: Python<'py>, at: DateTime<Utc>) -> PyResult<Bound<'py, PyAny>> {
    Ok(at.into_pyobject(py)?.into_any())
}

/// A `timedelta` or a number of seconds as a duration.
pub fn duration(value: &Bound<'_, PyAny>, what: &str) -> PyResult<TimeDelta> {
    if value.is_instance_of::<PyDelta>() {
        // Every timedelta fits (±999999999 days < ±292 million years).
        return value.extract::<TimeDelta>();
    }
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(errors::not_a_duration(what, value));
    }
    if let Ok(seconds) = value.extract::<i64>() {
        return TimeDelta::try_seconds(seconds).ok_or_else(|| errors::duration_out_of_range(what));
    }
    if let Ok(seconds) = value.extract::<f64>() {
        let micros = (seconds * 1e6).round();
        // Bounds checked before the cast, so the cast cannot saturate silently.
        if !micros.is_finite() || micros.abs() > 9.0e18 {
            return Err(errors::duration_out_of_range(what));
        }
        return Ok(TimeDelta::microseconds(micros as i64));
    }
    Err(errors::not_a_duration(what, value))
}

/// Form fields: a dict, or any iterable of `(name, value)` pairs, in order.
pub fn pairs(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<(String, String)>> {
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut out = Vec::with_capacity(dict.len());
        for (index, (name, field)) in dict.iter().enumerate() {
            out.push(pair_of(&name, &field, what, index)?);
        }
        return Ok(out);
    }
    if value.is_instance_of::<pyo3::types::PyString>() {
        return Err(errors::not_a_pair(what, 0, value));
    }
    let mut out = Vec::new();
    for (index, item) in value.try_iter()?.enumerate() {
        let item = item?;
        let (name, field) = item
            .extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()
            .map_err(|_| errors::not_a_pair(what, index, &item))?;
        out.push(pair_of(&name, &field, what, index)?);
    }
    Ok(out)
}

fn pair_of(
    name: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
    what: &str,
    index: usize,
) -> PyResult<(String, String)> {
    let string = |v: &Bound<'_, PyAny>| -> PyResult<String> {
        if v.is_instance_of::<pyo3::types::PyString>() {
            // Lone surrogates raise UnicodeEncodeError here (a ValueError).
            v.extract::<String>()
        } else {
            Err(errors::not_a_pair(what, index, v))
        }
    };
    Ok((string(name)?, string(value)?))
}

/// DSL parameters: a mapping (a dict, or any `collections.abc.Mapping`) of
/// `str` to `str`; anything else is a `TypeError` naming the culprit.
pub fn string_mapping(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<(String, String)>> {
    let items = if let Ok(dict) = value.cast::<PyDict>() {
        dict.items()
    } else if let Ok(mapping) = value.cast::<PyMapping>() {
        mapping.items()?
    } else {
        return Err(errors::not_a_str_mapping(what, value));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items.iter() {
        let (key, val) = item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
        if !key.is_instance_of::<PyString>() {
            return Err(errors::mapping_key_not_str(what, &key));
        }
        if !val.is_instance_of::<PyString>() {
            return Err(errors::mapping_value_not_str(what, &key, &val));
        }
        // Lone surrogates raise UnicodeEncodeError here (a ValueError).
        out.push((key.extract()?, val.extract()?));
    }
    Ok(out)
}

/// A list (any iterable) of `str`, but not a `str` itself.
pub fn strings(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if value.is_instance_of::<PyString>() {
        return Err(errors::not_strings(what, value));
    }
    let Ok(items) = value.try_iter() else {
        return Err(errors::not_strings(what, value));
    };
    let mut out = Vec::new();
    for item in items {
        let item = item?;
        if !item.is_instance_of::<PyString>() {
            return Err(errors::not_strings(what, &item));
        }
        out.push(item.extract()?);
    }
    Ok(out)
}

/// The file part: a `FileInfo`, a dict with the same keys, or `None`.
pub fn file_info(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<FileInfo>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(file) = value.cast::<PyFileInfo>() {
        return Ok(Some(file.get().0.clone()));
    }
    let Ok(dict) = value.cast::<PyDict>() else {
        return Err(errors::not_a_file(value));
    };
    let py = value.py();
    let filename: String = dict
        .get_item(intern!(py, "filename"))?
        .ok_or_else(errors::file_without_name)?
        .extract()?;
    let content_type: Option<String> = match dict.get_item(intern!(py, "content_type"))? {
        Some(v) => v.extract()?,
        None => None,
    };
    let size: Option<u64> = match dict.get_item(intern!(py, "size"))? {
        Some(v) => v.extract()?,
        None => None,
    };
    Ok(Some(FileInfo {
        filename,
        content_type,
        size,
    }))
}
