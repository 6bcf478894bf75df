//! Judging a submitted upload form the way the storage service does, and
//! saying why not.
//!
//! The services answer a rejected upload with a bare 403; a verifier plays
//! their part and names the condition that failed, the value that was sent
//! and what was expected. Every dialect takes the same steps in the same
//! order ([`verify`], docs/oss.md#verification-order):
//!
//! 1. the form's shape (a file part, a `key` before it, the dialect's limits);
//! 2. the signature over the received `policy` text, or an unsigned form;
//! 3. the policy document: operators the dialect knows, the expiration;
//! 4. every condition (`evaluate.rs`, one loop with the reasons and the size limit);
//! 5. the 5 GB cap; then what is stored and how to answer.
//!
//! `oss.rs` and `s3.rs` state only what differs: the signature schemes, key
//! expansion before or after checking, comma lists in `Content-Type`, the
//! operators, coverage of fields, metadata prefix and stored headers, and the
//! service's wording.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::policy::{ByteRange, MAX_FORM_UPLOAD_BYTES, Policy};
use crate::rules;
use crate::time;
use crate::wire::{self, ConditionView};

mod evaluate;
mod gcs;
mod oss;
mod s3;

pub use gcs::GcsVerifier;
pub use oss::Verifier;
pub use s3::S3Verifier;

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
const POLICY_EXPIRED: &str = "Invalid according to Policy: Policy expired.";

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
/// the fields after it (the services ignore them), and the file part (if any).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Submission {
    pub fields: Vec<(String, String)>,
    pub fields_after_file: Vec<(String, String)>,
    pub file: Option<FileInfo>,
}

impl Submission {
    /// The first value of field `name` before the file (ASCII case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        // Length first, in a loop that reads nothing else: most names differ
        // in length, and every verification looks names up a dozen times.
        // Then the bytes as they are: most forms spell a name as the lookup
        // does, and that comparison costs half as much as ignoring case
        // (852 of 51,748 instructions a verification, callgrind).
        let len = name.len();
        self.fields
            .iter()
            .filter(|(n, _)| n.len() == len)
            .find(|(n, _)| n == name || n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The file part's name (empty without a file part).
    fn filename(&self) -> &str {
        self.file.as_ref().map_or("", |f| f.filename.as_str())
    }
}

/// Form-field names are ASCII case-insensitive (the comparison checks the
/// lengths first, which rules out most pairs).
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A successful upload: where it is stored and how to answer. Its strings
/// borrow from the [`Submission`] it answers (a copy only where the answer
/// differs from what was sent: a key with `${filename}`, a metadata name sent
/// in upper case). Owning them cost eight allocations, the largest part of a
/// verification after the signature's SHA-256;
/// [`into_owned`](Accepted::into_owned) makes the answer outlive the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted<'a> {
    /// The object key after `${filename}` expansion.
    pub key: Cow<'a, str>,
    /// 200, 201 or 204, from `success_action_status` (default 204).
    pub status: u16,
    /// `success_action_redirect`, which takes precedence over `status`.
    pub redirect: Option<Cow<'a, str>>,
    /// The object's Content-Type (OSS: `x-oss-content-type` > file part >
    /// form field; S3: the form field).
    pub content_type: Option<Cow<'a, str>>,
    /// Headers and metadata stored with the object (lower-case names):
    /// `cache-control`, `content-disposition`, `content-encoding`, `expires`,
    /// `x-oss-meta-*` or `x-amz-meta-*`, the dialect's ACL and storage class, ….
    pub metadata: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The sizes the file may have: the policy's ranges and the 5 GB cap.
    pub size_limit: ByteRange,
    /// The access key that signed the form (`None` for anonymous uploads).
    pub access_key_id: Option<Cow<'a, str>>,
}

impl Accepted<'_> {
    /// The same answer owning its strings, free of the form.
    pub fn into_owned(self) -> Accepted<'static> {
        let own = |s: Option<Cow<'_, str>>| s.map(|s| Cow::Owned(s.into_owned()));
        Accepted {
            key: Cow::Owned(self.key.into_owned()),
            status: self.status,
            redirect: own(self.redirect),
            content_type: own(self.content_type),
            metadata: self
                .metadata
                .into_iter()
                .map(|(name, value)| {
                    (
                        Cow::Owned(name.into_owned()),
                        Cow::Owned(value.into_owned()),
                    )
                })
                .collect(),
            size_limit: self.size_limit,
            access_key_id: own(self.access_key_id),
        }
    }
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

/// What the signature of a form vouches for: the policy text it covers and
/// the key that signed it.
pub(crate) struct Signed<'a> {
    pub policy: &'a str,
    pub access_key_id: &'a str,
    /// A SigV4-style scheme (OSS V4), whose policy must pin its fields.
    pub v4: bool,
}

/// S3's rule that every form field needs a condition, but these.
pub(crate) struct Coverage {
    /// Names (lower case) that need no condition.
    pub exempt: &'static [&'static str],
    /// A prefix of names that need no condition.
    pub exempt_prefix: &'static str,
    /// The rule, for the reason of a rejection.
    pub rule: &'static str,
    /// The service's answer: status, code, and the message the uncovered
    /// names (comma-separated) are appended to.
    pub status: u16,
    pub service_code: &'static str,
    pub message: &'static str,
}

