//! OSS upload callbacks: `CallbackSpec` (the `callback` and `x:` form
//! fields), `KeyUrlPolicy`, `CachedKeySource`, verifying a callback request,
//! and `CallbackSigner` (the sending side).
//!
//! Verifying is split so that JS can fetch the public key asynchronously in
//! between, and only for a URL the core trusts: `checkCallback` runs the
//! core's header and key URL checks and gives a `CallbackCheck` naming the
//! canonical URL to fetch; `CallbackCheck#verify` checks the signature with
//! the PEM JS fetched (or the reason it could not).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use napi::bindgen_prelude::{
    Buffer, ClassInstance, Either, Either3, Env, Function, FunctionRef, JsObjectValue, JsValue,
    Null, Object, ObjectRef, PromiseRaw, Uint8ArraySlice, Unknown,
};
use napi::{Result, ValueType};
use napi_derive::napi;
use postpolicy::callback::{
    BodyType, CallbackError, CallbackRequest, KEY_CACHE_CAPACITY, KeyCache, string_to_sign,
    trusted_key_url, verify_callback,
};

use crate::convert::{self, Body, Query, StringOr};
use crate::errors::{OrThrow, guard, invalid_arg};

// ---- CallbackSpec ----------------------------------------------------------

/// `callbackBodyType`: how OSS encodes the values it substitutes into the body.
#[napi(string_enum)]
pub enum CallbackBodyType {
    #[napi(value = "application/x-www-form-urlencoded")]
    FormUrlencoded,
    #[napi(value = "application/json")]
    Json,
}

impl From<BodyType> for CallbackBodyType {
    fn from(body_type: BodyType) -> Self {
        match body_type {
            BodyType::FormUrlEncoded => Self::FormUrlencoded,
            BodyType::Json => Self::Json,
        }
    }
}

/// What `new CallbackSpec` takes.
#[napi(object, object_to_js = false)]
pub struct CallbackSpecOptions<'a> {
    /// Where OSS posts: one URL, or up to 5 tried in order.
    #[napi(ts_type = "string | readonly string[]")]
    pub url: Option<Either3<String, Vec<String>, Null>>,
    /// The body template: `${bucket}`, `${object}`, `${etag}`, `${size}`,
    /// `${mimeType}`, `${imageInfo.width}`, …, and `${x:name}` custom variables.
    pub body: String,
    /// Default `application/x-www-form-urlencoded`.
    #[napi(ts_type = "CallbackBodyType | null")]
    pub body_type: Option<Either<String, Null>>,
    /// `callbackHost`: the `Host` header of the callback request.
    pub host: Option<Either<String, Null>>,
    /// `callbackSNI`: send SNI to the callback host (default false).
    pub sni: Option<Either<bool, Null>>,
    /// The values of the `${x:name}` variables the body uses (each one must be used).
    #[napi(
        ts_type = "Readonly<Record<string, string>> | ReadonlyMap<string, string> | ReadonlyArray<readonly [name: string, value: string]> | null"
    )]
    pub vars: Option<Unknown<'a>>,
}

/// An OSS upload callback: where OSS posts after the upload, and what
/// (`${object}`, `${size}`, `${x:uid}`, …). Every check is OSS's (and
/// unused or undefined `x:` variables), each error a `CALLBACK_*` code.
#[napi]
pub struct CallbackSpec(pub(crate) postpolicy::callback::CallbackSpec);

fn vars(env: &Env, vars: Option<&Unknown<'_>>) -> Result<Vec<(String, String)>> {
    match vars {
        Some(vars) if !convert::is_nullish(vars)? => convert::string_pairs(env, vars, "vars"),
        _ => Ok(Vec::new()),
    }
}

