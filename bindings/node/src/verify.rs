//! `Verifier`, `S3Verifier` and `explain`: judging a submitted form as OSS
//! (or S3) would.

use std::collections::HashMap;

use chrono::TimeDelta;
use napi::bindgen_prelude::{Date, Either, Env, Function, FunctionRef, Null, Object, Unknown};
use napi::{JsValue, Result, ValueType};
use napi_derive::napi;
use postpolicy::{FileInfo, Rejected, Submission};

use crate::convert::{self, MAX_SAFE_INTEGER};
use crate::errors::{OrThrow, guard, invalid_arg, to_u32};
use crate::policy::{NowOptions, Policy};

/// The file part of a form.
#[napi(object, object_to_js = false, js_name = "FileInfo")]
pub struct FileInput {
    pub filename: String,
    /// The part's `Content-Type`.
    pub content_type: Option<Either<String, Null>>,
    /// The size in bytes, when known.
    pub size: Option<Either<f64, Null>>,
}

/// What the browser sent: the fields before the file part (in order), the
/// file part, and the fields after it (the service ignores them).
#[napi(object, object_to_js = false, js_name = "Submission")]
pub struct SubmissionInput<'a> {
    #[napi(
        ts_type = "ReadonlyArray<readonly [name: string, value: string]> | ReadonlyMap<string, string> | Readonly<Record<string, string>>"
    )]
    pub fields: Unknown<'a>,
    /// The file part; `null` when the form has none.
    pub file: Option<Either<FileInput, Null>>,
    #[napi(
        ts_type = "ReadonlyArray<readonly [name: string, value: string]> | ReadonlyMap<string, string> | Readonly<Record<string, string>> | null"
    )]
    pub fields_after_file: Option<Unknown<'a>>,
}

/// The submission as the core takes it.
fn submission(env: &Env, input: Option<SubmissionInput<'_>>) -> Result<Submission> {
    let Some(input) = input else {
        return Err(invalid_arg(
            env,
            "the submission must be an object: { fields, file, fieldsAfterFile }",
        ));
    };
    let file = match convert::given(input.file) {
        None => None,
        Some(f) => Some(FileInfo {
            filename: f.filename,
            content_type: convert::given(f.content_type),
            size: convert::given(f.size)
                .map(|size| file_size(env, size))
                .transpose()?,
        }),
    };
    let fields_after_file = match &input.fields_after_file {
        Some(fields) if !convert::is_nullish(fields)? => {
            convert::string_pairs(env, fields, "fieldsAfterFile")?
        }
        _ => Vec::new(),
    };
    Ok(Submission {
        fields: convert::string_pairs(env, &input.fields, "fields")?,
        fields_after_file,
        file,
    })
}

fn file_size(env: &Env, size: f64) -> Result<u64> {
    convert::whole(size).ok_or_else(|| {
        invalid_arg(
            env,
            format!("file.size must be a non-negative integer, found {size}"),
        )
    })
}

/// A non-negative number of seconds as a duration (exact for any whole
/// number of milliseconds below 2^53 / 1000 seconds).
fn seconds(env: &Env, value: f64, name: &str) -> Result<TimeDelta> {
    if !(value.is_finite() && (0.0..=MAX_SAFE_INTEGER).contains(&value)) {
        return Err(invalid_arg(
            env,
            format!("{name} must be a non-negative number, found {value}"),
        ));
    }
    Ok(TimeDelta::milliseconds((value * 1000.0).round() as i64))
}

// ---- where secrets come from -------------------------------------------------

/// Where a verifier's secrets come from.
enum Keys {
    /// An object, copied into the core verifier's own store when it was made.
    Map,
    /// A JS function, asked for the one key id each form names (the core's
    /// `key_id`); the core then verifies once with that secret.
    Function(FunctionRef<String, Option<String>>),
}

/// Access key id → secret: an object (copied now) or a function called with
/// the key id a form names.
type KeysInput<'a> = Either<Function<'a, String, Option<String>>, Unknown<'a>>;