/// What a dialect states that the others do not; [`verify`], [`explain`]
/// and `evaluate::evaluate` take every other step once.
pub(crate) trait Dialect {
    /// The dialect's name in reasons (`S3`).
    const NAME: &'static str;
    /// The dialect as the wording in [`crate::rules`] knows it (the browser
    /// rules of a signed form and the reasons here say the same).
    const RULES: crate::rules::Dialect;
    /// The condition operators the dialect knows.
    const OPERATORS: &'static [&'static str];
    /// `${filename}` in `key` is expanded before the key is checked (S3), or
    /// only after (OSS).
    const EXPANDS_KEY_FIRST: bool;
    /// `starts-with` on `Content-Type` holds for a comma-separated value
    /// only when it holds for every item (S3).
    const CONTENT_TYPE_LISTS: bool;
    /// Every field must be named by a condition, but these (S3).
    const COVERAGE: Option<Coverage>;
    /// The file's size is judged after every field (S3), not in condition
    /// order (OSS).
    const SIZE_AFTER_FIELDS: bool;
    /// User metadata fields start with this.
    const META_PREFIX: &'static str;
    /// The other form fields stored with the object.
    const STORED: &'static [&'static str];
    /// The fields that name a redirect on success, first wins.
    const REDIRECT_FIELDS: &'static [&'static str];
    /// The service's message for an unsigned form the bucket refuses.
    const ANONYMOUS_DENIED: &'static str;

    /// The bucket `bucket` conditions are judged against (`None`: unknown,
    /// not judged).
    fn target_bucket(&self) -> Option<&str>;

    /// Whether unsigned forms are accepted.
    fn anonymous_allowed(&self) -> bool;

    /// The answer to a form without a file part.
    fn no_file() -> Rejected;

    /// The dialect's own checks of the fields (limits, duplicates).
    fn check_fields(submission: &Submission) -> Result<(), Rejected>;

    /// The signature, checked with `keys`: `Ok(None)` for an unsigned form.
    fn authenticate<'a>(
        &self,
        submission: &'a Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Option<Signed<'a>>, Rejected>;

    /// Checks of a signed policy once its conditions hold (OSS V4: the
    /// signature fields must be pinned).
    fn check_signed(
        &self,
        _signed: &Signed<'_>,
        _conditions: &[ConditionView<'_>],
    ) -> Result<(), Rejected> {
        Ok(())
    }

    /// The object's Content-Type.
    fn content_type(submission: &Submission) -> Option<&str>;
}

/// Accepts or rejects `submission` as the dialect's service would at `now`.
pub(crate) fn verify<'a, D: Dialect>(
    dialect: &D,
    submission: &'a Submission,
    keys: &dyn KeyStore,
    now: DateTime<Utc>,
) -> Result<Accepted<'a>, Rejected> {
    let now = check_now(now)?;
    check_form::<D>(submission)?;
    let (access_key_id, size_limit) = match dialect.authenticate(submission, keys, now)? {
        None if !dialect.anonymous_allowed() => {
            return Err(Rejected::new(
                403,
                "AccessDenied",
                D::ANONYMOUS_DENIED,
                "the form carries no signature and the bucket does not accept anonymous uploads",
            ));
        }
        None => (None, FORM_LIMIT),
        Some(signed) => {
            let mut buf = [std::mem::MaybeUninit::uninit(); wire::POLICY_ON_STACK];
            let json = wire::decode_base64_in(signed.policy, &mut buf).map_err(policy_rejected)?;
            // Holds only the strings a view cannot borrow (JSON escapes):
            // no allocation for the usual policy.
            let arena = bumpalo::Bump::new();
            let policy = wire::view_json(&json, &arena).map_err(policy_rejected)?;
            check_operators::<D>(&policy.conditions)?;
            check_expiry(policy.expires_at, now)?;
            let outcome = evaluate::evaluate::<D>(
                &policy.conditions,
                submission,
                dialect.target_bucket(),
                true,
            );
            if let Some(first) = outcome.failures.into_iter().next() {
                return Err(first);
            }
            dialect.check_signed(&signed, &policy.conditions)?;
            (Some(signed.access_key_id), outcome.size_limit)
        }
    };
    check_size_cap(submission)?;
    Ok(accepted::<D>(submission, size_limit, access_key_id))
}