#[napi]
impl CallbackSpec {
    #[napi(constructor, ts_args_type = "options: CallbackSpecOptions")]
    pub fn new(env: &Env, options: Option<CallbackSpecOptions<'_>>) -> Result<Self> {
        guard(env, || {
            let Some(o) = options else {
                return Err(invalid_arg(
                    env,
                    "new CallbackSpec({ url, body, bodyType?, host?, sni?, vars? })",
                ));
            };
            let urls = match o.url {
                Some(Either3::A(url)) => vec![url],
                Some(Either3::B(urls)) => urls,
                Some(Either3::C(Null)) | None => {
                    return Err(invalid_arg(
                        env,
                        "CallbackSpec: `url` is required (a URL, or an array of up to 5)",
                    ));
                }
            };
            let vars = vars(env, o.vars.as_ref())?;
            let build = || -> std::result::Result<_, CallbackError> {
                let mut spec =
                    postpolicy::callback::CallbackSpec::new(String::new(), o.body).with_urls(urls);
                if let Some(body_type) = convert::given(o.body_type) {
                    spec = spec.with_body_type(body_type.parse::<BodyType>()?);
                }
                if let Some(host) = convert::given(o.host) {
                    spec = spec.with_host(host);
                }
                if let Some(sni) = convert::given(o.sni) {
                    spec = spec.with_sni(sni);
                }
                let spec = spec.with_vars(vars);
                spec.validate()?;
                Ok(Self(spec))
            };
            build().or_throw(env)
        })
    }

    /// Decodes a `callback` form field. The custom variables travel as
    /// separate `x:` fields: give them as `vars` to have the whole callback
    /// validated (without, the spec has none).
    #[napi(
        factory,
        ts_args_type = "callback: string, vars?: Readonly<Record<string, string>> | ReadonlyMap<string, string> | ReadonlyArray<readonly [name: string, value: string]> | null"
    )]
    pub fn from_base64(env: &Env, callback: String, vars: Option<Unknown<'_>>) -> Result<Self> {
        guard(env, || {
            let spec = postpolicy::callback::CallbackSpec::from_base64(&callback).or_throw(env)?;
            with_vars(env, spec, vars.as_ref())
        })
    }

    /// Decodes callback JSON (the decoded `callback` field), as `fromBase64`.
    #[napi(
        factory,
        ts_args_type = "json: string, vars?: Readonly<Record<string, string>> | ReadonlyMap<string, string> | ReadonlyArray<readonly [name: string, value: string]> | null"
    )]
    pub fn from_json(env: &Env, json: String, vars: Option<Unknown<'_>>) -> Result<Self> {
        guard(env, || {
            let spec = postpolicy::callback::CallbackSpec::from_json(&json).or_throw(env)?;
            with_vars(env, spec, vars.as_ref())
        })
    }

    /// The URLs, in the order OSS tries them.
    #[napi(getter, catch_unwind)]
    pub fn urls(&self) -> Vec<String> {
        self.0.urls().to_vec()
    }

    /// `callbackHost`, or `null`.
    #[napi(getter, catch_unwind)]
    pub fn host(&self) -> Option<String> {
        self.0.host().map(str::to_owned)
    }

    /// The body template.
    #[napi(getter, catch_unwind)]
    pub fn body(&self) -> String {
        self.0.body().to_owned()
    }

    #[napi(getter, catch_unwind)]
    pub fn body_type(&self) -> CallbackBodyType {
        self.0.body_type().into()
    }

    /// `callbackSNI`.
    #[napi(getter, catch_unwind)]
    pub fn sni(&self) -> bool {
        self.0.sni()
    }

    /// The `x:` variables, in order.
    #[napi(getter, catch_unwind, ts_return_type = "Record<string, string>")]
    pub fn vars<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        convert::record(env, convert::pairs(self.0.vars()))
    }

    /// A new spec with `vars` added, validated.
    #[napi(
        ts_args_type = "vars: Readonly<Record<string, string>> | ReadonlyMap<string, string> | ReadonlyArray<readonly [name: string, value: string]>"
    )]
    pub fn with_vars(&self, env: &Env, vars: Unknown<'_>) -> Result<CallbackSpec> {
        guard(env, || with_vars(env, self.0.clone(), Some(&vars)))
    }

    /// Throws the first problem (a `CALLBACK_*` error); returns nothing when
    /// there is none.
    #[napi]
    pub fn validate(&self, env: &Env) -> Result<()> {
        guard(env, || self.0.validate().or_throw(env))
    }

    /// The compact callback JSON.
    #[napi]
    pub fn to_json(&self, env: &Env) -> Result<String> {
        guard(env, || self.0.to_json().or_throw(env))
    }

    /// The `callback` field (base64 of the compact JSON) and the `x:` fields.
    #[napi]
    pub fn to_fields<'env>(&self, env: &'env Env) -> Result<CallbackFields<'env>> {
        guard(env, || {
            let fields = self.0.to_fields().or_throw(env)?;
            Ok(CallbackFields {
                vars: convert::record(env, convert::pairs(&fields.vars))?,
                callback: fields.callback,
            })
        })
    }

    /// What the spec says, as plain data.
    #[napi(js_name = "toJSON")]
    pub fn to_data<'env>(&self, env: &'env Env) -> Result<CallbackSpecData<'env>> {
        guard(env, || {
            Ok(CallbackSpecData {
                urls: self.urls(),
                host: self.host(),
                body: self.body(),
                body_type: self.body_type(),
                sni: self.sni(),
                vars: self.vars(env)?,
            })
        })
    }
}

