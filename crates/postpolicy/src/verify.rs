//! Judging a submitted upload form the way OSS does, and saying why not.
//!
//! OSS answers a rejected upload with a bare 403; this module plays the
//! service's part (see docs/oss.md#verification-order) and names the condition that failed, the value
//! that was sent and what was expected.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use crate::policy::{ByteRange, Condition, MAX_FORM_UPLOAD_BYTES, Policy};
use crate::policy_view::ConditionView;
use crate::rules::{self, Dialect};
use crate::sign::KeyIdCache;
use crate::sign::oss_v1::verify_v1;
use crate::sign::oss_v4::{self, ALGORITHM, CLOUDBOX_PRODUCT, PRODUCT, TERMINATOR, verify_v4};
use crate::time::{self, TimeRangeError};
use crate::wire;

/// Largest form-field name OSS accepts (8 KB).
const MAX_FIELD_NAME_BYTES: usize = 8 * 1024;
/// Largest form-field value OSS accepts (2 MB).
const MAX_FIELD_VALUE_BYTES: usize = 2 * 1024 * 1024;
/// Largest total of the values before the file part (8 MB).
const MAX_FIELDS_TOTAL_BYTES: usize = 8 * 1024 * 1024;
/// OSS tolerates an `x-oss-date` this far in the future.
const DEFAULT_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(15);
/// A V4 form is valid at most this long after its `x-oss-date`.
const MAX_V4_VALIDITY: TimeDelta = TimeDelta::days(7);

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
const MALFORMED: &str = "The body of your POST request is not well-formed multipart/form-data";
const POLICY_EXPIRED: &str = "Invalid according to Policy: Policy expired.";
const UNKNOWN_KEY_ID: &str = "The OSS Access Key Id you provided does not exist in our records.";

/// The file part of a form: its `filename`, its part `Content-Type`, and its
/// size when known (a streaming server checks the size while bytes arrive; see
/// [`Accepted::size_limit`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FileInfo {
    pub filename: String,
    pub content_type: Option<String>,
    pub size: Option<u64>,
}

/// What the browser sent: the non-file fields before the file part in order,
/// the fields after it (OSS ignores them), and the file part (if any).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Submission {
    pub fields: Vec<(String, String)>,
    pub fields_after_file: Vec<(String, String)>,
    pub file: Option<FileInfo>,
}

impl Submission {
    /// The first value of field `name` before the file (ASCII case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| same_name(n, name))
            .map(|(_, v)| v.as_str())
    }
}

/// Form-field names are ASCII case-insensitive. Every verification looks
/// names up a few dozen times, so length and last byte (the `x-oss-` names
/// share their start) rule out most pairs before a full comparison.
fn same_name(a: &str, b: &str) -> bool {
    let last = |s: &str| s.as_bytes().last().map(u8::to_ascii_lowercase);
    a.len() == b.len() && last(a) == last(b) && a.eq_ignore_ascii_case(b)
}

/// A successful upload: where it is stored and how to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The object key after `${filename}` expansion.
    pub key: String,
    /// 200, 201 or 204, from `success_action_status` (default 204).
    pub status: u16,
    /// `success_action_redirect`, which takes precedence over `status`.
    pub redirect: Option<String>,
    /// The object's Content-Type (`x-oss-content-type` > file part > form field).
    pub content_type: Option<String>,
    /// Headers and metadata stored with the object (lower-case names):
    /// `cache-control`, `content-disposition`, `content-encoding`, `expires`,
    /// `x-oss-meta-*`, `x-oss-object-acl`, `x-oss-storage-class`, ….
    pub metadata: Vec<(String, String)>,
    /// The sizes the file may have: the policy's ranges and the 5 GB cap.
    pub size_limit: ByteRange,
    /// The access key that signed the form (`None` for anonymous uploads).
    pub access_key_id: Option<String>,
}

/// A rejected upload, as the service would answer it, plus a plain-language
/// reason. Its stable [`code`](Rejected::code) is `REJECTED`; what the
/// service would answer is [`service_code`](Rejected::service_code).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{service_code} ({status}): {reason}")]
pub struct Rejected {
    /// HTTP status.
    pub status: u16,
    /// The service's error code (`AccessDenied`, `SignatureDoesNotMatch`, …),
    /// as the dialect verified (OSS or S3) spells it.
    pub service_code: &'static str,
    /// The service's message, in its documented wording.
    pub message: String,
    /// The 0-based index of the failing condition, when a condition failed.
    pub condition_index: Option<usize>,
    /// What went wrong, naming the value sent and what was expected.
    pub reason: String,
}

