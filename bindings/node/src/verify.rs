//! `Verifier`, `S3Verifier` and `explain`: judging a submitted form as OSS
//! (or S3) would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::TimeDelta;
use indexmap::IndexMap;
use napi::Result;
use napi::bindgen_prelude::{Either, Env, External, Function, FunctionRef, Null};
use napi_derive::napi;
use postpolicy::{FileInfo, KeyStore, Policy, Rejected, S3Verifier, Submission, Verifier};

use crate::errors::{invalid_arg, throw_from, to_u32};
use crate::time::now_in_range;

/// The file part of a form.
#[napi(object, object_to_js = false)]
pub struct FileInput {
    pub filename: String,
    /// The part's `Content-Type`.
    pub content_type: Option<Either<String, Null>>,
    /// The size in bytes, when known.
    pub size: Option<Either<f64, Null>>,
}

/// What the browser sent: the fields before the file part (in order, as
/// `[name, value]` pairs), the file part, and the fields after it.
#[napi(object, object_to_js = false)]
pub struct SubmissionInput {
    pub fields: Vec<(String, String)>,
    /// `null` or absent: the form has no file part.
    pub file: Option<Either<FileInput, Null>>,
    pub fields_after_file: Option<Vec<(String, String)>>,
}

impl SubmissionInput {
    fn into_core(self) -> Result<Submission> {
        let file = match non_null(self.file) {
            None => None,
            Some(f) => Some(FileInfo {
                filename: f.filename,
                content_type: non_null(f.content_type),
                size: non_null(f.size).map(to_size).transpose()?,
            }),
        };
        Ok(Submission {
            fields: self.fields,
            fields_after_file: self.fields_after_file.unwrap_or_default(),
            file,
        })
    }
}

/// `undefined` and `null` alike mean "none".
fn non_null<T>(value: Option<Either<T, Null>>) -> Option<T> {
    match value {
        Some(Either::A(v)) => Some(v),
        Some(Either::B(Null)) | None => None,
    }
}

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn to_size(size: f64) -> Result<u64> {
    if size.is_finite() && size >= 0.0 && size.fract() == 0.0 && size <= MAX_SAFE_INTEGER {
        // Exact: a non-negative integer below 2^53.
        Ok(size as u64)
    } else {
        Err(invalid_arg(format!(
            "file.size must be a non-negative integer, found {size}"
        )))
    }
}

/// Access key id → secret, as JS gives it: a function called synchronously
/// during `verify` with the key id the form names (returning the secret or
/// `null`/`undefined`), or an object (copied when the verifier is made).
type KeysInput<'a> = Either<Function<'a, String, Option<String>>, HashMap<String, String>>;

/// Options of `verifierNew`.
#[napi(object, object_to_js = false)]
pub struct VerifierOptions<'a> {
    pub bucket: String,
    /// `cn-hangzhou` or `oss-cn-hangzhou`.
    pub region: String,
    /// Access key id → secret: an object (copied when the verifier is made),
    /// or a function called synchronously during `verify` with the key id the
    /// form names, returning the secret or `null`/`undefined`.
    pub keys: KeysInput<'a>,
    /// How far in the future an `x-oss-date` may be, in seconds (default 900).
    pub clock_skew_seconds: Option<f64>,
    /// Accept unsigned forms, as a `public-read-write` bucket does (default false).
    pub allow_anonymous: Option<bool>,
    /// Expect CloudBox credentials (`oss-cloudbox`, this id as the region).
    pub cloudbox_id: Option<String>,
}

/// The secrets a JS key function gave for one `verify` call, and the key ids
/// the core asked for that it has not answered yet.
#[derive(Default)]
struct Lookup {
    asked: Vec<String>,
    answers: HashMap<String, Option<String>>,
}

fn lock(lookup: &Mutex<Lookup>) -> MutexGuard<'_, Lookup> {
    match lookup.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The key store handed to the core.