/// The store the core verifier is made with, and where `verify` finds secrets.
fn keys_of(env: &Env, keys: KeysInput<'_>) -> Result<(HashMap<String, String>, Keys)> {
    let refuse = |keys: &Unknown<'_>| -> Result<napi::Error> {
        Ok(invalid_arg(
            env,
            format!(
                "keys must be an object {{ accessKeyId: secret }} or a function (accessKeyId) => secret, not {}",
                convert::kind_of(keys)?
            ),
        ))
    };
    Ok(match keys {
        Either::A(function) => (HashMap::new(), Keys::Function(function.create_ref()?)),
        Either::B(value) => {
            if value.get_type()? != ValueType::Object
                || value.is_array()?
                || convert::kind_of(&value)? == "a Map"
            {
                return Err(refuse(&value)?);
            }
            let mut map = HashMap::new();
            for (id, secret) in convert::entries(&value)? {
                let Some(secret) = convert::string_of(&secret) else {
                    return Err(refuse(&value)?);
                };
                map.insert(id, secret);
            }
            (map, Keys::Map)
        }
    })
}

impl Keys {
    /// Verifies with the verifier's own store, or asks the JS function for the
    /// key id the form names (`key_id`) and verifies once with that secret
    /// (`verify_with`). Secrets are not kept between calls.
    fn verify<T>(
        &self,
        env: &Env,
        key_id: Option<&str>,
        verify: impl FnOnce() -> std::result::Result<T, Rejected>,
        verify_with: impl FnOnce(&HashMap<String, String>) -> std::result::Result<T, Rejected>,
    ) -> Result<std::result::Result<T, Rejected>> {
        let Keys::Function(lookup) = self else {
            return Ok(verify());
        };
        let mut secrets = HashMap::new();
        if let Some(id) = key_id
            && let Some(secret) = lookup.borrow_back(env)?.call(id.to_owned())?
        {
            secrets.insert(id.to_owned(), secret);
        }
        Ok(verify_with(&secrets))
    }
}

// ---- results ---------------------------------------------------------------

/// An inclusive byte range.
#[napi(object, object_from_js = false)]
pub struct ByteRange {
    pub min: f64,
    pub max: f64,
}

/// An accepted upload: where it is stored and how to answer.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Accepted<'env> {
    /// The object key after `${filename}` expansion.
    pub key: String,
    /// 200, 201 or 204 (from `success_action_status`, default 204).
    pub status: u32,
    /// `success_action_redirect` (takes precedence over `status`), or `null`.
    pub redirect: Option<String>,
    /// The object's Content-Type, or `null`.
    pub content_type: Option<String>,
    /// Headers and metadata stored with the object (lower-case names, in form order).
    #[napi(ts_type = "Record<string, string>")]
    pub metadata: Object<'env>,
    /// The sizes the file may have.
    pub size_limit: ByteRange,
    /// The access key that signed the form (`null` for anonymous uploads).
    pub access_key_id: Option<String>,
}

impl<'env> Accepted<'env> {
    fn new(env: &'env Env, a: postpolicy::Accepted<'_>) -> Result<Self> {
        let own = |s: Option<std::borrow::Cow<'_, str>>| s.map(std::borrow::Cow::into_owned);
        Ok(Self {
            metadata: convert::record(env, convert::pairs(&a.metadata))?,
            key: a.key.into_owned(),
            status: u32::from(a.status),
            redirect: own(a.redirect),
            content_type: own(a.content_type),
            size_limit: ByteRange {
                min: a.size_limit.min as f64,
                max: a.size_limit.max as f64,
            },
            access_key_id: own(a.access_key_id),
        })
    }
}

/// Why the service would reject an upload: the properties of a `REJECTED`
/// error, as a plain object.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Rejection {
    /// HTTP status.
    pub status: u32,
    /// The service's error code (`AccessDenied`, `EntityTooLarge`, …).
    pub service_code: String,
    /// The service's message, in its documented wording.
    pub service_message: String,
    /// The 0-based index of the failing condition, or `null`.
    pub condition_index: Option<u32>,
    /// What went wrong, naming the value sent and what was expected.
    pub reason: String,
    /// `<serviceCode> (<status>): <reason>`.
    pub message: String,
}

impl From<Rejected> for Rejection {
    fn from(r: Rejected) -> Self {
        Self {
            status: u32::from(r.status),
            service_code: r.service_code.to_owned(),
            message: r.to_string(),
            service_message: r.message,
            condition_index: r.condition_index.map(to_u32),
            reason: r.reason,
        }
    }
}

