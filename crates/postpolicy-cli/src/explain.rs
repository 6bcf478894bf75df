//! `postpolicy explain --policy … --form …`: the verifier's report on a
//! captured form, every failing condition with the value sent and what was
//! expected.

use std::path::PathBuf;

use chrono::Utc;
use postpolicy::{Policy, Submission};
use serde_json::json;

use crate::input::{Parsed, parse_policy};
use crate::{Exit, Failure, Format, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The policy: a base64 `policy` field, or a file with DSL, JSON or base64.
    /// Defaults to the form's own `policy` field.
    #[arg(long)]
    policy: Option<String>,
    /// The captured form: `name: value` lines (as browser developer tools
    /// show them) or a raw multipart/form-data body.
    #[arg(long)]
    form: PathBuf,
    /// The bucket the form was posted to (judges `bucket` conditions).
    #[arg(long)]
    bucket: Option<String>,
    /// Also check the signature as the service would, with the credentials in
    /// the environment, for `--bucket` in this region.
    #[arg(long, requires = "bucket")]
    region: Option<String>,
    /// The file's size in bytes, when the capture does not hold the file.
    #[arg(long)]
    file_size: Option<u64>,
    /// `human` or `json`.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

fn read_form(args: &Args) -> Result<Submission, Failure> {
    let bytes = std::fs::read(&args.form)
        .map_err(|e| Failure(format!("cannot read {}: {e}", args.form.display())))?;
    if bytes.starts_with(b"--") {
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let mut submission =
            runtime.block_on(postpolicy_server::form::parse_multipart(bytes, None))?;
        if let (Some(size), Some(file)) = (args.file_size, submission.file.as_mut()) {
            file.size = Some(size);
        }
        Ok(submission)
    } else {
        let text = String::from_utf8_lossy(&bytes);
        Ok(postpolicy_server::form::parse_lines(&text, args.file_size))
    }
}

fn read_policy(arg: &str) -> Result<Policy, Failure> {
    let text = if crate::input::looks_like_base64(arg.trim()) {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg).map_err(|e| Failure(format!("cannot read {arg}: {e}")))?
    };
    match parse_policy(&text) {
        Parsed::Policy(policy) => Ok(policy),
        Parsed::Syntax(errors) => Err(Failure(format!("{arg}: {errors}"))),
        Parsed::Invalid(reason) => Err(Failure(format!("{arg}: {reason}"))),
    }
}

pub(crate) fn run(args: &Args) -> Outcome {
    let submission = read_form(args)?;
    let policy = match (&args.policy, submission.field("policy")) {
        (Some(arg), _) => read_policy(arg)?,
        (None, Some(field)) => read_policy(field)?,
        (None, None) => {
            return Err(Failure(
                "the form has no `policy` field; pass the policy with --policy".to_owned(),
            ));
        }
    };
    let now = Utc::now();
    let signature = match (&args.region, &args.bucket) {
        (Some(_), _) if submission.field("x-goog-algorithm").is_some() => {
            return Err(Failure(
                "--region checks OSS signatures; this is a GCS form (x-goog-* fields)".to_owned(),
            ));
        }
        (Some(region), Some(bucket)) => Some(verify_signature(&submission, bucket, region, now)?),
        _ => None,
    };
    // Only the policy is judged here: no key is asked for.
    let no_keys = |_: &str| None;
    // A form with x-goog-* fields is a Google Cloud Storage form.
    let gcs = ["x-goog-algorithm", "x-goog-credential", "x-goog-signature"]
        .iter()
        .any(|name| submission.field(name).is_some());
    let service = if gcs { "GCS" } else { "OSS" };
    let mut failures =
        match (&args.bucket, gcs) {
            (Some(bucket), true) => {
                postpolicy::GcsVerifier::new(bucket, no_keys).explain(&policy, &submission, now)
            }
            (None, true) => {
                postpolicy::GcsVerifier::for_any_bucket(no_keys).explain(&policy, &submission, now)
            }
            (Some(bucket), false) => postpolicy::Verifier::new(bucket, "cn-hangzhou", no_keys)
                .explain(&policy, &submission, now),
            (None, false) => postpolicy::Verifier::for_any_bucket("cn-hangzhou", no_keys).explain(
                &policy,
                &submission,
                now,
            ),
        };
    // A signature problem (which explain cannot see) comes first.
    if let Some(Err(rejected)) = &signature
        && !failures.iter().any(|f| f == rejected)
    {
        failures.insert(0, rejected.clone());
    }
    match args.format {
        Format::Json => {
            let items: Vec<serde_json::Value> = failures
                .iter()
                .map(|r| {
                    json!({
                        "status": r.status, "code": r.service_code, "message": r.message,
                        "condition_index": r.condition_index, "reason": r.reason,
                    })
                })
                .collect();
            let report = json!({
                "accepted": failures.is_empty(),
                "signature_checked": signature.is_some(),
                "failures": items,
            });
            println!("{report:#}");
        }
        Format::Human => {
            if failures.is_empty() {
                println!(
                    "The form satisfies the policy: {service} would accept it (signature not checked)."
                );
            } else {
                println!(
                    "{service} would reject this form; {} problem(s):",
                    failures.len()
                );
                for r in &failures {
                    let at = r
                        .condition_index
                        .map(|i| format!(" (condition {i})"))
                        .unwrap_or_default();
                    println!("\n✗ {} {}{at}", r.status, r.service_code);
                    println!("  why:     {}", r.reason);
                    println!("  message: {}", r.message);
                }
            }
        }
    }
    Ok(if failures.is_empty() {
        Exit::Ok
    } else {
        Exit::Warnings
    })
}

/// The verifier's verdict on the whole form (signature included), with the
/// credentials from the environment.
fn verify_signature(
    submission: &Submission,
    bucket: &str,
    region: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Result<(), postpolicy::Rejected>, Failure> {
    let credentials = postpolicy::Credentials::from_env().ok_or_else(|| {
        Failure(
            "--region checks the signature: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET"
                .to_owned(),
        )
    })??;
    let id = credentials.access_key_id().to_owned();
    let secret = credentials.secret().expose().to_owned();
    let keys = move |key_id: &str| (key_id == id).then(|| secret.clone());
    let verifier = postpolicy::Verifier::new(bucket, region, keys);
    Ok(verifier.verify(submission, now).map(|_| ()))
}
