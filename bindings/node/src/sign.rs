//! Credentials, the OSS signer, and the low-level signature functions.
//!
//! The signer is handed to JS as an `External` and `ossSign` is a plain
//! function: napi calls a plain function with externals several times faster
//! than a class method, and an `External` is type-checked on the way back in.

use napi::Result;
use napi::bindgen_prelude::{Either, Env, External};
use napi_derive::napi;
use postpolicy::{
    CallbackSpec, Credentials, OssSigner, OssVersion, Policy, S3Signer, SignOptions, SignedForm,
};

use crate::errors::throw_from;
use crate::time::from_millis;

/// Credentials from an id, a secret and an optional STS token. Throws
/// `SIGNING_INVALID` for an empty id or secret, or an id with `/` or white space.
#[napi]
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
#[napi]
pub fn credentials_from_env(env: &Env) -> Result<Option<External<Credentials>>> {
    match Credentials::from_env() {
        None => Ok(None),
        Some(Ok(credentials)) => Ok(Some(External::new(credentials))),
        Some(Err(e)) => Err(throw_from(env, e)),
    }
}

/// The access key id.
#[napi]
pub fn credentials_access_key_id(credentials: &External<Credentials>) -> String {
    credentials.access_key_id().to_owned()
}

/// The STS security token, or `null`. (The secret is never readable from JS.)
#[napi]
pub fn credentials_security_token(credentials: &External<Credentials>) -> Option<String> {
    credentials.security_token().map(str::to_owned)
}

/// A signer for `bucket` in `region`. Throws `SIGNING_INVALID` for an invalid
/// region, bucket, endpoint, CloudBox id or version (`v1` or `v4`).
#[napi]
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

