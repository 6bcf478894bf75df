//! Judges one submitted S3 form with `S3Verifier` and prints the verdict as
//! JSON. Used by the Garage interop tests to compare our verdict with the
//! server's.
//!
//! Input (stdin):
//! ```json
//! {"bucket": "uploads", "region": "garage", "keys": {"GK…": "secret"},
//!  "fields": [["key", "a/${filename}"], ["policy", "…"], …],
//!  "file": {"filename": "cat.png", "size": 10, "content_type": "image/png"},
//!  "now": "2026-01-01T00:00:00Z", "max_date_age_hours": 24}
//! ```
//! (`now` defaults to the system clock, `max_date_age_hours` to none.)
//!
//! Output: `{"accepted": true, "key": …, "status": …}` or
//! `{"accepted": false, "status": …, "code": …, "message": …,
//!   "condition_index": …, "reason": …}`.

use std::collections::HashMap;
use std::io::Read as _;
use std::process::ExitCode;

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::{FileInfo, S3Verifier, Submission};
use serde_json::{Value, json};

fn main() -> ExitCode {
    match run() {
        Ok(verdict) => {
            println!("{verdict}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("s3_verify: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<Value, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let input: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let str_of = |v: &Value, name: &str| -> Result<String, String> {
        v.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("`{name}` must be a string"))
    };
    let keys: HashMap<String, String> = input
        .get("keys")
        .and_then(Value::as_object)
        .ok_or("`keys` must be an object")?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect();
    let mut verifier =
        S3Verifier::new(&str_of(&input, "bucket")?, &str_of(&input, "region")?, keys);
    if let Some(hours) = input.get("max_date_age_hours").and_then(Value::as_i64) {
        let age = TimeDelta::try_hours(hours).ok_or("`max_date_age_hours` is out of range")?;
        verifier = verifier
            .with_max_date_age(Some(age))
            .map_err(|e| e.to_string())?;
    }
    let pairs = |name: &str| -> Result<Vec<(String, String)>, String> {
        let Some(list) = input.get(name) else {
            return Ok(Vec::new());
        };
        list.as_array()
            .ok_or_else(|| format!("`{name}` must be a list of [name, value]"))?
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(n), Value::String(v)]) => Ok((n.clone(), v.clone())),
                _ => Err(format!("`{name}` must be a list of [name, value]")),
            })
            .collect()
    };
    let file = match input.get("file") {
        Some(Value::Object(file)) => Some(FileInfo {
            filename: file
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            content_type: file
                .get("content_type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            size: file.get("size").and_then(Value::as_u64),
        }),
        _ => None,
    };
    let submission = Submission {
        fields: pairs("fields")?,
        fields_after_file: pairs("fields_after_file")?,
        file,
    };
    let now = match input.get("now").and_then(Value::as_str) {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("`now` `{text}`: {e}"))?
            .with_timezone(&Utc),
        None => {
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?;
            let secs = i64::try_from(since.as_secs()).map_err(|e| e.to_string())?;
            DateTime::from_timestamp(secs, 0).ok_or("the clock is out of range")?
        }
    };
    Ok(match verifier.verify(&submission, now) {
        Ok(accepted) => json!({
            "accepted": true,
            "key": accepted.key,
            "status": accepted.status,
            "content_type": accepted.content_type,
            "size_limit": [accepted.size_limit.min, accepted.size_limit.max],
        }),
        Err(rejected) => json!({
            "accepted": false,
            "status": rejected.status,
            "code": rejected.service_code,
            "message": rejected.message,
            "condition_index": rejected.condition_index,
            "reason": rejected.reason,
        }),
    })
}