impl Rejected {
    pub(crate) fn new(
        status: u16,
        service_code: &'static str,
        message: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            status,
            service_code,
            message: message.into(),
            condition_index: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn at(mut self, index: usize) -> Self {
        self.condition_index = Some(index);
        self
    }

    /// The stable code, `REJECTED`, for every rejection (the service's own
    /// code is [`Rejected::service_code`]).
    pub fn code(&self) -> &'static str {
        "REJECTED"
    }
}

impl miette::Diagnostic for Rejected {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(Rejected::code(self)))
    }
}

/// Where a verifier finds the secret of an access key id. Implemented for maps
/// and for closures, so an application can plug in its own store.
pub trait KeyStore: Send + Sync {
    fn secret(&self, access_key_id: &str) -> Option<String>;

    /// The secret, borrowed when the store holds it: a verifier asks on every
    /// upload, and a store in memory need not copy the secret each time.
    fn secret_ref(&self, access_key_id: &str) -> Option<Cow<'_, str>> {
        self.secret(access_key_id).map(Cow::Owned)
    }
}

impl KeyStore for HashMap<String, String> {
    fn secret(&self, access_key_id: &str) -> Option<String> {
        self.get(access_key_id).cloned()
    }

    fn secret_ref(&self, access_key_id: &str) -> Option<Cow<'_, str>> {
        self.get(access_key_id).map(|s| Cow::Borrowed(s.as_str()))
    }
}

impl<F> KeyStore for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn secret(&self, access_key_id: &str) -> Option<String> {
        self(access_key_id)
    }
}

/// Verifies OSS PostObject forms posted to one bucket.
pub struct Verifier {
    /// `None` for [`Verifier::for_any_bucket`].
    bucket: Option<String>,
    region: String,
    product: &'static str,
    keys: Box<dyn KeyStore>,
    clock_skew: TimeDelta,
    allow_anonymous: bool,
    /// Derived V4 keys by access key id.
    v4_keys: KeyIdCache,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("product", &self.product)
            .field("clock_skew", &self.clock_skew)
            .field("allow_anonymous", &self.allow_anonymous)
            .finish_non_exhaustive()
    }
}

/// The signature scheme a form uses.
enum Scheme<'a> {
    Anonymous,
    V1 {
        access_key_id: &'a str,
        policy: &'a str,
        signature: &'a str,
    },
    V4 {
        credential: &'a str,
        date: &'a str,
        policy: &'a str,
        signature: &'a str,
    },
}

impl Verifier {
    /// The largest form-field name OSS accepts (8 KB): a server reading the
    /// multipart body can stop at it instead of buffering more.
    pub const MAX_FIELD_NAME_BYTES: usize = MAX_FIELD_NAME_BYTES;
    /// The largest form-field value OSS accepts (2 MB), for the same reason.
    pub const MAX_FIELD_VALUE_BYTES: usize = MAX_FIELD_VALUE_BYTES;
    /// The largest total of the values before the file part (8 MB).
    pub const MAX_FIELDS_TOTAL_BYTES: usize = MAX_FIELDS_TOTAL_BYTES;
    /// The largest clock skew [`Verifier::with_clock_skew`] accepts: a date
    /// more than a week ahead is a wrong clock, not skew (and a V4 form is
    /// valid for a week at most).
    pub const MAX_CLOCK_SKEW: TimeDelta = time::MAX_CLOCK_SKEW;

    /// A verifier for `bucket` in `region` (`cn-hangzhou` or `oss-cn-hangzhou`).
    pub fn new(bucket: &str, region: &str, keys: impl KeyStore + 'static) -> Self {
        Self::with_bucket(Some(bucket.to_owned()), region, keys)
    }

    /// A verifier that does not know which bucket forms go to, so it does
    /// not judge `bucket` conditions: for explaining a captured form when
    /// the bucket is unknown (`postpolicy explain` without `--bucket`). A
    /// server knows its bucket and uses [`Verifier::new`].
    pub fn for_any_bucket(region: &str, keys: impl KeyStore + 'static) -> Self {
        Self::with_bucket(None, region, keys)
    }