/// `spec` with `vars` (when given) added, validated.
fn with_vars(
    env: &Env,
    spec: postpolicy::callback::CallbackSpec,
    vars: Option<&Unknown<'_>>,
) -> Result<CallbackSpec> {
    let Some(vars) = vars.filter(|v| !matches!(convert::is_nullish(v), Ok(true))) else {
        return Ok(CallbackSpec(spec));
    };
    let spec = spec.with_vars(self::vars(env, Some(vars))?);
    spec.validate().or_throw(env)?;
    Ok(CallbackSpec(spec))
}

/// The form fields of a callback.
#[napi(object, object_from_js = false)]
pub struct CallbackFields<'env> {
    /// The `callback` field: base64 of the compact callback JSON.
    pub callback: String,
    /// The `x:<name>` fields, in order.
    #[napi(ts_type = "Record<string, string>")]
    pub vars: Object<'env>,
}

/// What a `CallbackSpec` says, as plain data.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct CallbackSpecData<'env> {
    pub urls: Vec<String>,
    pub host: Option<String>,
    pub body: String,
    pub body_type: CallbackBodyType,
    pub sni: bool,
    #[napi(ts_type = "Record<string, string>")]
    pub vars: Object<'env>,
}

// ---- which key URLs are trusted ----------------------------------------------

/// Which public-key URLs a callback may name, checked on the parsed URL
/// before anything is fetched: scheme, host and port exactly, the path under
/// a prefix at a `/` boundary; dot segments, percent-encoded `.` `/` `\`,
/// userinfo, queries and fragments are refused.
#[napi]
pub struct KeyUrlPolicy(postpolicy::callback::KeyUrlPolicy);

#[napi]
impl KeyUrlPolicy {
    /// OSS's key host (fetched over https) plus `prefixes`; throws
    /// `CALLBACK_KEY_URL_PREFIX` for one that is not an http(s) URL.
    #[napi(
        constructor,
        ts_args_type = "prefixes?: readonly string[] | string | null"
    )]
    pub fn new(env: &Env, prefixes: Option<Either<String, Vec<String>>>) -> Result<Self> {
        guard(env, || {
            trusted(env, postpolicy::callback::KeyUrlPolicy::default(), prefixes)
        })
    }

    /// A policy that trusts no URL (add prefixes with `allow`).
    #[napi(factory, catch_unwind)]
    pub fn none() -> Self {
        Self(postpolicy::callback::KeyUrlPolicy::none())
    }

    /// A copy that also trusts the URLs under `prefix` (throws `CALLBACK_KEY_URL_PREFIX`).
    #[napi]
    pub fn allow(&self, env: &Env, prefix: String) -> Result<KeyUrlPolicy> {
        guard(env, || self.0.clone().allow(prefix).map(Self).or_throw(env))
    }

    /// The trusted prefixes, as a URL parser writes them.
    #[napi(getter, catch_unwind)]
    pub fn prefixes(&self) -> Vec<String> {
        self.0.prefixes().into_iter().map(str::to_owned).collect()
    }

    /// The canonical URL a key named `url` is fetched from (https for OSS's
    /// key host); throws `CALLBACK_UNTRUSTED_KEY_URL` with the reason.
    #[napi]
    pub fn check(&self, env: &Env, url: String) -> Result<String> {
        guard(env, || self.0.check(&url).or_throw(env))
    }

    /// Whether `check(url)` succeeds.
    #[napi]
    pub fn is_trusted(&self, env: &Env, url: String) -> Result<bool> {
        guard(env, || Ok(self.0.is_trusted(&url)))
    }
}