fn rejections(rejected: Vec<Rejected>) -> Vec<Rejection> {
    rejected.into_iter().map(Rejection::from).collect()
}

// ---- OSS -------------------------------------------------------------------

/// What `new Verifier` takes.
#[napi(object, object_to_js = false)]
pub struct VerifierOptions<'a> {
    pub bucket: String,
    /// `cn-hangzhou` or `oss-cn-hangzhou`.
    pub region: String,
    /// Access key id → secret: an object (copied), or a function called
    /// during `verify` with the key id the form names.
    #[napi(
        ts_type = "Readonly<Record<string, string>> | ((accessKeyId: string) => string | null | undefined)"
    )]
    pub keys: KeysInput<'a>,
    /// How far in the future an `x-oss-date` may be, in seconds (default 900).
    pub clock_skew_seconds: Option<Either<f64, Null>>,
    /// Accept unsigned forms, as a `public-read-write` bucket does (default false).
    pub allow_anonymous: Option<Either<bool, Null>>,
    /// Expect CloudBox credentials (`oss-cloudbox`, this id as the region).
    pub cloudbox_id: Option<Either<String, Null>>,
}

/// Verifies forms posted to one bucket, exactly as OSS would.
#[napi]
pub struct Verifier {
    inner: postpolicy::Verifier,
    keys: Keys,
}

#[napi]
impl Verifier {
    #[napi(constructor, ts_args_type = "options: VerifierOptions")]
    pub fn new(env: &Env, options: Option<VerifierOptions<'_>>) -> Result<Self> {
        guard(env, || {
            let Some(o) = options else {
                return Err(invalid_arg(env, "new Verifier({ bucket, region, keys })"));
            };
            let (store, keys) = keys_of(env, o.keys)?;
            let mut inner = postpolicy::Verifier::new(&o.bucket, &o.region, store)
                .allow_anonymous(convert::given(o.allow_anonymous).unwrap_or(false));
            if let Some(value) = convert::given(o.clock_skew_seconds) {
                inner = inner
                    .with_clock_skew(seconds(env, value, "clockSkewSeconds")?)
                    .or_throw(env)?;
            }
            if let Some(id) = convert::given(o.cloudbox_id) {
                inner = inner.with_cloudbox(&id);
            }
            Ok(Self { inner, keys })
        })
    }

    #[napi(getter, catch_unwind)]
    pub fn bucket(&self) -> String {
        self.inner.bucket().unwrap_or_default().to_owned()
    }

    /// Accepts the submission (where and how it is stored), or throws a
    /// `REJECTED` error with the service's `status`, `serviceCode`,
    /// `serviceMessage`, the failing `conditionIndex` and a plain `reason`.
    #[napi(ts_args_type = "submission: Submission, options?: NowOptions")]
    pub fn verify<'env>(
        &self,
        env: &'env Env,
        submission: Option<SubmissionInput<'_>>,
        options: Option<NowOptions<'_>>,
    ) -> Result<Accepted<'env>> {
        guard(env, || {
            let submission = self::submission(env, submission)?;
            let now = now_of(env, options.as_ref())?;
            let accepted = self
                .keys
                .verify(
                    env,
                    self.inner.key_id(&submission),
                    || self.inner.verify(&submission, now),
                    |keys| self.inner.verify_with(&submission, keys, now),
                )?
                .or_throw(env)?;
            Accepted::new(env, accepted)
        })
    }
}

fn now_of(env: &Env, options: Option<&NowOptions<'_>>) -> Result<chrono::DateTime<chrono::Utc>> {
    convert::now_in_range(env, options.and_then(|o| convert::now_field(&o.now)))
}

/// What `explain` takes.
#[napi(object, object_to_js = false)]
pub struct ExplainOptions<'a> {
    pub now: Option<Either<Either<Date<'a>, f64>, Null>>,
    /// The target bucket: `bucket` conditions are judged only when it is given.
    pub bucket: Option<Either<String, Null>>,
}

