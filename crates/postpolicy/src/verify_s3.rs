//! Judging a submitted S3 presigned POST form the way S3 does, and saying why
//! not.
//!
//! S3's rules differ from OSS's (see [`crate::verify`]):
//! - every form field before the file must be covered by a condition, except
//!   `policy`, `x-amz-signature`, `file` and `x-ignore-*` names;
//! - `${filename}` in `key` is expanded *before* the key is checked;
//! - `starts-with` on `Content-Type` with a comma-separated value must hold
//!   for every item;
//! - several `content-length-range` conditions intersect;
//! - only `eq`, `starts-with` and `content-length-range` exist;
//! - the object's Content-Type is the `Content-Type` form field.
//!
//! Field names are case-insensitive, values byte-exact. Rejections carry S3's
//! error codes and messages, the failing condition's index and a reason.

use chrono::{DateTime, TimeDelta, Utc};

use crate::policy::{ByteRange, Condition, MAX_FORM_UPLOAD_BYTES, Policy};
use crate::rules::{self, Dialect};
use crate::sign::KeyIdCache;
use crate::sign::oss_v4::verify_v4;
use crate::sign::s3_v4::{ALGORITHM, SERVICE, TERMINATOR, signing_key_s3};
use crate::time::{self, TimeRangeError};
use crate::verify::{
    Accepted, KeyStore, Rejected, Submission, check_now, check_policy_expiry, check_size_cap,
    credential_key_id, decode_policy, lookup_secret, parse_x_oss_date, quoted_list, range_failure,
    signature_mismatch, stored_metadata, success_status,
};
use crate::wire;

const EXTRA_FIELDS: &str = "Invalid according to Policy: Extra input fields: ";
const UNKNOWN_KEY_ID: &str = "The AWS Access Key Id you provided does not exist in our records.";
const ONE_FILE: &str = "POST requires exactly one file upload per request.";
const DATE_FORMAT: &str = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"";

/// Verifies S3 presigned POST forms posted to one bucket.
pub struct S3Verifier {
    bucket: String,
    region: String,
    keys: Box<dyn KeyStore>,
    max_date_age: Option<TimeDelta>,
    allow_anonymous: bool,
    /// Derived keys by access key id: (day, secret, keyed MAC).
    derived: KeyIdCache,
}

impl std::fmt::Debug for S3Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Verifier")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("max_date_age", &self.max_date_age)
            .field("allow_anonymous", &self.allow_anonymous)
            .finish_non_exhaustive()
    }
}

/// The SigV4 fields of a form.
struct Auth<'a> {
    credential: &'a str,
    date: &'a str,
    policy: &'a str,
    signature: &'a str,
}

impl S3Verifier {
    /// The largest maximum date age [`S3Verifier::with_max_date_age`]
    /// accepts (ten years).
    pub const MAX_DATE_AGE: TimeDelta = time::MAX_DATE_AGE;

    /// A verifier for `bucket` in `region` (`us-east-1`, `garage`, …).
    pub fn new(bucket: &str, region: &str, keys: impl KeyStore + 'static) -> Self {
        Self {
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            keys: Box::new(keys),
            max_date_age: None,
            allow_anonymous: false,
            derived: KeyIdCache::default(),
        }
    }

    /// Refuse forms whose `x-amz-date` is older than `age`, whatever the
    /// policy's expiration says. S3 itself goes by the expiration only (the
    /// default); Garage refuses dates older than 24 hours.
    ///
    /// The age is from zero to [`S3Verifier::MAX_DATE_AGE`];
    /// anything else is an error.
    pub fn with_max_date_age(mut self, age: Option<TimeDelta>) -> Result<Self, TimeRangeError> {
        self.max_date_age = age
            .map(|age| {
                time::check_span(age, time::MAX_DATE_AGE, "the maximum date age", "3650 days")
            })
            .transpose()?;
        Ok(self)
    }