fn trusted(
    env: &Env,
    base: postpolicy::callback::KeyUrlPolicy,
    prefixes: Option<Either<String, Vec<String>>>,
) -> Result<KeyUrlPolicy> {
    let prefixes = match prefixes {
        None => Vec::new(),
        Some(Either::A(prefix)) => vec![prefix],
        Some(Either::B(prefixes)) => prefixes,
    };
    prefixes
        .iter()
        .try_fold(base, postpolicy::callback::KeyUrlPolicy::allow)
        .map(KeyUrlPolicy)
        .or_throw(env)
}

// ---- where keys come from ----------------------------------------------------

/// A key source as JS gives it: a function `(url) => PEM text` (or a promise
/// of it), or an object with `publicKeyPem(url)`.
type SourceInput<'a> = Either<SourceFunction<'a>, Unknown<'a>>;

/// A key source function: what it returns is only ever handed to a promise.
type SourceFunction<'a> = Function<'a, String, Unknown<'static>>;

const SOURCE_MESSAGE: &str =
    "keySource must be a function (url) => PEM text, or an object with publicKeyPem(url)";

/// The key source as a function of the URL: the function itself, or the
/// object's `publicKeyPem` bound to it.
fn source_function<'env>(
    env: &'env Env,
    source: SourceInput<'env>,
) -> Result<SourceFunction<'env>> {
    let object = match source {
        Either::A(function) => return Ok(function),
        Either::B(object) => object,
    };
    if object.get_type()? != ValueType::Object {
        return Err(invalid_arg(env, SOURCE_MESSAGE));
    }
    let method: Unknown<'_> = convert::object(&object).get_named_property("publicKeyPem")?;
    if method.get_type()? != ValueType::Function {
        return Err(invalid_arg(env, SOURCE_MESSAGE));
    }
    let bind: Function<'_, Unknown<'_>, SourceFunction<'_>> =
        convert::object(&method).get_named_property("bind")?;
    bind.apply(method, object)
}

/// What a key source gives: PEM text, or its UTF-8 bytes.
type KeyInput<'a> = Either3<String, Uint8ArraySlice<'a>, Unknown<'a>>;

/// The PEM text a key source gave.
fn pem_text(key: &KeyInput<'_>) -> Option<String> {
    match key {
        Either3::A(text) => Some(text.clone()),
        Either3::B(bytes) => String::from_utf8(bytes.to_vec()).ok(),
        Either3::C(_) => None,
    }
}

/// Public keys by (canonical) URL for the life of the process: each fetched
/// once, concurrent first requests sharing the fetch, failures not kept. At
/// most the core's key cache capacity (32) is kept, the least recently used
/// going first, so forged key URLs cannot grow it.
#[napi]
pub struct CachedKeySource {
    source: FunctionRef<String, Unknown<'static>>,
    keys: Rc<KeyCache<String>>,
    fetching: Rc<RefCell<Fetching>>,
}

/// Fetches in flight: the promise each caller gets, by URL.
#[derive(Default)]
struct Fetching {
    next: u64,
    promises: HashMap<String, (u64, ObjectRef<false>)>,
}

impl Fetching {
    /// Forgets the fetch of `url` (when it is the one numbered `id`, if given).
    fn forget(&mut self, env: &Env, url: &str, id: Option<u64>) -> Result<bool> {
        match self.promises.get(url) {
            Some((current, _)) if id.is_none_or(|id| id == *current) => {}
            _ => return Ok(false),
        }
        match self.promises.remove(url) {
            Some((_, promise)) => promise.unref(env).map(|()| true),
            None => Ok(false),
        }
    }
}

