//! Prints the signed S3 presigned POST form (the browser's JSON token) for a
//! DSL policy. Used by the Garage interop tests; handy by hand too.
//!
//! ```text
//! cargo run -p postpolicy --example s3_sign -- \
//!     --policy 'expires in 1h; key starts-with "user/42/"; content-length 1..10MiB' \
//!     --access-key-id AKID --secret SECRET --region us-east-1 --bucket photos \
//!     [--token STS_TOKEN] [--endpoint http://127.0.0.1:3900] [--path-style true|false] \
//!     [--key 'user/42/${filename}'] [--now 2026-01-01T00:00:00Z]
//! ```

use std::collections::HashMap;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use postpolicy::{Credentials, Policy, S3Signer, SignOptions};

fn main() -> ExitCode {
    match run() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("s3_sign: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, String> {
    let args = parse_args()?;
    let get = |name: &str| args.get(name).map(String::as_str);
    let need = |name: &str| get(name).ok_or_else(|| format!("--{name} is required"));

    let policy = Policy::parse(need("policy")?).map_err(|e| e.to_string())?;
    let credentials = Credentials::new(
        need("access-key-id")?,
        need("secret")?,
        get("token").map(str::to_owned),
    )
    .map_err(|e| e.to_string())?;
    let mut signer =
        S3Signer::new(credentials, need("region")?, need("bucket")?).map_err(|e| e.to_string())?;
    if let Some(endpoint) = get("endpoint") {
        signer = signer.with_endpoint(endpoint).map_err(|e| e.to_string())?;
    }
    if let Some(path_style) = get("path-style") {
        let path_style = path_style
            .parse::<bool>()
            .map_err(|_| format!("--path-style `{path_style}`: expected true or false"))?;
        signer = signer.with_path_style(path_style);
    }
    let mut options = SignOptions::default();
    if let Some(key) = get("key") {
        options = options.key(key);
    }
    let now = match get("now") {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("--now `{text}`: {e}"))?
            .with_timezone(&Utc),
        None => system_now()?,
    };
    let form = signer
        .sign_with(&policy, &options, now)
        .map_err(|e| e.to_string())?;
    Ok(form.to_json())
}

fn system_now() -> Result<DateTime<Utc>, String> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    let secs = i64::try_from(since.as_secs()).map_err(|e| e.to_string())?;
    DateTime::from_timestamp(secs, 0).ok_or_else(|| "the clock is out of range".to_owned())
}

fn parse_args() -> Result<HashMap<String, String>, String> {
    let mut args = HashMap::new();
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument `{flag}`"))?;
        let value = iter
            .next()
            .ok_or_else(|| format!("--{name} needs a value"))?;
        args.insert(name.to_owned(), value);
    }
    Ok(args)
}