    fn with_bucket(bucket: Option<String>, region: &str, keys: impl KeyStore + 'static) -> Self {
        Self {
            bucket,
            region: region.strip_prefix("oss-").unwrap_or(region).to_owned(),
            product: PRODUCT,
            keys: Box::new(keys),
            clock_skew: DEFAULT_CLOCK_SKEW,
            allow_anonymous: false,
            v4_keys: KeyIdCache::default(),
        }
    }

    /// How far in the future an `x-oss-date` may be (default 15 minutes):
    /// from zero to [`Verifier::MAX_CLOCK_SKEW`], an error
    /// otherwise (a negative skew would refuse every form).
    pub fn with_clock_skew(mut self, skew: TimeDelta) -> Result<Self, TimeRangeError> {
        self.clock_skew = crate::time::check_span(
            skew,
            crate::time::MAX_CLOCK_SKEW,
            "the clock skew",
            "7 days",
        )?;
        Ok(self)
    }

    /// Accept unsigned forms, as a `public-read-write` bucket does.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = allow;
        self
    }

    /// Expect CloudBox credentials (`oss-cloudbox`, CloudBox id as region).
    pub fn with_cloudbox(mut self, cloudbox_id: &str) -> Self {
        self.region = cloudbox_id.to_owned();
        self.product = CLOUDBOX_PRODUCT;
        self
    }

    /// The bucket forms are posted to (`None` for [`Verifier::for_any_bucket`]).
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// The access key id the form names (`OSSAccessKeyId` for V1, the first
    /// part of `x-oss-credential` for V4), `None` for an unsigned form or one
    /// whose credential has not the five parts of a V4 scope.
    ///
    /// For key stores that cannot answer inside [`Verifier::verify`] (an
    /// asynchronous fetch, a host-language callback): ask your store for this
    /// id, then verify once with [`Verifier::verify_with`] and a store holding
    /// it. The form may still be refused for another reason.
    pub fn key_id<'a>(&self, submission: &'a Submission) -> Option<&'a str> {
        match submission.field("x-oss-signature-version") {
            Some(_) => credential_key_id(submission.field("x-oss-credential")?),
            None => submission.field("OSSAccessKeyId"),
        }
    }

    /// Accepts or rejects `submission` as OSS would at `now`.
    pub fn verify(
        &self,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> Result<Accepted, Rejected> {
        self.verify_with(submission, &*self.keys, now)
    }

    /// [`Verifier::verify`] with `keys` in place of the verifier's own store
    /// for this one call (see [`Verifier::key_id`]).
    pub fn verify_with(
        &self,
        submission: &Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Accepted, Rejected> {
        let now = check_now(now)?;
        check_structure(submission)?;
        let scheme = scheme(submission)?;
        let (policy_text, access_key_id) = match scheme {
            Scheme::Anonymous => {
                if !self.allow_anonymous {
                    return Err(Rejected::new(
                        403,
                        "AccessDenied",
                        "You have no right to access this object because of bucket acl.",
                        "the form carries no signature and the bucket does not accept anonymous uploads",
                    ));
                }
                (None, None)
            }
            Scheme::V1 {
                access_key_id,
                policy,
                signature,
            } => {
                let secret = lookup_secret(keys, access_key_id, UNKNOWN_KEY_ID)?;
                if !verify_v1(&secret, policy, signature) {
                    return Err(signature_mismatch(format!(
                        "the V1 Signature does not match HMAC-SHA1 of the policy with the secret of `{access_key_id}`"
                    )));
                }
                (Some(policy), Some(access_key_id))
            }
            Scheme::V4 {
                credential,
                date,
                policy,
                signature,
            } => {
                let access_key_id =
                    self.check_v4(keys, credential, date, policy, signature, now)?;
                (Some(policy), Some(access_key_id))
            }
        };
        let size_limit = match policy_text {
            Some(text) => {
                let json = decode_policy_text(text)?;
                let policy = wire::view_json(&json).map_err(policy_rejected)?;
                check_expiry(policy.expires_at, now)?;
                let mut outcome = Outcome::default();
                evaluate(
                    &policy.conditions,
                    submission,
                    self.bucket.as_deref(),
                    &mut outcome,
                    true,
                );
                if let Some(first) = outcome.failures.into_iter().next() {
                    return Err(first);
                }
                if matches!(scheme, Scheme::V4 { .. }) {
                    require_v4_conditions(&policy.conditions)?;
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
    /// checking a signature: for a policy you hold. Empty when the upload
    /// would pass.
    pub fn explain(
        &self,
        policy: &Policy,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> Vec<Rejected> {
        explain(policy, submission, self.bucket.as_deref(), now)
    }

    fn check_v4<'a>(
        &self,
        keys: &dyn KeyStore,
        credential: &'a str,
        x_oss_date: &str,
        policy: &str,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<&'a str, Rejected> {
        // A one-char array pattern is a plain loop; a bare char sets up memchr,
        // which costs more than it saves on a 60-byte credential.
        let mut parts = credential.split(['/']);
        let (Some(access_key_id), Some(date), Some(region), Some(product), Some(terminator), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(invalid_argument(format!(
                "x-oss-credential `{credential}` must have 5 parts: <AccessKeyId>/<yyyymmdd>/<region>/oss/aliyun_v4_request"
            )));
        };
        if terminator != TERMINATOR {
            return Err(invalid_argument(format!(
                "x-oss-credential ends with `{terminator}`, expected `{TERMINATOR}`"
            )));
        }
        if product != self.product {
            return Err(invalid_argument(format!(
                "x-oss-credential names the product `{product}`, expected `{}`",
                self.product
            )));
        }
        if region != self.region {
            return Err(invalid_argument(format!(
                "x-oss-credential is scoped to region `{region}`, but the bucket is in `{}`",
                self.region
            )));
        }
        let signed_at = parse_x_oss_date(x_oss_date).ok_or_else(|| {
            invalid_argument(format!(
                "x-oss-date `{x_oss_date}` is not in the form yyyymmddTHHMMSSZ"
            ))
        })?;
        if x_oss_date.get(..8) != Some(date) {
            return Err(invalid_argument(format!(
                "x-oss-credential date `{date}` is not the day of x-oss-date `{x_oss_date}`"
            )));
        }
        let secret = lookup_secret(keys, access_key_id, UNKNOWN_KEY_ID)?;
        // `now` and the skew are bounded, so the sum exists; were it past the
        // calendar, no date would be too far ahead.
        if time::later_by(now, self.clock_skew).is_some_and(|latest| signed_at > latest) {
            return Err(Rejected::new(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
                format!(
                    "x-oss-date {} is more than {} minutes ahead of the server clock {}",
                    wire::format_timestamp(signed_at),
                    self.clock_skew.num_minutes(),
                    wire::format_timestamp(now)
                ),
            ));
        }
        if time::later_by(signed_at, MAX_V4_VALIDITY).is_some_and(|end| now > end) {
            return Err(Rejected::new(
                403,
                "AccessDenied",
                "Request has expired.",
                format!(
                    "x-oss-date {} is more than 7 days before the server clock {}",
                    wire::format_timestamp(signed_at),
                    wire::format_timestamp(now)
                ),
            ));
        }
        let mac = self.v4_keys.mac_for(access_key_id, &secret, date, || {
            oss_v4::signing_key_v4(&secret, date, &self.region, self.product)
        });
        if !verify_v4(mac, policy, signature) {
            return Err(signature_mismatch(format!(
                "x-oss-signature does not match the policy signed with the secret of `{access_key_id}` for {date}/{region}/{product}"
            )));
        }
        Ok(access_key_id)
    }
}

/// [`Verifier::explain`]: `bucket` conditions are judged only when the
/// target bucket is known.
fn explain(
    policy: &Policy,
    submission: &Submission,
    bucket: Option<&str>,
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
    if let Err(r) = check_policy_expiry(policy, now) {
        failures.push(r);
    }
    let conditions: Vec<ConditionView<'_>> = policy.conditions.iter().map(Into::into).collect();
    let mut outcome = Outcome::default();
    evaluate(&conditions, submission, bucket, &mut outcome, false);
    failures.append(&mut outcome.failures);
    if let Err(r) = check_size_cap(submission) {
        failures.push(r);
    }
    failures
}

/// The secret of `access_key_id`, or the service's answer to an unknown id
/// (`unknown_message` in the dialect's wording).
pub(crate) fn lookup_secret<'k>(
    keys: &'k dyn KeyStore,
    access_key_id: &str,
    unknown_message: &str,
) -> Result<Cow<'k, str>, Rejected> {
    keys.secret_ref(access_key_id).ok_or_else(|| {
        Rejected::new(
            403,
            "InvalidAccessKeyId",
            unknown_message,
            format!("the access key id `{access_key_id}` is not known to this verifier"),
        )
    })
}

/// The access key id of a SigV4-style credential scope
/// (`<id>/<yyyymmdd>/<region>/<service>/<terminator>`): `None` unless it has
/// the five parts a verifier reads it as.
pub(crate) fn credential_key_id(credential: &str) -> Option<&str> {
    let mut parts = credential.split(['/']);
    let id = parts.next()?;
    (parts.count() == 4).then_some(id)
}

/// `yyyymmddTHHMMSSZ`, by hand: this runs on every V4 verification.
pub(crate) fn parse_x_oss_date(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b.get(range)?.iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(4..6)?, num(6..8)?)?;
    let time = chrono::NaiveTime::from_hms_opt(num(9..11)?, num(11..13)?, num(13..15)?)?;
    Some(NaiveDateTime::new(date, time).and_utc())
}

fn invalid_argument(reason: String) -> Rejected {
    Rejected::new(400, "InvalidArgument", reason.clone(), reason)
}

pub(crate) fn signature_mismatch(reason: String) -> Rejected {
    Rejected::new(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH, reason)
}

fn check_structure(submission: &Submission) -> Result<(), Rejected> {
    let Some(_file) = &submission.file else {
        return Err(Rejected::new(
            400,
            "MalformedPOSTRequest",
            MALFORMED,
            "the form has no file part (it must be the last field, named `file`)",
        ));
    };
    if submission.field("key").is_none() {
        let after = submission
            .fields_after_file
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("key"));
        let failure = rules::key_required(Dialect::Oss);
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
    let mut total = 0usize;
    for (name, value) in &submission.fields {
        if name.len() > MAX_FIELD_NAME_BYTES {
            return Err(field_too_long(format!(
                "a field name is {} bytes long; the limit is {MAX_FIELD_NAME_BYTES}",
                name.len()
            )));
        }
        if value.len() > MAX_FIELD_VALUE_BYTES {
            return Err(field_too_long(format!(
                "the value of `{name}` is {} bytes long; the limit is {MAX_FIELD_VALUE_BYTES}",
                value.len()
            )));
        }
        total = total.saturating_add(value.len());
    }
    if total > MAX_FIELDS_TOTAL_BYTES {
        return Err(field_too_long(format!(
            "the fields before the file total {total} bytes; the limit is {MAX_FIELDS_TOTAL_BYTES}"
        )));
    }
    Ok(())
}

fn field_too_long(reason: String) -> Rejected {
    Rejected::new(
        400,
        "FieldItemTooLong",
        "Your POST request fields exceed the maximum allowed size.",
        reason,
    )
}

fn scheme(submission: &Submission) -> Result<Scheme<'_>, Rejected> {
    let get = |name: &str| submission.field(name);
    if let Some(version) = get("x-oss-signature-version") {
        if version != ALGORITHM {
            return Err(invalid_argument(format!(
                "x-oss-signature-version is `{version}`, expected `{ALGORITHM}`"
            )));
        }
        let need = |name: &'static str| {
            get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                invalid_argument(format!("a V4 form needs a non-empty `{name}` field"))
            })
        };
        return Ok(Scheme::V4 {
            credential: need("x-oss-credential")?,
            date: need("x-oss-date")?,
            policy: need("policy")?,
            signature: need("x-oss-signature")?,
        });
    }
    let id = get("OSSAccessKeyId");
    let policy = get("policy");
    let signature = get("Signature");
    match (id, policy, signature) {
        (None, None, None) => Ok(Scheme::Anonymous),
        (Some(access_key_id), Some(policy), Some(signature)) => Ok(Scheme::V1 {
            access_key_id,
            policy,
            signature,
        }),
        _ => {
            let missing: Vec<&str> = [
                ("OSSAccessKeyId", id),
                ("policy", policy),
                ("Signature", signature),
            ]
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
            Err(invalid_argument(format!(
                "OSSAccessKeyId, policy and Signature go together; missing: {}",
                missing.join(", ")
            )))
        }
    }
}