#[napi]
impl CachedKeySource {
    /// `source`: `(url) => PEM text` (or a promise of it), or
    /// `{ publicKeyPem(url) }`. (`node/index.js` gives `fetchPublicKeyPem`
    /// when there is none.)
    #[napi(
        constructor,
        ts_args_type = "source?: ((url: string) => string | Uint8Array | PromiseLike<string | Uint8Array>) | { publicKeyPem(url: string): string | Uint8Array | PromiseLike<string | Uint8Array> } | null"
    )]
    pub fn new(env: &Env, source: Option<SourceInput<'_>>) -> Result<Self> {
        guard(env, || {
            let Some(source) = source else {
                return Err(invalid_arg(env, SOURCE_MESSAGE));
            };
            let function = source_function(env, source)?;
            Ok(Self {
                source: function.create_ref()?,
                keys: Rc::new(KeyCache::new()),
                fetching: Rc::default(),
            })
        })
    }

    /// The PEM text at `url`, from the cache or fetched once.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn public_key_pem<'env>(&self, env: &'env Env, url: String) -> Result<Object<'env>> {
        guard(env, || {
            if let Some(pem) = self.keys.get(&url) {
                return promise_object(env, &PromiseRaw::resolve(env, pem)?);
            }
            if let Some((_, promise)) = self.fetching.borrow().promises.get(&url) {
                return promise.get_value(env);
            }
            // `Promise.resolve(url).then(source)`: the source runs as a
            // promise reaction, so a throw is a rejection, a thenable adopted.
            let started = promise_object(env, &PromiseRaw::resolve(env, url.clone())?)?;
            let then: Function<'_, Unknown<'_>, Unknown<'_>> =
                started.get_named_property("then")?;
            let source = self.source.borrow_back(env)?.to_unknown();
            let fetched = then.apply(started, source)?;
            let fetched = PromiseRaw::<KeyInput<'_>>::new(env.raw(), fetched.raw());

            let id = {
                let mut fetching = self.fetching.borrow_mut();
                fetching.next += 1;
                fetching.next
            };
            let (keys, fetching, key_url) = (
                Rc::clone(&self.keys),
                Rc::clone(&self.fetching),
                url.clone(),
            );
            let settled = fetched.then(move |ctx| {
                let pem = pem_text(&ctx.value).ok_or_else(|| {
                    napi::Error::from_reason("the key source did not give PEM text")
                })?;
                if fetching.borrow_mut().forget(&ctx.env, &key_url, Some(id))? {
                    keys.insert(&key_url, pem.clone());
                }
                Ok(pem)
            })?;
            let (fetching, key_url) = (Rc::clone(&self.fetching), url.clone());
            settled.catch(
                move |ctx: napi::bindgen_prelude::CallbackContext<Unknown<'_>>| {
                    fetching.borrow_mut().forget(&ctx.env, &key_url, Some(id))?;
                    Ok(())
                },
            )?;
            let settled = promise_object(env, &settled)?;
            self.fetching
                .borrow_mut()
                .promises
                .insert(url, (id, settled.create_ref::<false>()?));
            Ok(settled)
        })
    }

    /// Forgets the key at `url` (`verifyCallback` does this when the core
    /// refuses the PEM).
    #[napi]
    pub fn delete(&self, env: &Env, url: String) -> Result<bool> {
        guard(env, || {
            let fetching = self.fetching.borrow_mut().forget(env, &url, None)?;
            Ok(self.keys.remove(&url).is_some() || fetching)
        })
    }

    /// Forgets every key.
    #[napi]
    pub fn clear(&self, env: &Env) -> Result<()> {
        guard(env, || {
            self.keys.clear();
            let promises = std::mem::take(&mut self.fetching.borrow_mut().promises);
            promises
                .into_values()
                .try_for_each(|(_, promise)| promise.unref(env))
        })
    }

    /// How many keys are kept (or being fetched).
    #[napi(getter, catch_unwind)]
    pub fn size(&self) -> u32 {
        let count = self.keys.len() + self.fetching.borrow().promises.len();
        crate::errors::to_u32(count)
    }

    /// How many keys a cache keeps at most.
    #[napi(getter, catch_unwind)]
    pub fn capacity(&self) -> u32 {
        crate::errors::to_u32(KEY_CACHE_CAPACITY)
    }
}