    /// Accept unsigned forms, as a bucket with a public-write policy does.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = allow;
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The access key id the form names: the first part of
    /// `X-Amz-Credential`, `None` for an unsigned form or a credential that
    /// has not the five parts of a SigV4 scope.
    ///
    /// For key stores that cannot answer inside [`S3Verifier::verify`] (an
    /// asynchronous fetch, a host-language callback): ask your store for this
    /// id, then verify once with [`S3Verifier::verify_with`] and a store
    /// holding it. The form may still be refused for another reason.
    pub fn key_id<'a>(&self, submission: &'a Submission) -> Option<&'a str> {
        credential_key_id(submission.field("x-amz-credential")?)
    }

    /// Accepts or rejects `submission` as S3 would at `now`.
    pub fn verify(
        &self,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> Result<Accepted, Rejected> {
        self.verify_with(submission, &*self.keys, now)
    }

    /// [`S3Verifier::verify`] with `keys` in place of the verifier's own
    /// store for this one call (see [`S3Verifier::key_id`]).
    pub fn verify_with(
        &self,
        submission: &Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Accepted, Rejected> {
        let now = check_now(now)?;
        check_structure(submission)?;
        let (policy, access_key_id) = match auth(submission)? {
            None if self.allow_anonymous => (None, None),
            None => {
                return Err(Rejected::new(
                    403,
                    "AccessDenied",
                    "Access Denied",
                    "the form carries no signature and the bucket does not accept anonymous uploads",
                ));
            }
            Some(auth) => {
                let access_key_id = self.check_signature(keys, &auth, now)?;
                (Some(decode_s3_policy(auth.policy)?), Some(access_key_id))
            }
        };
        let size_limit = match &policy {
            Some(policy) => {
                check_policy_expiry(policy, now)?;
                let mut outcome = Outcome::default();
                self.evaluate(policy, submission, &mut outcome, true);
                if let Some(first) = outcome.failures.into_iter().next() {
                    return Err(first);
                }
                outcome.size_limit
            }
            None => ByteRange {
                min: 0,
                max: MAX_FORM_UPLOAD_BYTES,
            },
        };
        check_size_cap(submission)?;
        Ok(accepted(
            submission,
            size_limit,
            access_key_id.map(str::to_owned),
        ))
    }

    /// Every reason `policy` would reject `submission` at `now`, without
    /// checking a signature: for a policy you hold. Empty when it would pass.
    pub fn explain(
        &self,
        policy: &Policy,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> Vec<Rejected> {
        let now = match check_now(now) {
            Ok(now) => now,
            Err(r) => return vec![r],
        };
        let mut failures = Vec::new();
        if let Err(r) = check_structure(submission) {
            failures.push(r);
        }
        if let Err(r) = check_operators(policy) {
            failures.push(r);
        }
        if let Err(r) = check_policy_expiry(policy, now) {
            failures.push(r);
        }
        let mut outcome = Outcome::default();
        self.evaluate(policy, submission, &mut outcome, false);
        failures.append(&mut outcome.failures);
        if let Err(r) = check_size_cap(submission) {
            failures.push(r);
        }
        failures
    }

    /// Checks the credential scope, the date and the signature; returns the
    /// access key id.
    fn check_signature<'a>(
        &self,
        keys: &dyn KeyStore,
        auth: &Auth<'a>,
        now: DateTime<Utc>,
    ) -> Result<&'a str, Rejected> {
        let credential = auth.credential;
        let parts: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
            return Err(malformed(
                "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
                format!(
                    "x-amz-credential `{credential}` must have 5 parts: <AccessKeyId>/<yyyymmdd>/<region>/s3/aws4_request"
                ),
            ));
        };
        if *region != self.region {
            return Err(malformed(
                &format!(
                    "the region '{region}' is wrong; expecting '{}'",
                    self.region
                ),
                format!(
                    "x-amz-credential is scoped to region `{region}`, but the bucket is in `{}`",
                    self.region
                ),
            ));
        }
        if *service != SERVICE {
            return Err(malformed(
                &format!("incorrect service '{service}'. This endpoint belongs to '{SERVICE}'."),
                format!("x-amz-credential names the service `{service}`, expected `{SERVICE}`"),
            ));
        }
        if *terminator != TERMINATOR {
            return Err(malformed(
                &format!("incorrect terminal '{terminator}'. This endpoint uses '{TERMINATOR}'."),
                format!("x-amz-credential ends with `{terminator}`, expected `{TERMINATOR}`"),
            ));
        }
        let signed_at = parse_x_oss_date(auth.date).ok_or_else(|| {
            Rejected::new(
                400,
                "InvalidArgument",
                DATE_FORMAT,
                format!(
                    "x-amz-date `{}` is not in the form yyyymmddTHHMMSSZ",
                    auth.date
                ),
            )
        })?;
        if auth.date.get(..8) != Some(*date) {
            return Err(malformed(
                "Invalid credential date. Date is not the same as X-Amz-Date.",
                format!(
                    "x-amz-credential date `{date}` is not the day of x-amz-date `{}`",
                    auth.date
                ),
            ));
        }
        let secret = lookup_secret(keys, access_key_id, UNKNOWN_KEY_ID)?;
        if let Some(max_age) = self.max_date_age
            && time::later_by(signed_at, max_age).is_some_and(|end| now > end)
        {
            return Err(Rejected::new(
                403,
                "AccessDenied",
                "Request has expired",
                format!(
                    "x-amz-date {} is more than {} hours before the server clock {}",
                    wire::format_timestamp(signed_at),
                    max_age.num_hours(),
                    wire::format_timestamp(now)
                ),
            ));
        }
        let mac = self.derived.mac_for(access_key_id, &secret, date, || {
            signing_key_s3(&secret, date, &self.region)
        });
        if !verify_v4(mac, auth.policy, auth.signature) {
            return Err(signature_mismatch(format!(
                "x-amz-signature does not match the policy signed with the secret of `{access_key_id}` for {date}/{region}/{SERVICE}"
            )));
        }
        Ok(access_key_id)
    }

    /// Evaluates the conditions in order, then the uncovered fields, then the
    /// file size against the intersection of every `content-length-range`.
    fn evaluate(
        &self,
        policy: &Policy,
        submission: &Submission,
        outcome: &mut Outcome,
        first_only: bool,
    ) {
        let key = expanded_key(submission);
        let mut size_limit = ByteRange {
            min: 0,
            max: MAX_FORM_UPLOAD_BYTES,
        };
        for (index, condition) in policy.conditions.iter().enumerate() {
            if first_only && !outcome.failures.is_empty() {
                return;
            }
            if let Condition::ContentLengthRange(range) = condition {
                size_limit.min = size_limit.min.max(range.min);
                size_limit.max = size_limit.max.min(range.max);
            } else if let Some(rejected) =
                self.condition_failure(condition, submission, key.as_deref())
            {
                outcome.failures.push(rejected.at(index));
            }
        }
        if first_only && !outcome.failures.is_empty() {
            return;
        }
        let extra = uncovered_fields(policy, submission);
        if !extra.is_empty() {
            outcome.failures.push(Rejected::new(
                403,
                "AccessDenied",
                format!("{EXTRA_FIELDS}{}", extra.join(", ")),
                format!(
                    "the form sends {} that no policy condition covers; S3 requires a condition for every field before the file except policy, x-amz-signature and x-ignore-* names",
                    quoted_list(&extra)
                ),
            ));
        }
        if let Some(size) = submission.file.as_ref().and_then(|f| f.size) {
            for (index, condition) in policy.conditions.iter().enumerate() {
                if first_only && !outcome.failures.is_empty() {
                    break;
                }
                if let Condition::ContentLengthRange(range) = condition
                    && let Some(rejected) = range_failure(range, size)
                {
                    outcome.failures.push(rejected.at(index));
                }
            }
        }
        outcome.size_limit = size_limit;
    }

    fn condition_failure(
        &self,
        condition: &Condition,
        submission: &Submission,
        expanded_key: Option<&str>,
    ) -> Option<Rejected> {
        let field = condition.field()?;
        let name = field.name();
        let is_content_type = field.is("content-type");
        let sent = if field.is("bucket") {
            Some(self.bucket.as_str())
        } else if field.is("key") {
            expanded_key
        } else {
            submission.field(name)
        };
        let holds = match (condition, sent) {
            (_, None) => false,
            (Condition::Eq { value, .. }, Some(v)) => v == value,
            (Condition::StartsWith { prefix, .. }, Some(v)) if is_content_type => {
                v.split(',').all(|item| item.starts_with(prefix.as_str()))
            }
            (Condition::StartsWith { prefix, .. }, Some(v)) => v.starts_with(prefix.as_str()),
            // Refused when the policy is decoded; never reached from verify.
            (Condition::In { .. } | Condition::NotIn { .. }, Some(_)) => false,
            (Condition::ContentLengthRange(_), Some(_)) => true,
        };
        if holds {
            return None;
        }
        let failure = rules::condition_failed(condition);
        let reason = match (condition, sent) {
            (_, None) => rules::missing_reason(condition, Dialect::S3),
            (Condition::Eq { value, .. }, Some(v)) if field.is("bucket") => {
                format!("the policy is for bucket `{value}`, but the upload targets bucket `{v}`")
            }
            (Condition::Eq { .. } | Condition::StartsWith { .. }, Some(v)) => {
                let bad = if is_content_type {
                    v.split(',')
                        .find(|item| match condition {
                            Condition::StartsWith { prefix, .. } => {
                                !item.starts_with(prefix.as_str())
                            }
                            _ => false,
                        })
                        .unwrap_or(v)
                } else {
                    v
                };
                if bad == v {
                    let raw = field.is("key").then(|| submission.field("key")).flatten();
                    let hint = rules::hint(condition, v, raw);
                    failure.reason.render(&[("value", v), ("hint", hint)])
                } else {
                    rules::list_item_reason(condition, v, bad)
                }
            }
            (condition, Some(_)) => format!(
                "`{}` conditions are OSS-only; S3 does not know them",
                condition.operator()
            ),
        };
        Some(Rejected::new(
            failure.status,
            failure.code,
            failure.message,
            reason,
        ))
    }
}