/// Every reason `policy` would reject `submission` at `now`, without checking
/// a signature. Empty when the upload would pass.
pub(crate) fn explain<D: Dialect>(
    dialect: &D,
    policy: &Policy,
    submission: &Submission,
    now: DateTime<Utc>,
) -> Vec<Rejected> {
    let now = match check_now(now) {
        Ok(now) => now,
        Err(r) => return vec![r],
    };
    let conditions: Vec<ConditionView<'_>> = policy.conditions.iter().map(Into::into).collect();
    let mut failures: Vec<Rejected> = [
        check_form::<D>(submission),
        check_operators::<D>(&conditions),
        check_policy_expiry(policy, now),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    let outcome = evaluate::evaluate::<D>(&conditions, submission, dialect.target_bucket(), false);
    failures.extend(outcome.failures);
    failures.extend(check_size_cap(submission).err());
    failures
}

/// The sizes a form upload may have without a policy saying more.
const FORM_LIMIT: ByteRange = ByteRange {
    min: 0,
    max: MAX_FORM_UPLOAD_BYTES,
};

/// A file part and a `key` before it, then the dialect's own checks.
fn check_form<D: Dialect>(submission: &Submission) -> Result<(), Rejected> {
    if submission.file.is_none() {
        return Err(D::no_file());
    }
    if submission.field("key").is_none() {
        let after = submission
            .fields_after_file
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("key"));
        let failure = rules::key_required(D::RULES);
        let reason = if after {
            "the `key` field comes after the file part; fields after the file are ignored, so put `key` before it".to_owned()
        } else {
            failure.reason.render(&[])
        };
        return Err(Rejected::new(
            failure.status,
            failure.service_code,
            failure.message,
            reason,
        ));
    }
    D::check_fields(submission)
}

/// Whether the dialect knows the condition's operator. Every dialect knows
/// `eq`, `starts-with` and `content-length-range`; the list is read only for
/// the others (this runs for every condition of every form).
fn knows<D: Dialect>(condition: &ConditionView<'_>) -> bool {
    !matches!(
        condition,
        ConditionView::In { .. } | ConditionView::NotIn { .. }
    ) || D::OPERATORS.contains(&condition.operator())
}

/// Only the operators the dialect knows.
fn check_operators<D: Dialect>(conditions: &[ConditionView<'_>]) -> Result<(), Rejected> {
    for (index, condition) in conditions.iter().enumerate() {
        let operator = condition.operator();
        if !knows::<D>(condition) {
            return Err(Rejected::new(
                400,
                "InvalidPolicyDocument",
                format!("Invalid Policy: Invalid Condition: unknown operator '{operator}'"),
                format!(
                    "condition {index} uses `{operator}`, which only OSS supports; {} knows {}",
                    D::NAME,
                    operator_list(D::OPERATORS)
                ),
            )
            .at(index));
        }
    }
    Ok(())
}

/// `a, b and c`.
fn operator_list(operators: &[&str]) -> String {
    match operators.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The secret of `access_key_id`, or the service's answer to an unknown id
/// (`unknown_message` in the dialect's wording).
fn lookup_secret<'k>(
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

fn signature_mismatch(reason: String) -> Rejected {
    Rejected::new(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH, reason)
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
/// fault: the services answer trouble of their own with 500 `InternalError`.
fn check_now(now: DateTime<Utc>) -> Result<DateTime<Utc>, Rejected> {
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
fn check_policy_expiry(policy: &Policy, now: DateTime<Utc>) -> Result<(), Rejected> {
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

fn check_expiry(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Rejected> {
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

fn check_size_cap(submission: &Submission) -> Result<(), Rejected> {
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

/// `key` with `${filename}` replaced by the file part's name.
fn expanded_key(submission: &Submission) -> Option<Cow<'_, str>> {
    let key = submission.field("key")?;
    Some(if key.contains("${filename}") {
        Cow::Owned(key.replace("${filename}", submission.filename()))
    } else {
        Cow::Borrowed(key)
    })
}

/// The success outcome: key expansion, status, redirect, metadata.
fn accepted<'a, D: Dialect>(
    submission: &'a Submission,
    size_limit: ByteRange,
    access_key_id: Option<&'a str>,
) -> Accepted<'a> {
    let status = match submission.field("success_action_status").map(str::trim) {
        Some("200") => 200,
        Some("201") => 201,
        _ => 204,
    };
    let redirect = D::REDIRECT_FIELDS
        .iter()
        .find_map(|name| submission.field(name))
        .filter(|r| !r.is_empty());
    let content_type = D::content_type(submission).filter(|c| !c.is_empty());
    Accepted {
        key: expanded_key(submission).unwrap_or_default(),
        status,
        redirect: redirect.map(Cow::Borrowed),
        content_type: content_type.map(Cow::Borrowed),
        metadata: stored_metadata::<D>(submission),
        size_limit,
        access_key_id: access_key_id.map(Cow::Borrowed),
    }
}

/// The form fields stored with the object: user metadata and the dialect's
/// stored header names, first occurrence wins, names lower-cased.
fn stored_metadata<D: Dialect>(submission: &Submission) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let prefix = D::META_PREFIX.as_bytes();
    let mut metadata: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::new();
    for (name, value) in &submission.fields {
        let is_meta = name
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix));
        let keep = is_meta || D::STORED.iter().any(|s| same_name(s, name));
        if keep && !metadata.iter().any(|(n, _)| same_name(n, name)) {
            let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name.as_str())
            };
            metadata.push((name, Cow::Borrowed(value.as_str())));
        }
    }
    metadata
}
