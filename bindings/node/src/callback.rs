//! OSS upload callbacks: `CallbackSpec` (the `callback` and `x:` form fields),
//! verifying a callback request, and `CallbackSigner` (the sending side).
//!
//! Verification is split in two calls so that JS can fetch the public key
//! asynchronously in between, and only for a URL the core trusts:
//! `callbackKeyUrl` runs the core's `trusted_key_url` (the header checks and
//! the `KeyUrlPolicy` check) and returns the canonical URL to fetch;
//! `callbackVerify` runs `verify_callback` with the PEM JS fetched for that
//! URL (or the reason it could not). Every check and message is the core's.

use indexmap::IndexMap;
use napi::Result;
use napi::bindgen_prelude::{Buffer, Env, External};
use napi_derive::napi;
use postpolicy::callback::{
    BodyType, CallbackRequest, CallbackSigner, CallbackSpec, KEY_CACHE_CAPACITY, KeyUrlPolicy,
    string_to_sign, trusted_key_url, verify_callback,
};

use crate::errors::throw_from;

// ---- CallbackSpec ------------------------------------------------------------

/// What `callbackSpecNew` takes.
#[napi(object, object_to_js = false)]
pub struct CallbackSpecInput {
    /// 1 to 5 URLs, tried in order.
    pub urls: Vec<String>,
    /// The body template, with `${object}`, `${size}`, `${x:name}`, … placeholders.
    pub body: String,
    /// `application/x-www-form-urlencoded` (default) or `application/json`.
    pub body_type: Option<String>,
    /// `callbackHost`: the `Host` header of the callback request.
    pub host: Option<String>,
    /// `callbackSNI` (default false).
    pub sni: Option<bool>,
    /// The custom variables, `[name, value]` with `x:` names, in order.
    pub vars: Option<Vec<(String, String)>>,
}

/// A callback spec, validated as OSS would (every error a `CALLBACK_*` code).
#[napi(catch_unwind)]
pub fn callback_spec_new(env: &Env, input: CallbackSpecInput) -> Result<External<CallbackSpec>> {
    let build = || -> std::result::Result<CallbackSpec, postpolicy::callback::CallbackError> {
        let mut spec = CallbackSpec::new(String::new(), input.body).with_urls(input.urls);
        if let Some(body_type) = &input.body_type {
            spec = spec.with_body_type(body_type.parse::<BodyType>()?);
        }
        if let Some(host) = input.host {
            spec = spec.with_host(host);
        }
        if let Some(sni) = input.sni {
            spec = spec.with_sni(sni);
        }
        if let Some(vars) = input.vars {
            spec = spec.with_vars(vars);
        }
        spec.validate()?;
        Ok(spec)
    };
    build().map(External::new).map_err(|e| throw_from(env, e))
}