fn promise_object<'env, T>(env: &'env Env, promise: &PromiseRaw<'_, T>) -> Result<Object<'env>> {
    Ok(Object::from_raw(env.raw(), promise.raw()))
}

// ---- verifying a callback request ----------------------------------------------

/// A callback request as the application server received it.
#[napi(object, object_to_js = false, js_name = "CallbackRequest")]
pub struct CallbackRequestInput<'a> {
    /// The HTTP method (default `POST`; not signed).
    pub method: Option<Either<String, Null>>,
    /// The raw path OSS called, still percent-encoded. When `query` is
    /// `undefined` and the path has a `?`, it is the raw request target
    /// (`/cb?a=1`) and is split at the first `?`.
    #[napi(ts_type = "string")]
    pub path: StringOr<'a>,
    /// The raw query without the `?`; `''` for a bare `?`, `null` for none.
    #[napi(ts_type = "string | null")]
    pub query: Option<Query<'a>>,
    /// As node gives them (`req.headers`), a `Map`, a fetch `Headers`, or
    /// `[name, value]` pairs.
    #[napi(
        ts_type = "Readonly<Record<string, string | readonly string[] | number | undefined>> | ReadonlyMap<string, string> | Iterable<readonly [string, string]>"
    )]
    pub headers: Unknown<'a>,
    /// The exact bytes received (a string is taken as UTF-8).
    #[napi(ts_type = "Uint8Array | ArrayBuffer | string")]
    pub body: Option<Body<'a>>,
}

/// A request's target and body, owned.
struct Target {
    path: String,
    /// `None`: `path` is the raw target, split at its first `?`.
    query: Option<Option<String>>,
    body: Vec<u8>,
}

impl Target {
    fn new(
        env: &Env,
        path: StringOr<'_>,
        query: Option<Query<'_>>,
        body: Option<Body<'_>>,
    ) -> Result<Self> {
        let (path, query) = convert::target(env, path, query)?;
        Ok(Self {
            path,
            query,
            body: convert::body_bytes(env, body)?,
        })
    }

    fn request<'a>(
        &'a self,
        method: &'a str,
        headers: &'a [(String, String)],
    ) -> CallbackRequest<'a> {
        let headers = headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        match &self.query {
            None => {
                CallbackRequest::from_raw_path_and_query(method, &self.path, headers, &self.body)
            }
            Some(query) => {
                CallbackRequest::new(method, &self.path, query.as_deref(), headers, &self.body)
            }
        }
    }
}

/// A callback request whose headers and key URL passed the core's checks:
/// fetch the key at `keyUrl`, then `verify`.
#[napi]
pub struct CallbackCheck {
    method: String,
    headers: Vec<(String, String)>,
    target: Target,
    policy: postpolicy::callback::KeyUrlPolicy,
    key_url: String,
}

/// Step 1 of verifying a callback request (`verifyCallback` in
/// `node/index.js`): checks the arguments and the `x-oss-pub-key-url` and
/// `authorization` headers, and that the key URL is trusted (OSS's own plus
/// `trustedKeyUrls`). Throws the core's `CALLBACK_*` error otherwise; nothing
/// is fetched.
#[napi(
    ts_args_type = "request: CallbackRequest, trustedKeyUrls: KeyUrlPolicy | readonly string[] | string | null | undefined, keySource: ((url: string) => string | Uint8Array | PromiseLike<string | Uint8Array>) | { publicKeyPem(url: string): string | Uint8Array | PromiseLike<string | Uint8Array> }"
)]
pub fn check_callback(
    env: &Env,
    request: Option<CallbackRequestInput<'_>>,
    trusted_key_urls: Option<Either3<ClassInstance<'_, KeyUrlPolicy>, String, Vec<String>>>,
    key_source: SourceInput<'_>,
) -> Result<CallbackCheck> {
    guard(env, || {
        let Some(request) = request else {
            return Err(invalid_arg(
                env,
                "verifyCallback({ method, path, query, headers, body }, options?)",
            ));
        };
        let target = Target::new(env, request.path, request.query, request.body)?;
        let headers = convert::header_pairs(env, &request.headers)?;
        source_function(env, key_source)?;
        let policy = match trusted_key_urls {
            None => postpolicy::callback::KeyUrlPolicy::default(),
            Some(Either3::A(policy)) => policy.0.clone(),
            Some(Either3::B(prefix)) => {
                trusted(env, Default::default(), Some(Either::A(prefix)))?.0
            }
            Some(Either3::C(prefixes)) => {
                trusted(env, Default::default(), Some(Either::B(prefixes)))?.0
            }
        };
        let method = convert::given(request.method).unwrap_or_else(|| "POST".to_owned());
        let key_url = trusted_key_url(&target.request(&method, &headers), &policy).or_throw(env)?;
        Ok(CallbackCheck {
            method,
            headers,
            target,
            policy,
            key_url,
        })
    })
}