#[derive(Default)]
struct Outcome {
    failures: Vec<Rejected>,
    size_limit: ByteRange,
}

fn malformed(detail: &str, reason: String) -> Rejected {
    Rejected::new(
        400,
        "AuthorizationHeaderMalformed",
        format!("The authorization header is malformed; {detail}"),
        reason,
    )
}

/// `key` with `${filename}` replaced by the file's name (when it has one).
fn expanded_key(submission: &Submission) -> Option<String> {
    let key = submission.field("key")?;
    let filename = submission
        .file
        .as_ref()
        .map(|f| f.filename.as_str())
        .filter(|f| !f.is_empty());
    Some(match filename {
        Some(filename) => key.replace("${filename}", filename),
        None => key.to_owned(),
    })
}

/// Fields before the file that no condition names (S3's "Extra input
/// fields"), in form order, lower case.
fn uncovered_fields(policy: &Policy, submission: &Submission) -> Vec<String> {
    let mut extra: Vec<String> = Vec::new();
    for (name, _) in &submission.fields {
        let lower = name.to_ascii_lowercase();
        let exempt = matches!(lower.as_str(), "policy" | "x-amz-signature" | "file")
            || lower.starts_with("x-ignore-");
        let covered = policy
            .conditions
            .iter()
            .any(|c| c.field().is_some_and(|f| f.is(&lower)));
        if !exempt && !covered && !extra.contains(&lower) {
            extra.push(lower);
        }
    }
    extra
}

