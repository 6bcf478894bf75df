//! `postpolicy decode BASE64|-`: a policy form field as DSL and JSON, with its
//! expiry in absolute and relative time.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{Exit, Failure, Format, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The base64 `policy` field, or `-` to read it from standard input.
    policy: String,
    /// `human` or `json`.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub(crate) fn run(args: &Args) -> Outcome {
    let text = if args.policy == "-" {
        crate::read_arg(&"-".into())?
    } else {
        args.policy.clone()
    };
    let encoded: String = text.split_whitespace().collect();
    let policy_json = postpolicy::Policy::json_from_base64(&encoded)
        .map_err(|e| Failure(format!("{} ({})", e.reason(), e.service_message())))?;
    let policy = postpolicy::Policy::from_json(&policy_json)
        .map_err(|e| Failure(format!("{} ({})", e.reason(), e.service_message())))?;
    let now = Utc::now();
    // Policy JSON states a four-digit year, so the expiration always resolves.
    let expires_at = policy.expiration.and_then(|e| e.resolve(now).ok());
    let pretty = serde_json::from_str::<serde_json::Value>(&policy_json)
        .map(|v| format!("{v:#}"))
        .unwrap_or_else(|_| policy_json.clone());
    match args.format {
        Format::Json => {
            let report = json!({
                "dsl": policy.to_dsl(),
                "json": policy_json,
                "expires_at": expires_at.map(postpolicy::format_timestamp),
                "expires_in_seconds": expires_at.map(|at| (at - now).num_seconds()),
                "expired": expires_at.is_some_and(|at| at <= now),
            });
            println!("{report:#}");
        }
        Format::Human => {
            match expires_at {
                Some(at) => println!(
                    "expires {} ({})",
                    postpolicy::format_timestamp(at),
                    relative(at, now)
                ),
                None => println!("expires: not set"),
            }
            println!("\n# DSL\n{}", policy.to_dsl());
            println!("# JSON (as signed)\n{pretty}");
        }
    }
    Ok(Exit::Ok)
}

/// `in 1h 5m` / `expired 3d 2h ago`.
pub(crate) fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (at - now).num_seconds();
    let span = human_duration(seconds.unsigned_abs());
    if seconds > 0 {
        format!("in {span}")
    } else {
        format!("expired {span} ago")
    }
}

fn human_duration(mut seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            parts.push(format!("{}{unit}", seconds / size));
            seconds %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = DateTime::UNIX_EPOCH;
        assert_eq!(
            relative(now + chrono::TimeDelta::seconds(3_900), now),
            "in 1h 5m"
        );
        assert_eq!(
            relative(now - chrono::TimeDelta::seconds(3 * 86_400 + 7_300), now),
            "expired 3d 2h ago"
        );
        assert_eq!(relative(now, now), "expired 0s ago");
    }
}