/// A callback whose signature checked out.
#[napi(object, object_from_js = false)]
pub struct VerifiedCallback {
    /// The canonical URL of the key that verified it (https for OSS's key host).
    pub public_key_url: String,
}

#[napi]
impl CallbackCheck {
    /// The canonical URL of the key to fetch.
    #[napi(getter, catch_unwind)]
    pub fn key_url(&self) -> String {
        self.key_url.clone()
    }

    /// Step 2: verifies the request with `key`, what the key source gave for
    /// `keyUrl` (PEM text or its bytes), or fails with
    /// `CALLBACK_KEY_FETCH_FAILED` naming `fetchError` when there is none.
    #[napi(ts_args_type = "key: unknown, fetchError?: string | null")]
    pub fn verify(
        &self,
        env: &Env,
        key: KeyInput<'_>,
        fetch_error: Option<String>,
    ) -> Result<VerifiedCallback> {
        guard(env, || {
            let pem = pem_text(&key);
            let source = |url: &str| -> std::result::Result<String, String> {
                if url != self.key_url {
                    return Err(format!("the key was fetched for `{}`", self.key_url));
                }
                match (&pem, &fetch_error) {
                    (_, Some(error)) => Err(error.clone()),
                    (Some(pem), None) => Ok(pem.clone()),
                    (None, None) => Err("the key source did not give PEM text".to_owned()),
                }
            };
            let request = self.target.request(&self.method, &self.headers);
            verify_callback(&request, &source, &self.policy)
                .map(|verified| VerifiedCallback {
                    public_key_url: verified.public_key_url,
                })
                .or_throw(env)
        })
    }
}

/// A callback request's signed parts.
#[napi(object, object_to_js = false)]
pub struct CallbackSignInput<'a> {
    /// The raw path (or raw target with `?`, when `query` is `undefined`).
    #[napi(ts_type = "string")]
    pub path: StringOr<'a>,
    #[napi(ts_type = "string | null")]
    pub query: Option<Query<'a>>,
    #[napi(ts_type = "Uint8Array | ArrayBuffer | string")]
    pub body: Option<Body<'a>>,
}

/// The bytes OSS signs: the percent-decoded path, `?` and the raw query
/// (when present), a newline, the body.
#[napi(ts_args_type = "request: CallbackSignInput")]
pub fn callback_string_to_sign(
    env: &Env,
    request: Option<CallbackSignInput<'_>>,
) -> Result<Buffer> {
    guard(env, || {
        let Some(r) = request else {
            return Err(invalid_arg(
                env,
                "callbackStringToSign({ path, query, body })",
            ));
        };
        let target = Target::new(env, r.path, r.query, r.body)?;
        Ok(Buffer::from(string_to_sign(&target.request("POST", &[]))))
    })
}

// ---- CallbackSigner ------------------------------------------------------------

/// The signature headers of a callback request.
#[napi(object, object_from_js = false)]
pub struct CallbackHeaders {
    pub authorization: String,
    /// base64 of the public key URL.
    #[napi(js_name = "x-oss-pub-key-url")]
    pub x_oss_pub_key_url: String,
}

