//! OSS PostObject forms (docs/oss.md): what OSS states that the shared
//! steps in [`super`] do not.
//!
//! - signatures V1 (`OSSAccessKeyId`, `Signature`) and V4 (`x-oss-*`,
//!   `aliyun_v4` key chain, 15 minutes of clock skew, 7 days of validity),
//!   and unsigned forms for `public-read-write` buckets;
//! - field limits: names 8 KB, values 2 MB, 8 MB before the file;
//! - conditions are checked before `${filename}` is expanded, every operator
//!   exists (`in`, `not-in` too), fields need no condition;
//! - a V4 policy pins its signature fields;
//! - the stored type is `x-oss-content-type`, then the file part's, then the
//!   `Content-Type` field; metadata is `x-oss-meta-*`.

use chrono::{DateTime, TimeDelta, Utc};

use super::{
    Accepted, Dialect, KeyStore, Rejected, Signed, Submission, lookup_secret, signature_mismatch,
};
use crate::policy::Policy;
use crate::sign::oss::{
    ALGORITHM, CLOUDBOX_PRODUCT, PRODUCT, TERMINATOR, signing_key_v4, verify_v1,
};
use crate::sign::sigv4::{KeyIdCache, Scope, Stamp, verify_hex_mac};
use crate::time::{self, TimeRangeError};
use crate::wire::{self, ConditionView};

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

const MALFORMED: &str = "The body of your POST request is not well-formed multipart/form-data";
const UNKNOWN_KEY_ID: &str = "The OSS Access Key Id you provided does not exist in our records.";

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
        self.clock_skew = time::check_span(skew, time::MAX_CLOCK_SKEW, "the clock skew", "7 days")?;
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
            Some(_) => Some(Scope::parse(submission.field("x-oss-credential")?)?.access_key_id),
            None => submission.field("OSSAccessKeyId"),
        }
    }

    /// Accepts or rejects `submission` as OSS would at `now`.
    pub fn verify<'a>(
        &self,
        submission: &'a Submission,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected> {
        super::verify(self, submission, &*self.keys, now)
    }

    /// [`Verifier::verify`] with `keys` in place of the verifier's own store
    /// for this one call (see [`Verifier::key_id`]).
    pub fn verify_with<'a>(
        &self,
        submission: &'a Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected> {
        super::verify(self, submission, keys, now)
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
        super::explain(self, policy, submission, now)
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
        let Some(Scope {
            access_key_id,
            date,
            region,
            service: product,
            terminator,
        }) = Scope::parse(credential)
        else {
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
        let signed_at = Stamp::parse(x_oss_date).ok_or_else(|| {
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
            signing_key_v4(&secret, date, &self.region, self.product)
        });
        if !verify_hex_mac(mac, policy, signature) {
            return Err(signature_mismatch(format!(
                "x-oss-signature does not match the policy signed with the secret of `{access_key_id}` for {date}/{region}/{product}"
            )));
        }
        Ok(access_key_id)
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

impl Dialect for Verifier {
    const NAME: &'static str = "OSS";
    const RULES: crate::rules::Dialect = crate::rules::Dialect::Oss;
    const OPERATORS: &'static [&'static str] =
        &["eq", "starts-with", "in", "not-in", "content-length-range"];
    const EXPANDS_KEY_FIRST: bool = false;
    const CONTENT_TYPE_LISTS: bool = false;
    const COVERAGE: Option<super::Coverage> = None;
    const SIZE_AFTER_FIELDS: bool = false;
    const META_PREFIX: &'static str = "x-oss-meta-";
    const STORED: &'static [&'static str] = &[
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
    const REDIRECT_FIELDS: &'static [&'static str] = &["success_action_redirect"];
    const ANONYMOUS_DENIED: &'static str =
        "You have no right to access this object because of bucket acl.";

    fn target_bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    fn anonymous_allowed(&self) -> bool {
        self.allow_anonymous
    }

    fn no_file() -> Rejected {
        Rejected::new(
            400,
            "MalformedPOSTRequest",
            MALFORMED,
            "the form has no file part (it must be the last field, named `file`)",
        )
    }

    fn check_fields(submission: &Submission) -> Result<(), Rejected> {
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

    fn authenticate<'a>(
        &self,
        submission: &'a Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Option<Signed<'a>>, Rejected> {
        match scheme(submission)? {
            Scheme::Anonymous => Ok(None),
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
                Ok(Some(Signed {
                    policy,
                    access_key_id,
                    v4: false,
                }))
            }
            Scheme::V4 {
                credential,
                date,
                policy,
                signature,
            } => Ok(Some(Signed {
                policy,
                access_key_id: self.check_v4(keys, credential, date, policy, signature, now)?,
                v4: true,
            })),
        }
    }

    /// A V4 policy pins the signature fields with exact conditions.
    fn check_signed(
        &self,
        signed: &Signed<'_>,
        conditions: &[ConditionView<'_>],
    ) -> Result<(), Rejected> {
        if !signed.v4 {
            return Ok(());
        }
        for name in ["x-oss-signature-version", "x-oss-credential", "x-oss-date"] {
            let present = conditions
                .iter()
                .any(|c| matches!(c, ConditionView::Eq { .. }) && c.is_on(name));
            if !present {
                return Err(Rejected::new(
                    403,
                    "AccessDenied",
                    format!(
                        "Invalid according to Policy: Policy must contain the {name} condition."
                    ),
                    format!(
                        "a V4 policy must pin `{name}` with an exact condition, and this one does not"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `x-oss-content-type`, else the file part's type, else `Content-Type`.
    fn content_type(submission: &Submission) -> Option<&str> {
        submission
            .field("x-oss-content-type")
            .or_else(|| {
                submission
                    .file
                    .as_ref()
                    .and_then(|f| f.content_type.as_deref())
            })
            .or_else(|| submission.field("Content-Type"))
    }
}

fn invalid_argument(reason: String) -> Rejected {
    Rejected::new(400, "InvalidArgument", reason.clone(), reason)
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::policy::Condition;
    use crate::verify::FileInfo;

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
        let verifier = Verifier::for_any_bucket("cn-hangzhou", HashMap::<String, String>::new());
        assert!(
            verifier
                .explain(&policy, &upload(&[("key", "user/a")], 1), now())
                .is_empty()
        );
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