fn check_structure(submission: &Submission) -> Result<(), Rejected> {
    if submission.file.is_none() {
        return Err(Rejected::new(
            400,
            "InvalidArgument",
            ONE_FILE,
            "the form has no file part (it must be the last field, named `file`)",
        ));
    }
    if submission.field("key").is_none() {
        let after = submission
            .fields_after_file
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("key"));
        let failure = rules::key_required(Dialect::S3);
        let reason = if after {
            "the `key` field comes after the file part; fields after the file are ignored, so put `key` before it".to_owned()
        } else {
            failure.reason.render(&[])
        };
        return Err(Rejected::new(
            failure.status,
            failure.code,
            failure.message,
            reason,
        ));
    }
    for (i, (name, _)) in submission.fields.iter().enumerate() {
        let again = submission
            .fields
            .iter()
            .skip(i + 1)
            .any(|(n, _)| n.eq_ignore_ascii_case(name));
        if again {
            return Err(Rejected::new(
                400,
                "InvalidArgument",
                format!("POST form field '{name}' appears more than once."),
                format!(
                    "the form sends `{name}` more than once (names are case-insensitive); send each field once"
                ),
            ));
        }
    }
    Ok(())
}

fn missing_field(name: &str, reason: &str) -> Rejected {
    Rejected::new(
        400,
        "InvalidArgument",
        format!(
            "Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."
        ),
        reason,
    )
}

