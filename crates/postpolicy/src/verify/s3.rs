//! S3 presigned POST forms (docs/s3.md): what S3 states that the shared
//! steps in [`super`] do not.
//!
//! - SigV4 only (`x-amz-*`, `AWS4` key chain); the legacy Version 2 fields
//!   are refused; S3 judges age by the policy's expiration only (Garage-like
//!   stores add a maximum date age);
//! - a field sent twice is refused;
//! - `${filename}` in `key` is expanded *before* the key is checked;
//! - `starts-with` on a comma-separated `Content-Type` must hold for every
//!   item;
//! - only `eq`, `starts-with` and `content-length-range` exist;
//! - every field before the file needs a condition, except `policy`,
//!   `x-amz-signature`, `file` and `x-ignore-*` names, and the file's size is
//!   judged after the fields;
//! - the stored type is the `Content-Type` field; metadata is `x-amz-meta-*`.

use chrono::{DateTime, TimeDelta, Utc};

use super::{
    Accepted, Coverage, Dialect, KeyStore, Rejected, Signed, Submission, lookup_secret,
    signature_mismatch,
};
use crate::policy::Policy;
use crate::sign::s3::{ALGORITHM, SERVICE, TERMINATOR, signing_key_s3};
use crate::sign::sigv4::{KeyIdCache, Scope, Stamp, verify_hex_mac};
use crate::time::{self, TimeRangeError};
use crate::wire;

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
        Some(Scope::parse(submission.field("x-amz-credential")?)?.access_key_id)
    }

    /// Accepts or rejects `submission` as S3 would at `now`.
    pub fn verify<'a>(
        &self,
        submission: &'a Submission,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected> {
        super::verify(self, submission, &*self.keys, now)
    }

    /// [`S3Verifier::verify`] with `keys` in place of the verifier's own
    /// store for this one call (see [`S3Verifier::key_id`]).
    pub fn verify_with<'a>(
        &self,
        submission: &'a Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected> {
        super::verify(self, submission, keys, now)
    }

    /// Every reason `policy` would reject `submission` at `now`, without
    /// checking a signature: for a policy you hold. Empty when it would pass.
    pub fn explain(
        &self,
        policy: &Policy,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> Vec<Rejected> {
        super::explain(self, policy, submission, now)
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
        let Some(Scope {
            access_key_id,
            date,
            region,
            service,
            terminator,
        }) = Scope::parse(credential)
        else {
            return Err(malformed(
                "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
                format!(
                    "x-amz-credential `{credential}` must have 5 parts: <AccessKeyId>/<yyyymmdd>/<region>/s3/aws4_request"
                ),
            ));
        };
        if region != self.region {
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
        if service != SERVICE {
            return Err(malformed(
                &format!("incorrect service '{service}'. This endpoint belongs to '{SERVICE}'."),
                format!("x-amz-credential names the service `{service}`, expected `{SERVICE}`"),
            ));
        }
        if terminator != TERMINATOR {
            return Err(malformed(
                &format!("incorrect terminal '{terminator}'. This endpoint uses '{TERMINATOR}'."),
                format!("x-amz-credential ends with `{terminator}`, expected `{TERMINATOR}`"),
            ));
        }
        let signed_at = Stamp::parse(auth.date).ok_or_else(|| {
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
        if auth.date.get(..8) != Some(date) {
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
        if !verify_hex_mac(mac, auth.policy, auth.signature) {
            return Err(signature_mismatch(format!(
                "x-amz-signature does not match the policy signed with the secret of `{access_key_id}` for {date}/{region}/{SERVICE}"
            )));
        }
        Ok(access_key_id)
    }
}

impl Dialect for S3Verifier {
    const NAME: &'static str = "S3";
    const RULES: crate::rules::Dialect = crate::rules::Dialect::S3;
    const OPERATORS: &'static [&'static str] = &["eq", "starts-with", "content-length-range"];
    const EXPANDS_KEY_FIRST: bool = true;
    const CONTENT_TYPE_LISTS: bool = true;
    const COVERAGE: Option<Coverage> = Some(Coverage {
        exempt: &["policy", "x-amz-signature", "file"],
        exempt_prefix: "x-ignore-",
        rule: "S3 requires a condition for every field before the file except policy, x-amz-signature and x-ignore-* names",
        status: 403,
        service_code: "AccessDenied",
        message: "Invalid according to Policy: Extra input fields: ",
    });
    const SIZE_AFTER_FIELDS: bool = true;
    const META_PREFIX: &'static str = "x-amz-meta-";
    const STORED: &'static [&'static str] = &[
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
    const REDIRECT_FIELDS: &'static [&'static str] = &["success_action_redirect", "redirect"];
    const ANONYMOUS_DENIED: &'static str = "Access Denied";

    fn target_bucket(&self) -> Option<&str> {
        Some(&self.bucket)
    }

    fn anonymous_allowed(&self) -> bool {
        self.allow_anonymous
    }

    fn no_file() -> Rejected {
        Rejected::new(
            400,
            "InvalidArgument",
            ONE_FILE,
            "the form has no file part (it must be the last field, named `file`)",
        )
    }

    /// A field sent twice (names are case-insensitive) is refused.
    fn check_fields(submission: &Submission) -> Result<(), Rejected> {
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

    fn authenticate<'a>(
        &self,
        submission: &'a Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Option<Signed<'a>>, Rejected> {
        let Some(auth) = auth(submission)? else {
            return Ok(None);
        };
        Ok(Some(Signed {
            policy: auth.policy,
            access_key_id: self.check_signature(keys, &auth, now)?,
            v4: false,
        }))
    }

    fn content_type(submission: &Submission) -> Option<&str> {
        submission.field("Content-Type")
    }
}

fn malformed(detail: &str, reason: String) -> Rejected {
    Rejected::new(
        400,
        "AuthorizationHeaderMalformed",
        format!("The authorization header is malformed; {detail}"),
        reason,
    )
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