/// Every reason `policy` would reject `submission` (empty when it would
/// pass), without checking a signature: for a policy you hold.
#[napi(ts_args_type = "policy: Policy, submission: Submission, options?: ExplainOptions")]
pub fn explain(
    env: &Env,
    policy: &Policy,
    submission: Option<SubmissionInput<'_>>,
    options: Option<ExplainOptions<'_>>,
) -> Result<Vec<Rejection>> {
    guard(env, || {
        let submission = self::submission(env, submission)?;
        let now = convert::now_in_range(
            env,
            options.as_ref().and_then(|o| convert::now_field(&o.now)),
        )?;
        // A verifier with no keys judges the policy alone; `bucket`
        // conditions only when the bucket is known.
        let no_keys = |_: &str| None;
        let judge = match options.and_then(|o| convert::given(o.bucket)) {
            Some(bucket) => postpolicy::Verifier::new(&bucket, "cn-hangzhou", no_keys),
            None => postpolicy::Verifier::for_any_bucket("cn-hangzhou", no_keys),
        };
        Ok(rejections(judge.explain(&policy.0, &submission, now)))
    })
}

// ---- S3 --------------------------------------------------------------------

/// What `new S3Verifier` takes.
#[napi(object, object_to_js = false)]
pub struct S3VerifierOptions<'a> {
    pub bucket: String,
    /// `us-east-1`, or the region name of an S3-compatible server (`garage`, …).
    pub region: String,
    /// Access key id → secret, as for `Verifier`.
    #[napi(
        ts_type = "Readonly<Record<string, string>> | ((accessKeyId: string) => string | null | undefined)"
    )]
    pub keys: KeysInput<'a>,
    /// Refuse forms whose `x-amz-date` is older than this many seconds, as
    /// Garage does (24 hours). Default: none; S3 goes by the policy's expiration.
    pub max_date_age_seconds: Option<Either<f64, Null>>,
    /// Accept unsigned forms, as a bucket with a public-write policy does (default false).
    pub allow_anonymous: Option<Either<bool, Null>>,
}

/// Verifies S3 presigned POST forms posted to one bucket, as S3 would: every
/// field must be covered by a condition, `${filename}` is expanded before the
/// key is checked. Rejections carry S3's codes and messages.
#[napi]
pub struct S3Verifier {
    inner: postpolicy::S3Verifier,
    keys: Keys,
}

#[napi]
impl S3Verifier {
    #[napi(constructor, ts_args_type = "options: S3VerifierOptions")]
    pub fn new(env: &Env, options: Option<S3VerifierOptions<'_>>) -> Result<Self> {
        guard(env, || {
            let Some(o) = options else {
                return Err(invalid_arg(
                    env,
                    "new S3Verifier({ bucket, region, keys, maxDateAgeSeconds?, allowAnonymous? })",
                ));
            };
            let (store, keys) = keys_of(env, o.keys)?;
            let max_age = convert::given(o.max_date_age_seconds)
                .map(|value| seconds(env, value, "maxDateAgeSeconds"))
                .transpose()?;
            let inner = postpolicy::S3Verifier::new(&o.bucket, &o.region, store)
                .with_max_date_age(max_age)
                .or_throw(env)?
                .allow_anonymous(convert::given(o.allow_anonymous).unwrap_or(false));
            Ok(Self { inner, keys })
        })
    }

    #[napi(getter, catch_unwind)]
    pub fn bucket(&self) -> String {
        self.inner.bucket().to_owned()
    }

    #[napi(getter, catch_unwind)]
    pub fn region(&self) -> String {
        self.inner.region().to_owned()
    }

    /// Accepts the submission as S3 would, or throws a `REJECTED` error.
    #[napi(ts_args_type = "submission: Submission, options?: NowOptions")]
    pub fn verify<'env>(
        &self,
        env: &'env Env,
        submission: Option<SubmissionInput<'_>>,
        options: Option<NowOptions<'_>>,
    ) -> Result<Accepted<'env>> {
        guard(env, || {
            let submission = self::submission(env, submission)?;
            let now = now_of(env, options.as_ref())?;
            let accepted = self
                .keys
                .verify(
                    env,
                    self.inner.key_id(&submission),
                    || self.inner.verify(&submission, now),
                    |keys| self.inner.verify_with(&submission, keys, now),
                )?
                .or_throw(env)?;
            Accepted::new(env, accepted)
        })
    }

    /// Every reason S3 would reject `submission` under `policy` (empty when it
    /// would pass), without checking a signature.
    #[napi(ts_args_type = "policy: Policy, submission: Submission, options?: NowOptions")]
    pub fn explain(
        &self,
        env: &Env,
        policy: &Policy,
        submission: Option<SubmissionInput<'_>>,
        options: Option<NowOptions<'_>>,
    ) -> Result<Vec<Rejection>> {
        guard(env, || {
            let submission = self::submission(env, submission)?;
            let now = now_of(env, options.as_ref())?;
            Ok(rejections(self.inner.explain(&policy.0, &submission, now)))
        })
    }
}