enum Store {
    Map(HashMap<String, String>),
    /// The core's key store cannot call JS (it must be `Send + Sync`), so it
    /// answers from `lookup` and records the ids it missed; `verify` then
    /// calls the JS function for those ids on the JS thread and runs again.
    Lookup(Arc<Mutex<Lookup>>),
}

impl KeyStore for Store {
    fn secret(&self, access_key_id: &str) -> Option<String> {
        match self {
            Store::Map(map) => map.get(access_key_id).cloned(),
            Store::Lookup(shared) => {
                let mut state = lock(shared);
                match state.answers.get(access_key_id) {
                    Some(answer) => answer.clone(),
                    None => {
                        state.asked.push(access_key_id.to_owned());
                        None
                    }
                }
            }
        }
    }

    fn secret_ref(&self, access_key_id: &str) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Store::Map(map) => map.secret_ref(access_key_id),
            Store::Lookup(_) => self.secret(access_key_id).map(Into::into),
        }
    }
}

/// Where a verifier's secrets come from, on the JS side.
enum Keys {
    Map,
    Function {
        callback: FunctionRef<String, Option<String>>,
        lookup: Arc<Mutex<Lookup>>,
    },
}

fn keys_of(keys: KeysInput<'_>) -> Result<(Store, Keys)> {
    Ok(match keys {
        Either::B(map) => (Store::Map(map), Keys::Map),
        Either::A(function) => {
            let lookup = Arc::new(Mutex::new(Lookup::default()));
            (
                Store::Lookup(Arc::clone(&lookup)),
                Keys::Function {
                    callback: function.create_ref()?,
                    lookup,
                },
            )
        }
    })
}

impl Keys {
    /// Runs `verify` (a core verification), asking the JS key function for
    /// the ids the core missed; secrets are not kept between calls.
    fn run(
        &self,
        env: &Env,
        verify: impl Fn() -> std::result::Result<postpolicy::Accepted, Rejected>,
    ) -> Result<std::result::Result<postpolicy::Accepted, Rejected>> {
        let Keys::Function { callback, lookup } = self else {
            return Ok(verify());
        };
        *lock(lookup) = Lookup::default();
        let outcome = ask_and_verify(env, callback, lookup, verify);
        *lock(lookup) = Lookup::default();
        outcome
    }
}

fn ask_and_verify(
    env: &Env,
    callback: &FunctionRef<String, Option<String>>,
    lookup: &Mutex<Lookup>,
    verify: impl Fn() -> std::result::Result<postpolicy::Accepted, Rejected>,
) -> Result<std::result::Result<postpolicy::Accepted, Rejected>> {
    let mut outcome = verify();
    // A form names one access key; the bound only guards against a loop.
    for _ in 0..4 {
        let asked = std::mem::take(&mut lock(lookup).asked);
        if asked.is_empty() {
            break;
        }
        let function = callback.borrow_back(env)?;
        for id in asked {
            let secret = function.call(id.clone())?;
            lock(lookup).answers.insert(id, secret);
        }
        outcome = verify();
    }
    Ok(outcome)
}

/// A verifier and where its secrets come from.
pub struct VerifierHandle {
    inner: Verifier,
    keys: Keys,
}

/// A non-negative number of seconds as a duration (exact for any whole number
/// of milliseconds below 2^53 / 1000 seconds).
fn seconds(value: f64, name: &str) -> Result<TimeDelta> {
    if !(value.is_finite() && (0.0..=MAX_SAFE_INTEGER).contains(&value)) {
        return Err(invalid_arg(format!(
            "{name} must be a non-negative number, found {value}"
        )));
    }
    Ok(TimeDelta::milliseconds((value * 1000.0).round() as i64))
}

