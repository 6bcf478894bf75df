//! Credentials, the OSS signer, and the low-level signature functions.
//!
//! The signer is handed to JS as an `External` and `ossSign` is a plain
//! function: napi calls a plain function with externals several times faster
//! than a class method, and an `External` is type-checked on the way back in.

use napi::Result;
use napi::bindgen_prelude::{Either, Env, External};
use napi_derive::napi;
use postpolicy::callback::CallbackSpec;
use postpolicy::{
    Credentials, OssSigner, OssVersion, Policy, S3Signer, SignOptions, SignatureError, SignedForm,
};

use crate::errors::throw_from;
use crate::time::from_millis;

/// Credentials from an id, a secret and an optional STS token. Throws
/// `SIGNING_INVALID` for an empty id or secret, or an id with `/` or white space.
#[napi(catch_unwind)]
pub fn credentials_new(
    env: &Env,
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
) -> Result<External<Credentials>> {
    Credentials::new(access_key_id, access_key_secret, security_token)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// Credentials from `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET` /
/// `OSS_SESSION_TOKEN`, or `ALIBABA_CLOUD_ACCESS_KEY_ID` /
/// `ALIBABA_CLOUD_ACCESS_KEY_SECRET` / `ALIBABA_CLOUD_SECURITY_TOKEN`; `null`
/// when no id/secret pair is set.
#[napi(catch_unwind)]
pub fn credentials_from_env(env: &Env) -> Result<Option<External<Credentials>>> {
    match Credentials::from_env() {
        None => Ok(None),
        Some(Ok(credentials)) => Ok(Some(External::new(credentials))),
        Some(Err(e)) => Err(throw_from(env, e)),
    }
}

/// The access key id.
#[napi(catch_unwind)]
pub fn credentials_access_key_id(credentials: &External<Credentials>) -> String {
    credentials.access_key_id().to_owned()
}

/// The STS security token, or `null`. (The secret is never readable from JS.)
#[napi(catch_unwind)]
pub fn credentials_security_token(credentials: &External<Credentials>) -> Option<String> {
    credentials.security_token().map(str::to_owned)
}

/// A signer for `bucket` in `region`. Throws `SIGNING_INVALID` for an invalid
/// region, bucket, endpoint, CloudBox id or version (`v1` or `v4`).
#[napi(catch_unwind)]
pub fn oss_signer_new(
    env: &Env,
    credentials: &External<Credentials>,
    region: String,
    bucket: String,
    endpoint: Option<String>,
    version: Option<String>,
    cloudbox_id: Option<String>,
) -> Result<External<OssSigner>> {
    let build = || -> std::result::Result<OssSigner, postpolicy::SignatureError> {
        let mut signer = OssSigner::new((**credentials).clone(), &region, &bucket)?;
        if let Some(endpoint) = &endpoint {
            signer = signer.with_endpoint(endpoint)?;
        }
        if let Some(id) = &cloudbox_id {
            signer = signer.with_cloudbox(id)?;
        }
        if let Some(version) = &version {
            signer = signer.with_version(version.parse::<OssVersion>()?);
        }
        Ok(signer)
    };
    build().map(External::new).map_err(|e| throw_from(env, e))
}

/// What a signer signs for.
#[napi(object, object_from_js = false)]
pub struct OssSignerInfo {
    /// The form's action URL.
    pub url: String,
    pub bucket: String,
    /// The signing region (without `oss-`), or the CloudBox id.
    pub region: String,
    #[napi(ts_type = "'v1' | 'v4'")]
    pub version: String,
}

#[napi(catch_unwind)]
pub fn oss_signer_info(signer: &External<OssSigner>) -> OssSignerInfo {
    OssSignerInfo {
        url: signer.url().to_owned(),
        bucket: signer.bucket().to_owned(),
        region: signer.region().to_owned(),
        version: match signer.version() {
            OssVersion::V1 => "v1",
            OssVersion::V4 => "v4",
        }
        .to_owned(),
    }
}

/// The options of one signing call: the object key (or a key template ending
/// in `${filename}`) and the upload callback, pinned in the policy unless
/// `pinCallback` is false. `None` when there are none, so that the common call
/// takes the core's plain `sign`.
fn sign_options(
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> std::result::Result<Option<SignOptions>, postpolicy::Error> {
    if key.is_none() && callback.is_none() {
        return Ok(None);
    }
    let mut options = SignOptions::default();
    if let Some(key) = key {
        options = options.key(key);
    }
    if let Some(spec) = callback {
        options = options.callback_fields(spec.to_fields()?);
    }
    if let Some(pin) = pin_callback {
        options = options.pin_callback(pin);
    }
    Ok(Some(options))
}

/// Signs `policy` at `nowMillis` (default: the clock), with an optional object
/// key or key template ending in `${filename}`, and an optional upload
/// callback (pinned in the policy unless `pinCallback` is false).
///
/// The form comes back packed into one string, the cheapest thing napi hands
/// over (see `pack` in bindings/node/src/sign.rs), or as an array of its
/// items when one holds a separator.
/// `index.js` turns it into `{ url, fields, expiresAt, fieldsToFill }`.
#[napi(catch_unwind, ts_return_type = "string | string[]")]
pub fn oss_sign(
    env: &Env,
    signer: &External<OssSigner>,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<Packed> {
    signed(
        env,
        &**signer,
        policy,
        now_millis,
        key,
        callback,
        pin_callback,
    )
    .map(|form| packed(&form))
}

/// Like `ossSign`, but returns the JSON token for the browser exactly as the
/// core writes it: `{"url","fields":{…in order…},"expires_at","fields_to_fill"}`.
#[napi(catch_unwind)]
pub fn oss_sign_token(
    env: &Env,
    signer: &External<OssSigner>,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<String> {
    signed(
        env,
        &**signer,
        policy,
        now_millis,
        key,
        callback,
        pin_callback,
    )
    .map(|form| form.to_json())
}

/// What both signers do, so that one function serves either.
trait FormSigner {
    fn sign_with(
        &self,
        policy: &Policy,
        options: &SignOptions,
        now: chrono::DateTime<chrono::Utc>,
    ) -> std::result::Result<SignedForm, SignatureError>;

    fn sign_json(
        &self,
        policy_json: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> std::result::Result<SignedForm, SignatureError>;
}

macro_rules! form_signer {
    ($signer:ty) => {
        impl FormSigner for $signer {
            fn sign_with(
                &self,
                policy: &Policy,
                options: &SignOptions,
                now: chrono::DateTime<chrono::Utc>,
            ) -> std::result::Result<SignedForm, SignatureError> {
                <$signer>::sign_with(self, policy, options, now)
            }

            fn sign_json(
                &self,
                policy_json: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> std::result::Result<SignedForm, SignatureError> {
                <$signer>::sign_json(self, policy_json, now)
            }
        }
    };
}

form_signer!(OssSigner);
form_signer!(S3Signer);

/// Either signer's signing call, with the options built from the arguments.
fn signed(
    env: &Env,
    signer: &impl FormSigner,
    policy: &Policy,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<SignedForm> {
    let now = from_millis(now_millis)?;
    sign_options(key, callback, pin_callback)
        .and_then(|options| {
            signer
                .sign_with(policy, &options.unwrap_or_default(), now)
                .map_err(postpolicy::Error::from)
        })
        .map_err(|e| throw_from(env, e))
}

/// Either signer's `sign_json`, packed.
fn signed_json(
    env: &Env,
    signer: &impl FormSigner,
    policy_json: &str,
    now_millis: Option<f64>,
) -> Result<Packed> {
    let now = from_millis(now_millis)?;
    signer
        .sign_json(policy_json, now)
        .map_err(|e| throw_from(env, e))
        .map(|form| packed(&form))
}

/// Signs an exact policy JSON text without changing a byte of it (to
/// reproduce another SDK's output); only the signature fields come back, in
/// `ossSign`'s packed shape.
#[napi(catch_unwind, ts_return_type = "string | string[]")]
pub fn oss_sign_json(
    env: &Env,
    signer: &External<OssSigner>,
    policy_json: String,
    now_millis: Option<f64>,
) -> Result<Packed> {
    signed_json(env, &**signer, &policy_json, now_millis)
}

/// What `ossSign` and its kin return: see `pack` and `items`.
type Packed = Either<String, Vec<String>>;

/// Separates the items of a packed form.
const SEPARATOR: char = '\0';
/// Ends the shape of a packed form: the part that is the same from one call to
/// the next for one signer, policy and options.
const SHAPE_END: char = '\x01';

/// The form as `index.js` takes it (see `ossSign`): the packed string, or the
/// items as an array when the separators cannot be used.
fn packed(form: &SignedForm) -> Packed {
    match pack(form) {
        Some(text) => Either::A(text),
        None => Either::B(items(form)),
    }
}

/// `url, fieldsToFill.length, ...fieldsToFill, ...names` each followed by NUL,
/// then `\x01`, then `expiresAt, ...values` each followed by NUL; `None` when
/// an item holds NUL or `\x01` (a value could hold `\x01`, but it is rare
/// enough not to be worth a second rule). `index.js` keeps what it builds
/// from a shape, so the names come across but are not re-read.
fn pack(form: &SignedForm) -> Option<String> {
    let fill_count = form.fields_to_fill.len().to_string();
    let expires_at = postpolicy::format_timestamp(form.expires_at);
    let shape = [form.url.as_str(), fill_count.as_str()]
        .into_iter()
        .chain(form.fields_to_fill.iter().map(String::as_str))
        .chain(form.fields.iter().map(|(name, _)| name.as_str()));
    let values = std::iter::once(expires_at.as_str())
        .chain(form.fields.iter().map(|(_, value)| value.as_str()));
    let item_count = shape.clone().count() + values.clone().count();
    let length = shape
        .clone()
        .chain(values.clone())
        .map(str::len)
        .sum::<usize>()
        + item_count
        + 1;
    let mut text = String::with_capacity(length);
    let push = |text: &mut String, item: &str| {
        text.push_str(item);
        text.push(SEPARATOR);
    };
    shape.for_each(|item| push(&mut text, item));
    text.push(SHAPE_END);
    values.for_each(|item| push(&mut text, item));
    // The separators are the only NUL and `\x01` bytes exactly when no item
    // holds one: one count over the text, cheaper than a search per item.
    (separator_count(&text) == item_count + 1).then_some(text)
}

/// How many bytes of `text` are NUL or `\x01`. Counted in `u8`s per 64-byte
/// chunk, which the compiler turns into vector code (a plain `filter().count()`
/// costs about ten times as many instructions).
fn separator_count(text: &str) -> usize {
    text.as_bytes()
        .chunks(64)
        .map(|chunk| {
            let count = chunk.iter().fold(0u8, |n, &byte| {
                n.wrapping_add(u8::from(byte <= SHAPE_END as u8))
            });
            usize::from(count)
        })
        .sum()
}

/// The fallback for `pack`: `url, expiresAt, fieldsToFill.length,
/// ...fieldsToFill, name0, value0, …`.
fn items(form: &SignedForm) -> Vec<String> {
    let mut items = Vec::with_capacity(3 + form.fields_to_fill.len() + 2 * form.fields.len());
    items.push(form.url.clone());
    items.push(postpolicy::format_timestamp(form.expires_at));
    items.push(form.fields_to_fill.len().to_string());
    items.extend(form.fields_to_fill.iter().cloned());
    for (name, value) in &form.fields {
        items.push(name.clone());
        items.push(value.clone());
    }
    items
}

/// The V1 signature of an already-encoded policy:
/// `base64(HMAC-SHA1(secret, policyB64))`.
#[napi(catch_unwind, js_name = "signV1")]
pub fn sign_v1(secret: String, policy_b64: String) -> String {
    postpolicy::sign_v1(&secret, &policy_b64)
}

/// The V4 signature (lower-case hex) of an already-encoded policy for `date`
/// (yyyymmdd), `region` (with or without `oss-`) and `product` (default
/// `oss`). Throws `SIGNING_INVALID` for a bad date or region.
#[napi(catch_unwind, js_name = "signV4")]
pub fn sign_v4(
    env: &Env,
    secret: String,
    policy_b64: String,
    date: String,
    region: String,
    product: Option<String>,
) -> Result<String> {
    let product = product.as_deref().unwrap_or("oss");
    postpolicy::sign_v4(&secret, &policy_b64, &date, &region, product)
        .map_err(|e| throw_from(env, e))
}

/// An S3 presigned POST signer (AWS SigV4) for `bucket` in `region`: AWS S3,
/// or another S3-compatible `endpoint` (MinIO, Garage, R2, …); `pathStyle`
/// forces `<endpoint>/<bucket>` (true) or `<bucket>.<endpoint host>` (false).
/// Throws `SIGNING_INVALID` for an invalid region, bucket or endpoint.
#[napi(catch_unwind)]
pub fn s3_signer_new(
    env: &Env,
    credentials: &External<Credentials>,
    region: String,
    bucket: String,
    endpoint: Option<String>,
    path_style: Option<bool>,
) -> Result<External<S3Signer>> {
    let build = || -> std::result::Result<S3Signer, postpolicy::SignatureError> {
        let mut signer = S3Signer::new((**credentials).clone(), &region, &bucket)?;
        if let Some(endpoint) = &endpoint {
            signer = signer.with_endpoint(endpoint)?;
        }
        if let Some(path_style) = path_style {
            signer = signer.with_path_style(path_style);
        }
        Ok(signer)
    };
    build().map(External::new).map_err(|e| throw_from(env, e))
}

/// What an S3 signer signs for.
#[napi(object, object_from_js = false)]
pub struct S3SignerInfo {
    /// The form's action URL.
    pub url: String,
    pub bucket: String,
    pub region: String,
    /// Whether the URL is path-style (`<endpoint>/<bucket>`).
    pub path_style: bool,
}

#[napi(catch_unwind)]
pub fn s3_signer_info(signer: &External<S3Signer>) -> S3SignerInfo {
    S3SignerInfo {
        url: signer.url().to_owned(),
        bucket: signer.bucket().to_owned(),
        region: signer.region().to_owned(),
        path_style: signer.path_style(),
    }
}

/// `ossSign` for S3: the same packed form. The core refuses `in` / `not-in`
/// conditions and callbacks (OSS only) with `SIGNING_INVALID`.
#[napi(catch_unwind, ts_return_type = "string | string[]")]
pub fn s3_sign(
    env: &Env,
    signer: &External<S3Signer>,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<Packed> {
    signed(
        env,
        &**signer,
        policy,
        now_millis,
        key,
        callback,
        pin_callback,
    )
    .map(|form| packed(&form))
}

/// `ossSignToken` for S3.
#[napi(catch_unwind)]
pub fn s3_sign_token(
    env: &Env,
    signer: &External<S3Signer>,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<String> {
    signed(
        env,
        &**signer,
        policy,
        now_millis,
        key,
        callback,
        pin_callback,
    )
    .map(|form| form.to_json())
}

/// `ossSignJson` for S3: signs an exact policy JSON text, byte for byte; only
/// the `policy` and `x-amz-*` fields come back.
#[napi(catch_unwind, ts_return_type = "string | string[]")]
pub fn s3_sign_json(
    env: &Env,
    signer: &External<S3Signer>,
    policy_json: String,
    now_millis: Option<f64>,
) -> Result<Packed> {
    signed_json(env, &**signer, &policy_json, now_millis)
}

/// The S3 SigV4 signature (lower-case hex) of an already-encoded policy for
/// `date` (yyyymmdd) and `region`: byte for byte what boto3 and the AWS SDK
/// for JavaScript compute. Throws `SIGNING_INVALID` for a bad date or region.
#[napi(catch_unwind, js_name = "signS3V4")]
pub fn sign_s3_v4(
    env: &Env,
    secret: String,
    policy_b64: String,
    date: String,
    region: String,
) -> Result<String> {
    postpolicy::sign_s3_v4(&secret, &policy_b64, &date, &region).map_err(|e| throw_from(env, e))
}
