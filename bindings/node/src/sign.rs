//! Credentials, the OSS signer, and the low-level signature functions.
//!
//! The signer is handed to JS as an `External` and `ossSign` is a plain
//! function: napi calls a plain function with externals several times faster
//! than a class method, and an `External` is type-checked on the way back in.

use napi::Result;
use napi::bindgen_prelude::{Either, Env, External};
use napi_derive::napi;
use postpolicy::{Credentials, OssSigner, OssVersion, Policy, SignOptions, SignedForm};

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

/// Signs `policy` at `nowMillis` (default: the clock), with an optional object
/// key or key template ending in `${filename}`.
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
) -> Result<Either<String, Vec<String>>> {
    let now = from_millis(now_millis)?;
    let signed = match key {
        None => signer.sign(policy, now),
        Some(key) => signer.sign_with(policy, &SignOptions::default().key(key), now),
    };
    signed
        .map(|form| flat(&form))
        .map_err(|e| throw_from(env, e))
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
) -> Result<String> {
    let now = from_millis(now_millis)?;
    let signed = match key {
        None => signer.sign(policy, now),
        Some(key) => signer.sign_with(policy, &SignOptions::default().key(key), now),
    };
    signed
        .map(|form| form.to_json())
        .map_err(|e| throw_from(env, e))
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