pub(crate) fn decode_policy(policy_b64: &str) -> Result<Policy, Rejected> {
    wire::from_json(&decode_policy_text(policy_b64)?).map_err(policy_rejected)
}

/// The JSON text of a `policy` field, exactly as the browser sent it.
fn decode_policy_text(policy_b64: &str) -> Result<String, Rejected> {
    wire::decode_base64(policy_b64).map_err(policy_rejected)
}

fn policy_rejected(error: crate::PolicyError) -> Rejected {
    Rejected::new(
        400,
        "InvalidPolicyDocument",
        error.service_message(),
        error.reason(),
    )
}

/// `now` when a policy can state it. The server's clock is not the form's
/// fault: the service answers trouble of its own with 500 `InternalError`.
pub(crate) fn check_now(now: DateTime<Utc>) -> Result<DateTime<Utc>, Rejected> {
    time::check_instant(now, "`now`").map_err(|e| {
        Rejected::new(
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
            e.to_string(),
        )
    })
}

/// [`check_expiry`] of a policy the caller holds, whose expiration may not
/// resolve (`expires in` past 9999): such a policy could never be signed.
pub(crate) fn check_policy_expiry(policy: &Policy, now: DateTime<Utc>) -> Result<(), Rejected> {
    match policy.expires_at(now) {
        Ok(expires_at) => check_expiry(expires_at, now),
        Err(e) => Err(Rejected::new(
            400,
            "InvalidPolicyDocument",
            "Invalid Policy: Invalid expiration.",
            e.to_string(),
        )),
    }
}