/// The SigV4 fields, `None` for an unsigned form.
fn auth(submission: &Submission) -> Result<Option<Auth<'_>>, Rejected> {
    let get = |name: &str| submission.field(name);
    let legacy = get("x-amz-algorithm").is_none()
        && (get("AWSAccessKeyId").is_some() || get("signature").is_some());
    if legacy {
        return Err(Rejected::new(
            400,
            "InvalidArgument",
            "Only AWS4-HMAC-SHA256 (Signature Version 4) POST forms are supported.",
            "the form uses the legacy AWSAccessKeyId/signature (Signature Version 2) fields; sign with SigV4",
        ));
    }
    let signed = [
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-signature",
        "policy",
    ]
    .iter()
    .any(|n| get(n).is_some());
    if !signed {
        return Ok(None);
    }
    let need = |name: &'static str| {
        get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            missing_field(
                name,
                &format!("a SigV4 form needs a non-empty `{name}` field"),
            )
        })
    };
    let algorithm = need("x-amz-algorithm")?;
    if algorithm != ALGORITHM {
        return Err(Rejected::new(
            400,
            "InvalidArgument",
            format!("Unsupported x-amz-algorithm: {algorithm}"),
            format!("x-amz-algorithm is `{algorithm}`, expected `{ALGORITHM}`"),
        ));
    }
    Ok(Some(Auth {
        credential: need("x-amz-credential")?,
        date: need("x-amz-date")?,
        policy: need("policy")?,
        signature: need("x-amz-signature")?,
    }))
}

fn decode_s3_policy(policy_b64: &str) -> Result<Policy, Rejected> {
    let policy = decode_policy(policy_b64)?;
    check_operators(&policy)?;
    Ok(policy)
}

/// S3 has no `in` / `not-in`.
fn check_operators(policy: &Policy) -> Result<(), Rejected> {
    for (index, condition) in policy.conditions.iter().enumerate() {
        if matches!(condition, Condition::In { .. } | Condition::NotIn { .. }) {
            return Err(Rejected::new(
                400,
                "InvalidPolicyDocument",
                format!(
                    "Invalid Policy: Invalid Condition: unknown operator '{}'",
                    condition.operator()
                ),
                format!(
                    "condition {index} uses `{}`, which only OSS supports; S3 knows eq, starts-with and content-length-range",
                    condition.operator()
                ),
            )
            .at(index));
        }
    }
    Ok(())
}

/// Builds the success outcome: key expansion, status, redirect, metadata.
fn accepted(
    submission: &Submission,
    size_limit: ByteRange,
    access_key_id: Option<String>,
) -> Accepted {
    let key = expanded_key(submission).unwrap_or_default();
    let status = success_status(submission);
    let redirect = submission
        .field("success_action_redirect")
        .or_else(|| submission.field("redirect"))
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let content_type = submission
        .field("Content-Type")
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    const STORED: [&str; 10] = [
        "acl",
        "cache-control",
        "content-disposition",
        "content-encoding",
        "expires",
        "tagging",
        "x-amz-storage-class",
        "x-amz-server-side-encryption",
        "x-amz-website-redirect-location",
        "x-amz-object-lock-mode",
    ];
    let metadata = stored_metadata(submission, "x-amz-meta-", &STORED);
    Accepted {
        key,
        status,
        redirect,
        content_type,
        metadata,
        size_limit,
        access_key_id,
    }
}