// ---- GCS -------------------------------------------------------------------

/// What `new GcsVerifier` takes.
#[napi(object, object_to_js = false)]
pub struct GcsVerifierOptions<'a> {
    pub bucket: String,
    /// HMAC access id → secret, as for `Verifier`.
    #[napi(
        ts_type = "Readonly<Record<string, string>> | ((accessId: string) => string | null | undefined)"
    )]
    pub keys: Option<KeysInput<'a>>,
    /// Service accounts whose RSA signatures are accepted: key file paths
    /// (node's `GcsVerifier` also takes parsed key files, passed as
    /// `serviceAccountsJson`).
    pub service_accounts: Option<Vec<String>>,
    pub service_accounts_json: Option<Vec<String>>,
}

/// Verifies Google Cloud Storage V4 POST forms posted to one bucket, as GCS
/// would: every field but `x-goog-signature`, `file`, `policy` and
/// `x-ignore-*` must be covered by a condition.
#[napi]
pub struct GcsVerifier {
    inner: postpolicy::GcsVerifier,
    keys: Keys,
}

#[napi]
impl GcsVerifier {
    #[napi(constructor, ts_args_type = "options: GcsVerifierOptions")]
    pub fn new(env: &Env, options: Option<GcsVerifierOptions<'_>>) -> Result<Self> {
        guard(env, || {
            let Some(o) = options else {
                return Err(invalid_arg(
                    env,
                    "new GcsVerifier({ bucket, keys?, serviceAccounts? })",
                ));
            };
            let (store, keys) = match o.keys {
                Some(input) => keys_of(env, input)?,
                None => (HashMap::new(), Keys::Map),
            };
            let mut inner = postpolicy::GcsVerifier::new(&o.bucket, store);
            for path in o.service_accounts.unwrap_or_default() {
                let key = postpolicy::ServiceAccountKey::from_file(path).or_throw(env)?;
                inner = inner.with_service_account(&key);
            }
            for json in o.service_accounts_json.unwrap_or_default() {
                let key = postpolicy::ServiceAccountKey::from_json(&json).or_throw(env)?;
                inner = inner.with_service_account(&key);
            }
            Ok(Self { inner, keys })
        })
    }

    #[napi(getter)]
    pub fn bucket(&self) -> Option<String> {
        self.inner.bucket().map(str::to_owned)
    }

    /// Accepts the submission as GCS would, or throws a `REJECTED` error.
    #[napi(ts_args_type = "submission: Submission, options?: NowOptions")]
    pub fn verify<'env>(
        &self,
        env: &'env Env,
        submission: Option<SubmissionInput<'_>>,
        options: Option<NowOptions<'_>>,
    ) -> Result<Accepted<'env>> {
        guard(env, || {
            let submission = self::submission(env, submission)?;
            let now = now_of(env, options.as_ref())?;
            let accepted = self
                .keys
                .verify(
                    env,
                    self.inner.key_id(&submission),
                    || self.inner.verify(&submission, now),
                    |keys| self.inner.verify_with(&submission, keys, now),
                )?
                .or_throw(env)?;
            Accepted::new(env, accepted)
        })
    }

    /// Every reason GCS would reject `submission` under `policy` (empty when
    /// it would pass), without checking a signature.
    #[napi(ts_args_type = "policy: Policy, submission: Submission, options?: NowOptions")]
    pub fn explain(
        &self,
        env: &Env,
        policy: &Policy,
        submission: Option<SubmissionInput<'_>>,
        options: Option<NowOptions<'_>>,
    ) -> Result<Vec<Rejection>> {
        guard(env, || {
            let submission = self::submission(env, submission)?;
            let now = now_of(env, options.as_ref())?;
            Ok(rejections(self.inner.explain(&policy.0, &submission, now)))
        })
    }
}