pub(crate) fn check_expiry(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Rejected> {
    if now >= expires_at {
        return Err(Rejected::new(
            403,
            "AccessDenied",
            POLICY_EXPIRED,
            format!(
                "the policy expired at {}; the server clock is {}",
                wire::format_timestamp(expires_at),
                wire::format_timestamp(now)
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check_size_cap(submission: &Submission) -> Result<(), Rejected> {
    match submission.file.as_ref().and_then(|f| f.size) {
        Some(size) if size > MAX_FORM_UPLOAD_BYTES => Err(Rejected::new(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size.",
            format!(
                "the file is {size} bytes; form uploads are limited to {MAX_FORM_UPLOAD_BYTES} bytes (5 GB)"
            ),
        )),
        _ => Ok(()),
    }
}

fn require_v4_conditions(conditions: &[ConditionView<'_>]) -> Result<(), Rejected> {
    for name in ["x-oss-signature-version", "x-oss-credential", "x-oss-date"] {
        let present = conditions
            .iter()
            .any(|c| matches!(c, ConditionView::Eq { .. }) && c.is_on(name));
        if !present {
            return Err(Rejected::new(
                403,
                "AccessDenied",
                format!("Invalid according to Policy: Policy must contain the {name} condition."),
                format!(
                    "a V4 policy must pin `{name}` with an exact condition, and this one does not"
                ),
            ));
        }
    }
    Ok(())
}

#[derive(Default)]
struct Outcome {
    failures: Vec<Rejected>,
    size_limit: ByteRange,
}

/// Evaluates every condition in order against the unexpanded form values.
fn evaluate(
    conditions: &[ConditionView<'_>],
    submission: &Submission,
    bucket: Option<&str>,
    outcome: &mut Outcome,
    first_only: bool,
) {
    outcome.size_limit = ByteRange {
        min: 0,
        max: MAX_FORM_UPLOAD_BYTES,
    };
    let size = submission.file.as_ref().and_then(|f| f.size);
    for (index, condition) in conditions.iter().enumerate() {
        if first_only && !outcome.failures.is_empty() {
            return;
        }
        let failure = match condition {
            ConditionView::ContentLengthRange(range) => {
                outcome.size_limit.min = outcome.size_limit.min.max(range.min);
                outcome.size_limit.max = outcome.size_limit.max.min(range.max);
                size.and_then(|size| range_failure(range, size))
            }
            _ => condition_failure(condition, submission, bucket),
        };
        if let Some(rejected) = failure {
            outcome.failures.push(rejected.at(index));
        }
    }
}

pub(crate) fn range_failure(range: &ByteRange, size: u64) -> Option<Rejected> {
    let failure = if size < range.min {
        rules::too_small(range)
    } else if size > range.max {
        rules::too_large(range)
    } else {
        return None;
    };
    let size = size.to_string();
    Some(Rejected::new(
        failure.status,
        failure.code,
        failure.message,
        failure.reason.render(&[("size", &size)]),
    ))
}

fn condition_failure(
    view: &ConditionView<'_>,
    submission: &Submission,
    bucket: Option<&str>,
) -> Option<Rejected> {
    let sent = if view.is_on("bucket") {
        // Judged against the target bucket; unknown target: nothing to judge.
        Some(bucket?)
    } else {
        submission.field(view.field()?)
    };
    let holds = match (view, sent) {
        (_, None) => false,
        (ConditionView::Eq { value, .. }, Some(v)) => v == value,
        (ConditionView::StartsWith { prefix, .. }, Some(v)) => v.starts_with(&**prefix),
        (ConditionView::In { values, .. }, Some(v)) => values.iter().any(|x| x == v),
        (ConditionView::NotIn { values, .. }, Some(v)) => !values.iter().any(|x| x == v),
        (ConditionView::ContentLengthRange(_), Some(_)) => true,
    };
    if holds {
        return None;
    }
    // A failure is rare and explained at length: from the owned condition.
    let condition = &view.to_condition();
    let field = condition.field()?;
    let failure = rules::condition_failed(condition);
    let reason = match (condition, sent) {
        (_, None) => rules::missing_reason(condition, Dialect::Oss),
        (Condition::Eq { value, .. }, Some(v)) if field.is("bucket") => {
            format!("the policy is for bucket `{value}`, but the upload targets bucket `{v}`")
        }
        (_, Some(v)) => failure
            .reason
            .render(&[("value", v), ("hint", rules::hint(condition, v, None))]),
    };
    Some(Rejected::new(
        failure.status,
        failure.code,
        failure.message,
        reason,
    ))
}

pub(crate) use crate::rules::quoted_list;

/// Builds the success outcome: key expansion, status, redirect, metadata.
fn accepted(
    submission: &Submission,
    size_limit: ByteRange,
    access_key_id: Option<String>,
) -> Accepted {
    let raw_key = submission.field("key").unwrap_or_default();
    let filename = submission
        .file
        .as_ref()
        .map(|f| f.filename.as_str())
        .unwrap_or_default();
    let key = if raw_key.contains('$') {
        raw_key.replace("${filename}", filename)
    } else {
        raw_key.to_owned()
    };
    let status = success_status(submission);
    let redirect = submission
        .field("success_action_redirect")
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let content_type = submission
        .field("x-oss-content-type")
        .or_else(|| {
            submission
                .file
                .as_ref()
                .and_then(|f| f.content_type.as_deref())
        })
        .or_else(|| submission.field("Content-Type"))
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    const STORED: [&str; 9] = [
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-language",
        "expires",
        "x-oss-object-acl",
        "x-oss-storage-class",
        "x-oss-server-side-encryption",
        "x-oss-forbid-overwrite",
    ];
    let metadata = stored_metadata(submission, "x-oss-meta-", &STORED);
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

/// 200 or 201 when `success_action_status` says so, else 204 (both dialects).
pub(crate) fn success_status(submission: &Submission) -> u16 {
    match submission.field("success_action_status").map(str::trim) {
        Some("200") => 200,
        Some("201") => 201,
        _ => 204,
    }
}

/// The form fields stored with the object: user metadata under `meta_prefix`
/// and the `stored` header names, first occurrence wins, names lower-cased.
pub(crate) fn stored_metadata(
    submission: &Submission,
    meta_prefix: &str,
    stored: &[&str],
) -> Vec<(String, String)> {
    let mut metadata: Vec<(String, String)> = Vec::new();
    for (name, value) in &submission.fields {
        let is_meta = name
            .as_bytes()
            .get(..meta_prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(meta_prefix.as_bytes()));
        let keep = is_meta || stored.iter().any(|s| same_name(s, name));
        if keep && !metadata.iter().any(|(n, _)| same_name(n, name)) {
            metadata.push((name.to_ascii_lowercase(), value.clone()));
        }
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    fn upload(fields: &[(&str, &str)], size: u64) -> Submission {
        Submission {
            fields: fields
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            fields_after_file: vec![],
            file: Some(FileInfo {
                filename: "a.png".into(),
                content_type: Some("image/png".into()),
                size: Some(size),
            }),
        }
    }

    #[test]
    fn explain_lists_every_failing_condition() {
        let policy = Policy::new(
            Some(crate::Expiration::In { seconds: 60 }),
            vec![
                Condition::starts_with("key", "user/42/"),
                Condition::eq("x-oss-meta-owner", "42"),
                Condition::one_of("content-type", ["image/png"]),
                Condition::content_length(1, 10),
                Condition::eq("bucket", "other"),
            ],
        );
        let sub = upload(
            &[("key", "avatars/a.png"), ("Content-Type", "image/png")],
            11,
        );
        let keys: HashMap<String, String> = HashMap::new();
        let verifier = Verifier::new("examplebucket", "cn-hangzhou", keys.clone());
        let failures = verifier.explain(&policy, &sub, now());
        let indexes: Vec<_> = failures.iter().map(|f| f.condition_index).collect();
        assert_eq!(indexes, vec![Some(0), Some(1), Some(3), Some(4)]);
        assert_eq!(
            failures[0].reason,
            "key `avatars/a.png` does not start with `user/42/`"
        );
        assert_eq!(
            failures[1].reason,
            "the form has no `x-oss-meta-owner` field, and the policy requires it to be `42`"
        );
        assert_eq!(failures[2].service_code, "EntityTooLarge");
        assert!(
            failures[3].reason.contains("bucket `other`"),
            "{}",
            failures[3].reason
        );
        assert!(
            Verifier::for_any_bucket("cn-hangzhou", keys)
                .explain(&policy, &sub, now())
                .len()
                == 3,
            "bucket skipped when unknown"
        );
    }

    #[test]
    fn explain_passes_a_good_upload() {
        let policy = Policy::new(None, vec![Condition::starts_with("key", "user/")]);
        assert!(explain(&policy, &upload(&[("key", "user/a")], 1), None, now()).is_empty());
    }

    #[test]
    fn accepted_reports_metadata_and_content_type_precedence() {
        let keys: HashMap<String, String> = HashMap::new();
        let verifier = Verifier::new("b", "cn-hangzhou", keys).allow_anonymous(true);
        let sub = upload(
            &[
                ("key", "k/${filename}"),
                ("Content-Type", "text/plain"),
                ("X-OSS-Meta-Owner", "42"),
                ("Cache-Control", "no-cache"),
                ("success_action_redirect", "https://example.com/done"),
            ],
            3,
        );
        let ok = verifier.verify(&sub, now()).unwrap();
        assert_eq!(ok.key, "k/a.png");
        assert_eq!(
            ok.content_type.as_deref(),
            Some("image/png"),
            "file part beats form field"
        );
        assert_eq!(ok.redirect.as_deref(), Some("https://example.com/done"));
        assert!(
            ok.metadata
                .contains(&("x-oss-meta-owner".into(), "42".into()))
        );
        assert!(
            ok.metadata
                .contains(&("cache-control".into(), "no-cache".into()))
        );
        assert_eq!(ok.access_key_id, None);
    }

    #[test]
    fn anonymous_forms_need_permission() {
        let keys: HashMap<String, String> = HashMap::new();
        let verifier = Verifier::new("b", "cn-hangzhou", keys);
        let r = verifier
            .verify(&upload(&[("key", "k")], 3), now())
            .unwrap_err();
        assert_eq!((r.status, r.service_code), (403, "AccessDenied"));
    }

    #[test]
    fn oversized_fields_are_refused() {
        let keys: HashMap<String, String> = HashMap::new();
        let verifier = Verifier::new("b", "cn-hangzhou", keys).allow_anonymous(true);
        let big = "x".repeat(MAX_FIELD_VALUE_BYTES + 1);
        let r = verifier
            .verify(&upload(&[("key", "k"), ("x-oss-meta-a", &big)], 3), now())
            .unwrap_err();
        assert_eq!(r.service_code, "FieldItemTooLong");
    }
}