/// A verifier for forms posted to one bucket, judging exactly as OSS would.
#[napi(catch_unwind)]
pub fn verifier_new(env: &Env, options: VerifierOptions<'_>) -> Result<External<VerifierHandle>> {
    let (store, keys) = keys_of(options.keys)?;
    let mut inner = Verifier::new(&options.bucket, &options.region, store)
        .allow_anonymous(options.allow_anonymous.unwrap_or(false));
    if let Some(value) = options.clock_skew_seconds {
        inner = inner
            .with_clock_skew(seconds(value, "clockSkewSeconds")?)
            .map_err(|e| throw_from(env, e))?;
    }
    if let Some(id) = &options.cloudbox_id {
        inner = inner.with_cloudbox(id);
    }
    Ok(External::new(VerifierHandle { inner, keys }))
}

/// The bucket a verifier judges forms for.
#[napi(catch_unwind)]
pub fn verifier_bucket(verifier: &External<VerifierHandle>) -> String {
    verifier.inner.bucket().unwrap_or_default().to_owned()
}

/// Accepts the submission (returns where and how it is stored) or throws a
/// `REJECTED` error with the service's `status`, `ossCode`, `ossMessage`, the
/// failing `conditionIndex` and a plain `reason`.
#[napi(catch_unwind)]
pub fn verifier_verify(
    env: &Env,
    verifier: &External<VerifierHandle>,
    submission: SubmissionInput,
    now_millis: Option<f64>,
) -> Result<Accepted> {
    let submission = submission.into_core()?;
    let now = now_in_range(env, now_millis)?;
    verifier
        .keys
        .run(env, || verifier.inner.verify(&submission, now))?
        .map(Accepted::from)
        .map_err(|r| throw_from(env, r))
}

/// Options of `s3VerifierNew`.
#[napi(object, object_to_js = false)]
pub struct S3VerifierOptions<'a> {
    pub bucket: String,
    /// `us-east-1`, or the region name of an S3-compatible server (`garage`, `auto`, …).
    pub region: String,
    /// Access key id → secret, as for `verifierNew`.
    pub keys: KeysInput<'a>,
    /// Refuse forms whose `x-amz-date` is older than this many seconds, as
    /// Garage does (S3 itself goes by the policy's expiration only, the default).
    pub max_date_age_seconds: Option<f64>,
    /// Accept unsigned forms, as a bucket with a public-write policy does (default false).
    pub allow_anonymous: Option<bool>,
}

/// An S3 verifier and where its secrets come from.
pub struct S3VerifierHandle {
    inner: S3Verifier,
    keys: Keys,
}

/// A verifier for S3 presigned POST forms (AWS SigV4) posted to one bucket,
/// judging as S3 does.
#[napi(catch_unwind)]
pub fn s3_verifier_new(
    env: &Env,
    options: S3VerifierOptions<'_>,
) -> Result<External<S3VerifierHandle>> {
    let (store, keys) = keys_of(options.keys)?;
    let max_age = options
        .max_date_age_seconds
        .map(|value| seconds(value, "maxDateAgeSeconds"))
        .transpose()?;
    let inner = S3Verifier::new(&options.bucket, &options.region, store)
        .with_max_date_age(max_age)
        .map_err(|e| throw_from(env, e))?
        .allow_anonymous(options.allow_anonymous.unwrap_or(false));
    Ok(External::new(S3VerifierHandle { inner, keys }))
}

/// What an S3 verifier judges forms for.
#[napi(object, object_from_js = false)]
pub struct S3VerifierInfo {
    pub bucket: String,
    pub region: String,
}

#[napi(catch_unwind)]
pub fn s3_verifier_info(verifier: &External<S3VerifierHandle>) -> S3VerifierInfo {
    S3VerifierInfo {
        bucket: verifier.inner.bucket().to_owned(),
        region: verifier.inner.region().to_owned(),
    }
}

/// Accepts the submission as S3 would, or throws `REJECTED` with S3's
/// `status`, code (`ossCode`), message (`ossMessage`), `conditionIndex` and `reason`.
#[napi(catch_unwind)]
pub fn s3_verifier_verify(
    env: &Env,
    verifier: &External<S3VerifierHandle>,
    submission: SubmissionInput,
    now_millis: Option<f64>,
) -> Result<Accepted> {
    let submission = submission.into_core()?;
    let now = now_in_range(env, now_millis)?;
    verifier
        .keys
        .run(env, || verifier.inner.verify(&submission, now))?
        .map(Accepted::from)
        .map_err(|r| throw_from(env, r))
}