/// What `CallbackSigner#headers` takes.
#[napi(object, object_to_js = false)]
pub struct CallbackHeadersInput<'a> {
    #[napi(ts_type = "string")]
    pub path: StringOr<'a>,
    #[napi(ts_type = "string | null")]
    pub query: Option<Query<'a>>,
    #[napi(ts_type = "Uint8Array | ArrayBuffer | string")]
    pub body: Option<Body<'a>>,
    /// Where the public key is served.
    pub public_key_url: String,
}

/// What `JSON.stringify` shows of a `CallbackSigner`: never the private key.
#[napi(object, object_from_js = false)]
pub struct CallbackSignerJson {
    pub public_key_pem: String,
}

/// Signs callback requests as OSS does (RSA PKCS#1 v1.5 over MD5): for tests
/// and local endpoints.
#[napi]
pub struct CallbackSigner(postpolicy::callback::CallbackSigner);

#[napi]
impl CallbackSigner {
    /// From a PEM private key, PKCS#8 or PKCS#1. Throws `CALLBACK_INVALID_PRIVATE_KEY`.
    #[napi(constructor)]
    pub fn new(env: &Env, private_key_pem: String) -> Result<Self> {
        guard(env, || {
            postpolicy::callback::CallbackSigner::from_pem(&private_key_pem)
                .map(Self)
                .or_throw(env)
        })
    }

    /// A signer with a new random RSA key of `bits` bits (default 1024).
    #[napi(factory)]
    pub fn generate(env: &Env, bits: Option<u32>) -> Result<Self> {
        guard(env, || {
            let bits = bits.unwrap_or(1024) as usize;
            use rand_core::RngCore as _;
            postpolicy::callback::CallbackSigner::generate(bits, |bytes| {
                rand_core::OsRng.fill_bytes(bytes);
            })
            .map(Self)
            .or_throw(env)
        })
    }

    /// The public key as SubjectPublicKeyInfo PEM: what the key URL serves.
    #[napi(getter, catch_unwind)]
    pub fn public_key_pem(&self) -> String {
        self.0.public_key_pem().to_owned()
    }

    /// The private key as PKCS#8 PEM.
    #[napi]
    pub fn private_key_pem(&self, env: &Env) -> Result<String> {
        guard(env, || self.0.private_key_pem().or_throw(env))
    }

    /// The `authorization` header value for `{ path, query, body }`.
    #[napi(ts_args_type = "request: CallbackSignInput")]
    pub fn sign(&self, env: &Env, request: Option<CallbackSignInput<'_>>) -> Result<String> {
        guard(env, || {
            let Some(r) = request else {
                return Err(invalid_arg(env, "sign({ path, query, body })"));
            };
            let target = Target::new(env, r.path, r.query, r.body)?;
            let request = target.request("POST", &[]);
            self.0
                .sign(request.path, request.query, request.body)
                .or_throw(env)
        })
    }

    /// Both signature headers, for a key served at `publicKeyUrl`.
    #[napi(ts_args_type = "request: CallbackHeadersInput")]
    pub fn headers(
        &self,
        env: &Env,
        request: Option<CallbackHeadersInput<'_>>,
    ) -> Result<CallbackHeaders> {
        guard(env, || {
            let Some(r) = request else {
                return Err(invalid_arg(
                    env,
                    "headers({ path, query, body, publicKeyUrl })",
                ));
            };
            let target = Target::new(env, r.path, r.query, r.body)?;
            let request = target.request("POST", &[]);
            let mut headers = self
                .0
                .headers(&r.public_key_url, request.path, request.query, request.body)
                .or_throw(env)?
                .into_iter()
                .map(|(_, value)| value);
            Ok(CallbackHeaders {
                authorization: headers.next().unwrap_or_default(),
                x_oss_pub_key_url: headers.next().unwrap_or_default(),
            })
        })
    }

    #[napi(js_name = "toJSON", catch_unwind)]
    pub fn to_json(&self) -> CallbackSignerJson {
        CallbackSignerJson {
            public_key_pem: self.public_key_pem(),
        }
    }
}