#[napi]
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
/// The form comes back flat, in the cheapest shape napi can hand over: one
/// string of `url, expiresAt, fieldsToFill.length, ...fieldsToFill, name0,
/// value0, …` joined with NUL, or the same items as an array when a value
/// contains NUL. `index.js` turns it into `{ url, fields, expiresAt, fieldsToFill }`.
#[napi(ts_return_type = "string | string[]")]
pub fn oss_sign(
    env: &Env,
    signer: &External<OssSigner>,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<Either<String, Vec<String>>> {
    oss_signed(env, signer, policy, now_millis, key, callback, pin_callback).map(|form| flat(&form))
}

/// Like `ossSign`, but returns the JSON token for the browser exactly as the
/// core writes it: `{"url","fields":{…in order…},"expires_at","fields_to_fill"}`.
#[napi]
pub fn oss_sign_token(
    env: &Env,
    signer: &External<OssSigner>,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<String> {
    oss_signed(env, signer, policy, now_millis, key, callback, pin_callback)
        .map(|form| form.to_json())
}

fn oss_signed(
    env: &Env,
    signer: &OssSigner,
    policy: &Policy,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<SignedForm> {
    let now = from_millis(now_millis)?;
    let signed = match sign_options(key, callback, pin_callback) {
        Ok(None) => signer.sign(policy, now).map_err(postpolicy::Error::from),
        Ok(Some(options)) => signer
            .sign_with(policy, &options, now)
            .map_err(postpolicy::Error::from),
        Err(e) => Err(e),
    };
    signed.map_err(|e| throw_from(env, e))
}

/// Signs an exact policy JSON text without changing a byte of it (to
/// reproduce another SDK's output); only the signature fields come back, in
/// `ossSign`'s flat shape.
#[napi(ts_return_type = "string | string[]")]
pub fn oss_sign_json(
    env: &Env,
    signer: &External<OssSigner>,
    policy_json: String,
    now_millis: Option<f64>,
) -> Result<Either<String, Vec<String>>> {
    let now = from_millis(now_millis)?;
    signer
        .sign_json(&policy_json, now)
        .map(|form| flat(&form))
        .map_err(|e| throw_from(env, e))
}

const SEPARATOR: char = '\0';

fn flat(form: &SignedForm) -> Either<String, Vec<String>> {
    let mut items: Vec<&str> =
        Vec::with_capacity(3 + form.fields_to_fill.len() + 2 * form.fields.len());
    let expires_at = postpolicy::wire::format_timestamp(form.expires_at);
    let fill_count = form.fields_to_fill.len().to_string();
    items.push(&form.url);
    items.push(&expires_at);
    items.push(&fill_count);
    items.extend(form.fields_to_fill.iter().map(String::as_str));
    for (name, value) in &form.fields {
        items.push(name);
        items.push(value);
    }
    if items.iter().any(|item| item.contains(SEPARATOR)) {
        return Either::B(items.into_iter().map(str::to_owned).collect());
    }
    let mut joined = String::with_capacity(items.iter().map(|i| i.len() + 1).sum());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            joined.push(SEPARATOR);
        }
        joined.push_str(item);
    }
    Either::A(joined)
}

/// The V1 signature of an already-encoded policy:
/// `base64(HMAC-SHA1(secret, policyB64))`.
#[napi(js_name = "signV1")]
pub fn sign_v1(secret: String, policy_b64: String) -> String {
    postpolicy::sign_v1(&secret, &policy_b64)
}

/// The V4 signature (lower-case hex) of an already-encoded policy for `date`
/// (yyyymmdd), `region` (with or without `oss-`) and `product` (default
/// `oss`). Throws `SIGNING_INVALID` for a bad date or region.
#[napi(js_name = "signV4")]
pub fn sign_v4(
    env: &Env,
    secret: String,
    policy_b64: String,
    date: String,
    region: String,
    product: Option<String>,
) -> Result<String> {
    let product = product
        .as_deref()
        .unwrap_or(postpolicy::sign::oss_v4::PRODUCT);
    postpolicy::sign_v4(&secret, &policy_b64, &date, &region, product)
        .map_err(|e| throw_from(env, e))
}

/// An S3 presigned POST signer (AWS SigV4) for `bucket` in `region`: AWS S3,
/// or another S3-compatible `endpoint` (MinIO, Garage, R2, …); `pathStyle`
/// forces `<endpoint>/<bucket>` (true) or `<bucket>.<endpoint host>` (false).
/// Throws `SIGNING_INVALID` for an invalid region, bucket or endpoint.
#[napi]
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

#[napi]
pub fn s3_signer_info(signer: &External<S3Signer>) -> S3SignerInfo {
    S3SignerInfo {
        url: signer.url().to_owned(),
        bucket: signer.bucket().to_owned(),
        region: signer.region().to_owned(),
        path_style: signer.path_style(),
    }
}

/// `ossSign` for S3: the same flat form. The core refuses `in` / `not-in`
/// conditions and callbacks (OSS only) with `SIGNING_INVALID`.
#[napi(ts_return_type = "string | string[]")]
pub fn s3_sign(
    env: &Env,
    signer: &External<S3Signer>,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<Either<String, Vec<String>>> {
    s3_signed(env, signer, policy, now_millis, key, callback, pin_callback).map(|form| flat(&form))
}

/// `ossSignToken` for S3.
#[napi]
pub fn s3_sign_token(
    env: &Env,
    signer: &External<S3Signer>,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<String> {
    s3_signed(env, signer, policy, now_millis, key, callback, pin_callback)
        .map(|form| form.to_json())
}

fn s3_signed(
    env: &Env,
    signer: &S3Signer,
    policy: &Policy,
    now_millis: Option<f64>,
    key: Option<String>,
    callback: Option<&External<CallbackSpec>>,
    pin_callback: Option<bool>,
) -> Result<SignedForm> {
    let now = from_millis(now_millis)?;
    let signed = match sign_options(key, callback, pin_callback) {
        Ok(None) => signer.sign(policy, now).map_err(postpolicy::Error::from),
        Ok(Some(options)) => signer
            .sign_with(policy, &options, now)
            .map_err(postpolicy::Error::from),
        Err(e) => Err(e),
    };
    signed.map_err(|e| throw_from(env, e))
}

/// `ossSignJson` for S3: signs an exact policy JSON text, byte for byte; only
/// the `policy` and `x-amz-*` fields come back.
#[napi(ts_return_type = "string | string[]")]
pub fn s3_sign_json(
    env: &Env,
    signer: &External<S3Signer>,
    policy_json: String,
    now_millis: Option<f64>,
) -> Result<Either<String, Vec<String>>> {
    let now = from_millis(now_millis)?;
    signer
        .sign_json(&policy_json, now)
        .map(|form| flat(&form))
        .map_err(|e| throw_from(env, e))
}

/// The S3 SigV4 signature (lower-case hex) of an already-encoded policy for
/// `date` (yyyymmdd) and `region`: byte for byte what boto3 and the AWS SDK
/// for JavaScript compute. Throws `SIGNING_INVALID` for a bad date or region.
#[napi(js_name = "signS3V4")]
pub fn sign_s3_v4(
    env: &Env,
    secret: String,
    policy_b64: String,
    date: String,
    region: String,
) -> Result<String> {
    postpolicy::sign_s3_v4(&secret, &policy_b64, &date, &region).map_err(|e| throw_from(env, e))
}