/// Decodes a `callback` form field (base64 of the callback JSON). The result
/// has no custom variables (they travel as separate `x:` fields); everything
/// else is validated.
#[napi(catch_unwind)]
pub fn callback_spec_from_base64(env: &Env, callback: String) -> Result<External<CallbackSpec>> {
    CallbackSpec::from_base64(&callback)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// Decodes callback JSON, as `callbackSpecFromBase64`.
#[napi(catch_unwind)]
pub fn callback_spec_from_json(env: &Env, json: String) -> Result<External<CallbackSpec>> {
    CallbackSpec::from_json(&json)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// The spec with `vars` added, validated.
#[napi(catch_unwind)]
pub fn callback_spec_with_vars(
    env: &Env,
    spec: &External<CallbackSpec>,
    vars: Vec<(String, String)>,
) -> Result<External<CallbackSpec>> {
    let spec = (**spec).clone().with_vars(vars);
    spec.validate().map_err(|e| throw_from(env, e))?;
    Ok(External::new(spec))
}

/// What a callback spec says.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct CallbackSpecInfo {
    pub urls: Vec<String>,
    pub host: Option<String>,
    pub body: String,
    #[napi(ts_type = "'application/x-www-form-urlencoded' | 'application/json'")]
    pub body_type: String,
    pub sni: bool,
    /// The custom variables, in order.
    pub vars: IndexMap<String, String>,
}

#[napi(catch_unwind)]
pub fn callback_spec_info(spec: &External<CallbackSpec>) -> CallbackSpecInfo {
    CallbackSpecInfo {
        urls: spec.urls().to_vec(),
        host: spec.host().map(str::to_owned),
        body: spec.body().to_owned(),
        body_type: spec.body_type().content_type().to_owned(),
        sni: spec.sni(),
        vars: spec.vars().iter().cloned().collect(),
    }
}

/// Checks everything `callbackSpecToFields` checks; throws the first problem.
#[napi(catch_unwind)]
pub fn callback_spec_validate(env: &Env, spec: &External<CallbackSpec>) -> Result<()> {
    spec.validate().map_err(|e| throw_from(env, e))
}

/// The compact callback JSON (validated).
#[napi(catch_unwind)]
pub fn callback_spec_to_json(env: &Env, spec: &External<CallbackSpec>) -> Result<String> {
    spec.to_json().map_err(|e| throw_from(env, e))
}

/// The form fields of a callback.
#[napi(object, object_from_js = false)]
pub struct CallbackFields {
    /// The `callback` field: base64 of the compact callback JSON.
    pub callback: String,
    /// The `x:<name>` fields, in order.
    pub vars: IndexMap<String, String>,
}

/// The validated form fields: `callback` and the `x:` variables.
#[napi(catch_unwind)]
pub fn callback_spec_to_fields(env: &Env, spec: &External<CallbackSpec>) -> Result<CallbackFields> {
    let fields = spec.to_fields().map_err(|e| throw_from(env, e))?;
    Ok(CallbackFields {
        callback: fields.callback,
        vars: fields.vars.into_iter().collect(),
    })
}

// ---- verifying a callback request --------------------------------------------

/// A callback request as the application server received it (the body is a
/// separate argument).
#[napi(object, object_to_js = false)]
pub struct CallbackRequestInput {
    /// The HTTP method (not part of the signature).
    pub method: String,
    /// The raw path, still percent-encoded, without the query.
    pub path: String,
    /// The raw query without the `?`; `''` for a bare `?`, `null` for none.
    pub query: Option<String>,
    /// The headers, `[name, value]` (names case-insensitive).
    pub headers: Vec<(String, String)>,
}

impl CallbackRequestInput {
    fn request<'a>(&'a self, body: &'a [u8]) -> CallbackRequest<'a> {
        CallbackRequest::new(
            &self.method,
            &self.path,
            self.query.as_deref(),
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            body,
        )
    }
}

/// A key URL policy: OSS's key host (unless `oss` is false) plus the
/// `prefixes`. Throws `CALLBACK_KEY_URL_PREFIX` for a prefix that is not an
/// http(s) URL.
#[napi(catch_unwind)]
pub fn key_url_policy_new(
    env: &Env,
    oss: bool,
    prefixes: Vec<String>,
) -> Result<External<KeyUrlPolicy>> {
    let base = if oss {
        KeyUrlPolicy::default()
    } else {
        KeyUrlPolicy::none()
    };
    prefixes
        .iter()
        .try_fold(base, KeyUrlPolicy::allow)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// The trusted prefixes, as a URL parser writes them.
#[napi(catch_unwind)]
pub fn key_url_policy_prefixes(policy: &External<KeyUrlPolicy>) -> Vec<String> {
    policy.prefixes().into_iter().map(str::to_owned).collect()
}

/// The URL a key named `url` is fetched from (canonical; https for OSS's key
/// host). Throws `CALLBACK_UNTRUSTED_KEY_URL` with the reason otherwise.
#[napi(catch_unwind)]
pub fn key_url_policy_check(
    env: &Env,
    policy: &External<KeyUrlPolicy>,
    url: String,
) -> Result<String> {
    policy.check(&url).map_err(|e| throw_from(env, e))
}

/// How many keys a key cache keeps (the least recently used goes first).
#[napi(catch_unwind)]
pub fn key_cache_capacity() -> u32 {
    u32::try_from(KEY_CACHE_CAPACITY).unwrap_or(u32::MAX)
}

/// Step 1 of verifying a callback request: checks the `x-oss-pub-key-url`
/// and `authorization` headers and that the key URL passes `policy`, and
/// returns the canonical key URL to fetch. Throws the core's `CALLBACK_*`
/// error otherwise; nothing is fetched.
#[napi(catch_unwind)]
pub fn callback_key_url(
    env: &Env,
    request: CallbackRequestInput,
    policy: &External<KeyUrlPolicy>,
) -> Result<String> {
    trusted_key_url(&request.request(&[]), policy).map_err(|e| throw_from(env, e))
}

/// The outcome of step 2.
#[napi(object, object_from_js = false)]
pub struct VerifiedCallback {
    /// The canonical URL of the key that verified the signature.
    pub public_key_url: String,
}

/// Step 2: verifies the request with the PEM fetched for `keyUrl` (from step
/// 1), or fails with `CALLBACK_KEY_FETCH_FAILED` and `fetchError` when there
/// is no PEM. The core runs every check of step 1 again.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn callback_verify(
    env: &Env,
    request: CallbackRequestInput,
    body: &[u8],
    policy: &External<KeyUrlPolicy>,
    key_url: String,
    pem: Option<String>,
    fetch_error: Option<String>,
) -> Result<VerifiedCallback> {
    let source = |url: &str| -> std::result::Result<String, String> {
        if url != key_url {
            return Err(format!("the key was fetched for `{key_url}`"));
        }
        match &pem {
            Some(pem) => Ok(pem.clone()),
            None => Err(fetch_error
                .clone()
                .unwrap_or_else(|| "no key was given".to_owned())),
        }
    };
    verify_callback(&request.request(body), &source, policy)
        .map(|verified| VerifiedCallback {
            public_key_url: verified.public_key_url,
        })
        .map_err(|e| throw_from(env, e))
}

/// The bytes OSS signs: the percent-decoded path, `?` + the raw query (when
/// there is one), `\n`, the body.
#[napi(catch_unwind)]
pub fn callback_string_to_sign(path: String, query: Option<String>, body: &[u8]) -> Buffer {
    let request = CallbackRequest::new("POST", &path, query.as_deref(), [], body);
    Buffer::from(string_to_sign(&request))
}

// ---- CallbackSigner ----------------------------------------------------------

/// A callback signer from a PEM private key, PKCS#8 (`BEGIN PRIVATE KEY`) or
/// PKCS#1 (`BEGIN RSA PRIVATE KEY`). Throws `CALLBACK_INVALID_PRIVATE_KEY`.
#[napi(catch_unwind)]
pub fn callback_signer_new(env: &Env, private_key_pem: String) -> Result<External<CallbackSigner>> {
    CallbackSigner::from_pem(&private_key_pem)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// The public key as SubjectPublicKeyInfo PEM: what the key URL should serve.
#[napi(catch_unwind)]
pub fn callback_signer_public_key_pem(signer: &External<CallbackSigner>) -> String {
    signer.public_key_pem().to_owned()
}

/// The private key as PKCS#8 PEM.
#[napi(catch_unwind)]
pub fn callback_signer_private_key_pem(
    env: &Env,
    signer: &External<CallbackSigner>,
) -> Result<String> {
    signer.private_key_pem().map_err(|e| throw_from(env, e))
}

/// The `authorization` header for a callback to `path` (raw) with `query`
/// (raw, without `?`; `null` for none) and `body`.
#[napi(catch_unwind)]
pub fn callback_signer_sign(
    env: &Env,
    signer: &External<CallbackSigner>,
    path: String,
    query: Option<String>,
    body: &[u8],
) -> Result<String> {
    signer
        .sign(&path, query.as_deref(), body)
        .map_err(|e| throw_from(env, e))
}

/// Both signature headers: `authorization` and `x-oss-pub-key-url` (base64
/// of `publicKeyUrl`).
#[napi(
    catch_unwind,
    ts_return_type = "{ authorization: string; 'x-oss-pub-key-url': string }"
)]
pub fn callback_signer_headers(
    env: &Env,
    signer: &External<CallbackSigner>,
    public_key_url: String,
    path: String,
    query: Option<String>,
    body: &[u8],
) -> Result<IndexMap<String, String>> {
    signer
        .headers(&public_key_url, &path, query.as_deref(), body)
        .map(|headers| headers.into_iter().collect())
        .map_err(|e| throw_from(env, e))
}