/// Every reason S3 would reject `submission` under `policy` (empty when it
/// would pass), without checking a signature.
#[napi(catch_unwind)]
pub fn s3_verifier_explain(
    env: &Env,
    verifier: &External<S3VerifierHandle>,
    policy: &External<Policy>,
    submission: SubmissionInput,
    now_millis: Option<f64>,
) -> Result<Vec<Rejection>> {
    let submission = submission.into_core()?;
    Ok(verifier
        .inner
        .explain(policy, &submission, now_in_range(env, now_millis)?)
        .into_iter()
        .map(Rejection::from)
        .collect())
}

/// An inclusive byte range.
#[napi(object, object_from_js = false)]
pub struct ByteRange {
    pub min: f64,
    pub max: f64,
}

/// An accepted upload: where it is stored and how to answer.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Accepted {
    /// The object key after `${filename}` expansion.
    pub key: String,
    /// 200, 201 or 204 (from `success_action_status`, default 204).
    pub status: u32,
    /// `success_action_redirect`, which takes precedence over `status`.
    pub redirect: Option<String>,
    /// The object's Content-Type.
    pub content_type: Option<String>,
    /// Headers and metadata stored with the object (lower-case names, in form order).
    pub metadata: IndexMap<String, String>,
    /// The sizes the file may have.
    pub size_limit: ByteRange,
    /// The access key that signed the form (`null` for anonymous uploads).
    pub access_key_id: Option<String>,
}

impl From<postpolicy::Accepted> for Accepted {
    fn from(a: postpolicy::Accepted) -> Self {
        Self {
            key: a.key,
            status: u32::from(a.status),
            redirect: a.redirect,
            content_type: a.content_type,
            metadata: a.metadata.into_iter().collect(),
            size_limit: ByteRange {
                min: a.size_limit.min as f64,
                max: a.size_limit.max as f64,
            },
            access_key_id: a.access_key_id,
        }
    }
}

/// Why the service would reject an upload (the properties of a `REJECTED`
/// error, as a plain object).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Rejection {
    /// HTTP status.
    pub status: u32,
    /// The service's error code (`AccessDenied`, `EntityTooLarge`, …).
    pub oss_code: String,
    /// The service's message, in its documented wording.
    pub oss_message: String,
    /// The 0-based index of the failing condition, or `null`.
    pub condition_index: Option<u32>,
    /// What went wrong, naming the value sent and what was expected.
    pub reason: String,
    /// The whole message: `<ossCode> (<status>): <reason>`.
    pub message: String,
}

impl From<Rejected> for Rejection {
    fn from(r: Rejected) -> Self {
        Self {
            status: u32::from(r.status),
            oss_code: r.service_code.to_owned(),
            message: r.to_string(),
            oss_message: r.message,
            condition_index: r.condition_index.map(to_u32),
            reason: r.reason,
        }
    }
}

/// Every reason `policy` would reject `submission` (empty when it would
/// pass), without checking a signature: for a policy you hold.
/// `bucket` conditions are judged only when the target `bucket` is given.
#[napi(catch_unwind)]
pub fn explain(
    env: &Env,
    policy: &External<Policy>,
    submission: SubmissionInput,
    now_millis: Option<f64>,
    bucket: Option<String>,
) -> Result<Vec<Rejection>> {
    let submission = submission.into_core()?;
    let no_keys = |_: &str| None;
    let checker = match &bucket {
        Some(bucket) => Verifier::new(bucket, "cn-hangzhou", no_keys),
        None => Verifier::for_any_bucket("cn-hangzhou", no_keys),
    };
    Ok(checker
        .explain(policy, &submission, now_in_range(env, now_millis)?)
        .into_iter()
        .map(Rejection::from)
        .collect())
}
