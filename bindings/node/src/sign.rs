//! `Credentials`, the signers (`OssSigner`, `S3Signer`) and the low-level
//! signature functions.
//!
//! A signer class wraps a core signer and forwards `sign`, `token` and
//! `signJson` to [`sign`], [`token`] and [`sign_json`], which serve every
//! [`FormSigner`]: a new dialect's signer is one more class of this shape.

use std::cell::Cell;
use std::sync::Arc;

use napi::bindgen_prelude::{ClassInstance, Date, Either, Env, External, Null, Object, Unknown};
use napi::{JsString, Result};
use napi_derive::napi;
use postpolicy::{OssVersion as CoreOssVersion, SignOptions as CoreSignOptions, SignatureError};

use crate::callback::CallbackSpec;
use crate::convert::{self, Now};
use crate::errors::{OrThrow, guard, invalid_arg};
use crate::policy::{NowOptions, Policy};

/// An access key: id, secret and, for STS, a security token. The secret
/// cannot be read back.
#[napi]
pub struct Credentials(pub(crate) postpolicy::Credentials);

#[napi]
impl Credentials {
    /// Throws `SIGNING_INVALID` for an empty id or secret, or an id with `/`
    /// or white space.
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        access_key_id: String,
        access_key_secret: String,
        security_token: Option<String>,
    ) -> Result<Self> {
        guard(env, || {
            postpolicy::Credentials::new(access_key_id, access_key_secret, security_token)
                .map(Self)
                .or_throw(env)
        })
    }

    /// From `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET` / `OSS_SESSION_TOKEN`,
    /// or `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET` /
    /// `ALIBABA_CLOUD_SECURITY_TOKEN`; `null` when neither pair is set.
    #[napi]
    pub fn from_env(env: &Env) -> Result<Option<Credentials>> {
        guard(env, || {
            postpolicy::Credentials::from_env()
                .transpose()
                .map(|c| c.map(Self))
                .or_throw(env)
        })
    }

    #[napi(getter, catch_unwind)]
    pub fn access_key_id(&self) -> String {
        self.0.access_key_id().to_owned()
    }

    /// The STS security token, or `null`.
    #[napi(getter, catch_unwind)]
    pub fn security_token(&self) -> Option<String> {
        self.0.security_token().map(str::to_owned)
    }

    /// `{ accessKeyId }`: never the secret.
    #[napi(js_name = "toJSON", catch_unwind)]
    pub fn to_json(&self) -> CredentialsJson {
        CredentialsJson {
            access_key_id: self.access_key_id(),
        }
    }
}

/// What `JSON.stringify` shows of `Credentials`.
#[napi(object, object_from_js = false)]
pub struct CredentialsJson {
    pub access_key_id: String,
}

/// The options of one signing call.
#[napi(object, object_to_js = false)]
pub struct SignOptions<'a> {
    pub now: Option<Either<Either<Date<'a>, f64>, Null>>,
    /// The object key, or a key template ending in `${filename}` (then
    /// `key starts-with` the prefix).
    pub key: Option<Either<String, Null>>,
    /// An upload callback (OSS only): its `callback` and `x:` fields go into
    /// the form, and into the policy unless `pinCallback` is false.
    /// `S3Signer` refuses it with `SIGNING_INVALID`.
    pub callback: Option<Either<ClassInstance<'a, CallbackSpec>, Null>>,
    /// Pin the callback and its variables in the policy (default true). An
    /// unpinned callback can be replaced by the browser.
    pub pin_callback: Option<Either<bool, Null>>,
}

/// A signed upload form: POST `fields` (in this order) to `url`, the file
/// last, named `file`.
#[napi(object, object_from_js = false)]
pub struct SignedForm<'env> {
    pub url: String,
    /// The hidden form fields, in order.
    #[napi(ts_type = "Record<string, string>")]
    pub fields: Object<'env>,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
    pub expires_at: String,
    /// Fields the page must still fill (constrained by `starts-with`, `in` or `not-in`).
    pub fields_to_fill: Vec<String>,
    /// The checks a page can make before it sends a file (size range, key and
    /// content-type conditions) with the verifier's wording, as plain data:
    /// the token's `rules` member, which `checkFile` in `postpolicy/browser` reads.
    #[napi(ts_type = "Array<Record<string, unknown>>")]
    pub rules: Unknown<'env>,
}

impl<'env> SignedForm<'env> {
    fn new(env: &'env Env, form: postpolicy::SignedForm) -> Result<Self> {
        Ok(Self {
            rules: env.to_js_value(&form.rules)?,
            fields: convert::record(env, &form.fields)?,
            expires_at: postpolicy::format_timestamp(form.expires_at),
            url: form.url,
            fields_to_fill: form.fields_to_fill,
        })
    }
}

/// What every signer class does with a policy, so that one [`Call::sign`]
/// serves them all: a new dialect's signer implements it by forwarding to its
/// core signer.
trait FormSigner {
    fn sign_with(
        &self,
        policy: &postpolicy::Policy,
        options: &CoreSignOptions,
        now: chrono::DateTime<chrono::Utc>,
    ) -> std::result::Result<postpolicy::SignedForm, SignatureError>;

    fn sign_json(
        &self,
        policy_json: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> std::result::Result<postpolicy::SignedForm, SignatureError>;

    /// The core's plan for `policy`, where the signer has plans (OSS, S3).
    fn plan(&self, _policy: &postpolicy::Policy) -> Option<postpolicy::SignPlan> {
        None
    }

    fn sign_planned(
        &self,
        plan: &postpolicy::SignPlan,
        options: &CoreSignOptions,
        now: chrono::DateTime<chrono::Utc>,
    ) -> std::result::Result<postpolicy::SignedForm, SignatureError> {
        self.sign_with(plan.policy(), options, now)
    }
}

macro_rules! form_signer {
    ($signer:ty $(, $plans:ident)?) => {
        impl FormSigner for $signer {
            $(
            fn $plans(&self, policy: &postpolicy::Policy) -> Option<postpolicy::SignPlan> {
                <$signer>::plan(self, policy).ok()
            }

            fn sign_planned(
                &self,
                plan: &postpolicy::SignPlan,
                options: &CoreSignOptions,
                now: chrono::DateTime<chrono::Utc>,
            ) -> std::result::Result<postpolicy::SignedForm, SignatureError> {
                <$signer>::sign_planned(self, plan, options, now)
            }
            )?

            fn sign_with(
                &self,
                policy: &postpolicy::Policy,
                options: &CoreSignOptions,
                now: chrono::DateTime<chrono::Utc>,
            ) -> std::result::Result<postpolicy::SignedForm, SignatureError> {
                <$signer>::sign_with(self, policy, options, now)
            }

            fn sign_json(
                &self,
                policy_json: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> std::result::Result<postpolicy::SignedForm, SignatureError> {
                <$signer>::sign_json(self, policy_json, now)
            }
        }
    };
}

form_signer!(postpolicy::OssSigner, plan);
form_signer!(postpolicy::S3Signer, plan);
form_signer!(postpolicy::GcsSigner);

/// One signing call's options, however JS passed them.
struct Call<'a> {
    now: Option<Now<'a>>,
    key: Option<String>,
    callback: Option<ClassInstance<'a, CallbackSpec>>,
    pin_callback: Option<bool>,
}

impl<'a> From<Option<SignOptions<'a>>> for Call<'a> {
    fn from(options: Option<SignOptions<'a>>) -> Self {
        match options {
            None => Self {
                now: None,
                key: None,
                callback: None,
                pin_callback: None,
            },
            Some(o) => Self {
                now: convert::given(o.now),
                key: convert::given(o.key),
                callback: convert::given(o.callback),
                pin_callback: convert::given(o.pin_callback),
            },
        }
    }
}

impl<'a> Call<'a> {
    /// The arguments of the fast path's methods.
    fn packed(
        now_millis: Option<f64>,
        key: Option<String>,
        callback: Option<ClassInstance<'a, CallbackSpec>>,
        pin_callback: Option<bool>,
    ) -> Self {
        Self {
            now: now_millis.map(Either::B),
            key,
            callback,
            pin_callback,
        }
    }
}

impl Call<'_> {
    /// `policy` signed by `signer`.
    fn sign(
        self,
        env: &Env,
        signer: &impl FormSigner,
        policy: &Policy,
    ) -> Result<postpolicy::SignedForm> {
        let now = convert::now(env, self.now.as_ref())?;
        if self.key.is_none() && self.callback.is_none() && self.pin_callback.is_none() {
            return signer
                .sign_with(&policy.0, &CoreSignOptions::default(), now)
                .or_throw(env);
        }
        let mut core = CoreSignOptions::default();
        if let Some(key) = self.key {
            core = core.key(key);
        }
        if let Some(spec) = &self.callback {
            core = core.callback_fields(spec.0.to_fields().or_throw(env)?);
        }
        if let Some(pin) = self.pin_callback {
            core = core.pin_callback(pin);
        }
        signer.sign_with(&policy.0, &core, now).or_throw(env)
    }
}

/// An exact policy text signed by `signer`.
fn sign_json<'env>(
    env: &'env Env,
    signer: &impl FormSigner,
    policy_json: &str,
    options: Option<NowOptions<'_>>,
) -> Result<SignedForm<'env>> {
    let now = convert::now(
        env,
        options.as_ref().and_then(|o| convert::now_field(&o.now)),
    )?;
    let form = signer.sign_json(policy_json, now).or_throw(env)?;
    SignedForm::new(env, form)
}

// ---- the packed form: `sign`'s fast path -------------------------------------
//
// Node-API builds an object property by property through V8's slow path:
// about 3.5 µs of CPU for a signed form, more than signing it. V8 builds the
// same object from JavaScript about ten times faster. So `node/index.js`
// makes each signer's `sign` call `signPlanned` (or `signPacked`, with a
// callback), which hands the form over as one string, and builds the object
// there (node/bench/sign.mjs).

/// Separates the items of a packed form.
const SEPARATOR: char = '\0';
/// Ends the shape of a packed form: the part that is the same from one call
/// to the next for one signer, policy and options.
const SHAPE_END: char = '\x01';

/// A packed form: `url, fieldsToFill.length, ...fieldsToFill, ...names`
/// each followed by NUL (the shape), then `\x01`, then `expiresAt,
/// ...values` each followed by NUL; or only `\x01` and the values, when the
/// receiver has the shape.
struct Packed {
    text: String,
    /// Whether the text is ASCII, as it nearly always is (base64, hex, dates):
    /// then it goes to V8 as Latin-1, which V8 copies without decoding UTF-8
    /// (about 65 ns less for a form).
    ascii: bool,
}

impl Packed {
    /// The whole form; `None` when an item holds NUL or `\x01` (`sign` then
    /// builds the object itself).
    fn new(form: &postpolicy::SignedForm) -> Option<Self> {
        let fill_count = form.fields_to_fill.len().to_string();
        let shape = [form.url.as_str(), fill_count.as_str()]
            .into_iter()
            .chain(form.fields_to_fill.iter().map(String::as_str))
            .chain(form.fields.iter().map(|(name, _)| name));
        let mut text = String::with_capacity(
            shape.clone().map(|item| item.len() + 1).sum::<usize>() + values_len(form),
        );
        let mut items = 0;
        for item in shape {
            text.push_str(item);
            text.push(SEPARATOR);
            items += 1;
        }
        items += push_values(&mut text, form);
        Self::checked(text, items)
    }

    /// `\x01` and the values only.
    fn values(form: &postpolicy::SignedForm) -> Option<Self> {
        let mut text = String::with_capacity(values_len(form));
        let items = push_values(&mut text, form);
        Self::checked(text, items)
    }

    /// `text` holding `items` items and `\x01`, if the separators are the
    /// only NUL and `\x01` bytes in it. They are exactly when no item holds
    /// one: a count over the text, cheaper than a search per item. One count
    /// of the bytes that are separators or not ASCII answers both questions
    /// for the usual text; a text with other bytes is counted again.
    fn checked(text: String, items: usize) -> Option<Self> {
        let separators = items + 1;
        if count(text.as_bytes(), |byte| !(2..0x80).contains(&byte)) == separators {
            return Some(Self { text, ascii: true });
        }
        (count(text.as_bytes(), |byte| byte <= SHAPE_END as u8) == separators)
            .then_some(Self { text, ascii: false })
    }

    fn into_js(self, env: &Env) -> Result<JsString<'_>> {
        if self.ascii {
            env.create_string_latin1(self.text.as_bytes())
        } else {
            env.create_string(&self.text)
        }
    }
}

/// What [`push_values`] writes, in bytes.
fn values_len(form: &postpolicy::SignedForm) -> usize {
    // `\x01`, the timestamp (24 bytes) and each value, with their NULs.
    1 + 25
        + form
            .fields
            .iter()
            .map(|(_, value)| value.len() + 1)
            .sum::<usize>()
}

/// Writes `\x01`, `expiresAt` and the values, and says how many items.
fn push_values(text: &mut String, form: &postpolicy::SignedForm) -> usize {
    text.push(SHAPE_END);
    postpolicy::push_timestamp(text, form.expires_at);
    text.push(SEPARATOR);
    for (_, value) in &form.fields {
        text.push_str(value);
        text.push(SEPARATOR);
    }
    1 + form.fields.len()
}

/// How many bytes of `bytes` are `wanted`, counted in `u8`s per 240-byte
/// chunk (15 vectors of 16 bytes, and the count cannot wrap), which the
/// compiler turns into vector code.
fn count(bytes: &[u8], wanted: impl Fn(u8) -> bool + Copy) -> usize {
    bytes
        .chunks(240)
        .map(|chunk| {
            let n = chunk
                .iter()
                .fold(0u8, |n, &byte| n.wrapping_add(u8::from(wanted(byte))));
            usize::from(n)
        })
        .sum()
}

/// One signer, policy and key, fixed: `node/index.js` makes one per
/// combination it signs (`signPlan`, kept with the form's rules) and signs
/// with `signPlanned`, which takes only the time. Node-API unwraps a class
/// instance (`this` or an argument) in about 115 ns, two lookups of private
/// properties (the native pointer, then the type tag); an External's pointer
/// is read directly.
pub struct Plan {
    signer: Arc<dyn FormSigner>,
    /// The core's plan of the policy, or the policy itself when it cannot
    /// be planned (it cannot be signed either: signing then says why).
    policy: std::result::Result<postpolicy::SignPlan, postpolicy::Policy>,
    options: CoreSignOptions,
    /// Whether index.js has this plan's shape. A plan fixes the signer, the
    /// policy and the options, which alone decide a form's URL, fields to
    /// fill and field names: every form of a plan has the shape of its
    /// first, so after that only `\x01` and the values go.
    shape_sent: Cell<bool>,
}

impl Plan {
    fn new(signer: Arc<dyn FormSigner>, policy: &Policy, key: Option<String>) -> Self {
        let mut options = CoreSignOptions::default();
        if let Some(key) = key {
            options = options.key(key);
        }
        Self {
            policy: signer.plan(&policy.0).ok_or_else(|| policy.0.clone()),
            signer,
            options,
            shape_sent: Cell::new(false),
        }
    }
}

/// The form of `plan` at `now_millis` (the clock when absent), packed:
/// `\x01` and the values when the shape is the one handed over last, else
/// the whole packed form; `null` when it cannot be packed. Throws as `sign`
/// does.
#[napi(skip_typescript)]
pub fn sign_planned<'env>(
    env: &'env Env,
    plan: &External<Plan>,
    now_millis: Option<f64>,
) -> Result<Option<JsString<'env>>> {
    guard(env, || {
        let now = convert::now(env, now_millis.map(Either::B).as_ref())?;
        let form = match &plan.policy {
            Ok(core) => plan.signer.sign_planned(core, &plan.options, now),
            Err(policy) => plan.signer.sign_with(policy, &plan.options, now),
        }
        .or_throw(env)?;
        let packed = if plan.shape_sent.get() {
            Packed::values(&form)
        } else {
            // The shape counts as sent only once its items are known to hold
            // no separator.
            let packed = Packed::new(&form);
            plan.shape_sent.set(packed.is_some());
            packed
        };
        packed.map(|packed| packed.into_js(env)).transpose()
    })
}

/// `v4` (the default) or `v1`.
#[napi(string_enum = "lowercase")]
pub enum OssVersion {
    V1,
    V4,
}

/// What `new OssSigner` takes.
#[napi(object, object_to_js = false)]
pub struct OssSignerOptions<'a> {
    pub credentials: ClassInstance<'a, Credentials>,
    /// `cn-hangzhou` or `oss-cn-hangzhou`.
    pub region: String,
    pub bucket: String,
    /// An endpoint host (`oss-cn-shanghai-internal.aliyuncs.com`, the bucket
    /// is prefixed) or the form's exact action URL (`https://img.example.com`,
    /// `http://127.0.0.1:9000/bucket`).
    pub endpoint: Option<Either<String, Null>>,
    /// `v4` (default) or `v1`.
    #[napi(ts_type = "OssVersion | null")]
    pub version: Option<Either<String, Null>>,
    /// Sign for this CloudBox (product `oss-cloudbox`, the id in place of the region).
    pub cloudbox_id: Option<Either<String, Null>>,
}

/// `sign`'s fast path for a signer class (node/index.js): `signPacked`, the
/// form packed into one string (`null` when it cannot be), and `rulesJson`,
/// its browser rules, read only when asked. `now` arrives as milliseconds
/// (index.js reads a Date's time): converting a Date through Node-API costs
/// more than passing a number.
macro_rules! fast_path {
    ($signer:ident) => {
        #[napi]
        impl $signer {
            #[napi(skip_typescript)]
            pub fn sign_packed<'env>(
                &self,
                env: &'env Env,
                policy: ClassInstance<'_, Policy>,
                now_millis: Option<f64>,
                key: Option<String>,
                callback: Option<ClassInstance<'_, CallbackSpec>>,
                pin_callback: Option<bool>,
            ) -> Result<Option<JsString<'env>>> {
                guard(env, || {
                    let call = Call::packed(now_millis, key, callback, pin_callback);
                    Packed::new(&call.sign(env, &*self.0, &policy)?)
                        .map(|packed| packed.into_js(env))
                        .transpose()
                })
            }

            #[napi(skip_typescript)]
            pub fn sign_plan(
                &self,
                env: &Env,
                policy: &Policy,
                key: Option<String>,
            ) -> Result<External<Plan>> {
                guard(env, || {
                    Ok(External::new(Plan::new(self.0.clone(), policy, key)))
                })
            }

            #[napi(skip_typescript)]
            pub fn rules_json(
                &self,
                env: &Env,
                policy: ClassInstance<'_, Policy>,
                now_millis: Option<f64>,
                key: Option<String>,
                callback: Option<ClassInstance<'_, CallbackSpec>>,
                pin_callback: Option<bool>,
            ) -> Result<String> {
                guard(env, || {
                    let call = Call::packed(now_millis, key, callback, pin_callback);
                    Ok(call.sign(env, &*self.0, &policy)?.rules.to_json())
                })
            }
        }
    };
}

fast_path!(OssSigner);
fast_path!(S3Signer);

/// Signs policies for one OSS bucket with one access key (V4 by default).
#[napi]
pub struct OssSigner(Arc<postpolicy::OssSigner>);

#[napi]
impl OssSigner {
    /// Throws `SIGNING_INVALID` for an invalid region, bucket, endpoint,
    /// CloudBox id or version.
    #[napi(constructor, ts_args_type = "options: OssSignerOptions")]
    pub fn new(env: &Env, options: Option<OssSignerOptions<'_>>) -> Result<Self> {
        guard(env, || {
            let Some(o) = options else {
                return Err(invalid_arg(
                    env,
                    "new OssSigner({ credentials, region, bucket, endpoint?, version?, cloudboxId? })",
                ));
            };
            let build = || -> std::result::Result<_, postpolicy::SignatureError> {
                let mut signer =
                    postpolicy::OssSigner::new(o.credentials.0.clone(), &o.region, &o.bucket)?;
                if let Some(endpoint) = convert::given(o.endpoint) {
                    signer = signer.with_endpoint(&endpoint)?;
                }
                if let Some(id) = convert::given(o.cloudbox_id) {
                    signer = signer.with_cloudbox(&id)?;
                }
                if let Some(version) = convert::given(o.version) {
                    signer = signer.with_version(version.parse::<CoreOssVersion>()?);
                }
                Ok(Self(Arc::new(signer)))
            };
            build().or_throw(env)
        })
    }

    /// The form's action URL.
    #[napi(getter, catch_unwind)]
    pub fn url(&self) -> String {
        self.0.url().to_owned()
    }

    #[napi(getter, catch_unwind)]
    pub fn bucket(&self) -> String {
        self.0.bucket().to_owned()
    }

    /// The signing region (without `oss-`), or the CloudBox id.
    #[napi(getter, catch_unwind)]
    pub fn region(&self) -> String {
        self.0.region().to_owned()
    }

    #[napi(getter, catch_unwind)]
    pub fn version(&self) -> OssVersion {
        match self.0.version() {
            CoreOssVersion::V1 => OssVersion::V1,
            CoreOssVersion::V4 => OssVersion::V4,
        }
    }

    /// Signs `policy` (the signer adds its own conditions) at `options.now`,
    /// with `options.key` and `options.callback`. Throws `POLICY_INVALID` or
    /// `SIGNING_INVALID`.
    #[napi]
    pub fn sign<'env>(
        &self,
        env: &'env Env,
        policy: &Policy,
        options: Option<SignOptions<'_>>,
    ) -> Result<SignedForm<'env>> {
        guard(env, || {
            let form = Call::from(options).sign(env, &*self.0, policy)?;
            SignedForm::new(env, form)
        })
    }

    /// The JSON token for the browser, exactly as every postpolicy server
    /// writes it: `{"url","fields":{…},"expires_at","fields_to_fill":[…]}`.
    #[napi]
    pub fn token(
        &self,
        env: &Env,
        policy: &Policy,
        options: Option<SignOptions<'_>>,
    ) -> Result<String> {
        guard(env, || {
            Call::from(options)
                .sign(env, &*self.0, policy)
                .map(|form| form.to_json())
        })
    }

    /// Signs an exact policy JSON text, byte for byte (to match another SDK);
    /// only the signature fields come back.
    #[napi]
    pub fn sign_json<'env>(
        &self,
        env: &'env Env,
        policy_json: String,
        options: Option<NowOptions<'_>>,
    ) -> Result<SignedForm<'env>> {
        guard(env, || sign_json(env, &*self.0, &policy_json, options))
    }
}

/// What `new S3Signer` takes.
#[napi(object, object_to_js = false)]
pub struct S3SignerOptions<'a> {
    pub credentials: ClassInstance<'a, Credentials>,
    /// `us-east-1`, or the region name of an S3-compatible server (`garage`, `auto`, …).
    pub region: String,
    pub bucket: String,
    /// An S3-compatible endpoint: `http://127.0.0.1:3900`,
    /// `https://<account>.r2.cloudflarestorage.com`, `minio.example.com`
    /// (`https` without a scheme). Default: AWS S3.
    pub endpoint: Option<Either<String, Null>>,
    /// `true`: `<endpoint>/<bucket>`; `false`: `<bucket>.<endpoint host>`.
    /// Unset: path style where a virtual host cannot work (an IP or
    /// `localhost` endpoint, a bucket with a dot over https).
    pub path_style: Option<Either<bool, Null>>,
}

/// Signs S3 presigned POST forms (AWS SigV4) for one bucket: AWS S3, MinIO,
/// Garage, R2, …
#[napi]
pub struct S3Signer(Arc<postpolicy::S3Signer>);

#[napi]
impl S3Signer {
    /// Throws `SIGNING_INVALID` for an invalid region, bucket or endpoint.
    #[napi(constructor, ts_args_type = "options: S3SignerOptions")]
    pub fn new(env: &Env, options: Option<S3SignerOptions<'_>>) -> Result<Self> {
        guard(env, || {
            let Some(o) = options else {
                return Err(invalid_arg(
                    env,
                    "new S3Signer({ credentials, region, bucket, endpoint?, pathStyle? })",
                ));
            };
            let build = || -> std::result::Result<_, postpolicy::SignatureError> {
                let mut signer =
                    postpolicy::S3Signer::new(o.credentials.0.clone(), &o.region, &o.bucket)?;
                if let Some(endpoint) = convert::given(o.endpoint) {
                    signer = signer.with_endpoint(&endpoint)?;
                }
                if let Some(path_style) = convert::given(o.path_style) {
                    signer = signer.with_path_style(path_style);
                }
                Ok(Self(Arc::new(signer)))
            };
            build().or_throw(env)
        })
    }

    /// The form's action URL.
    #[napi(getter, catch_unwind)]
    pub fn url(&self) -> String {
        self.0.url().to_owned()
    }

    #[napi(getter, catch_unwind)]
    pub fn bucket(&self) -> String {
        self.0.bucket().to_owned()
    }

    #[napi(getter, catch_unwind)]
    pub fn region(&self) -> String {
        self.0.region().to_owned()
    }

    /// Whether the URL is path-style (`<endpoint>/<bucket>`).
    #[napi(getter, catch_unwind)]
    pub fn path_style(&self) -> bool {
        self.0.path_style()
    }

    /// Signs `policy` (the signer adds `bucket` and the `x-amz-*`
    /// conditions). Throws `SIGNING_INVALID` for `in` / `not-in` conditions or
    /// a callback (OSS only), `POLICY_INVALID` for a policy S3 would refuse.
    #[napi]
    pub fn sign<'env>(
        &self,
        env: &'env Env,
        policy: &Policy,
        options: Option<SignOptions<'_>>,
    ) -> Result<SignedForm<'env>> {
        guard(env, || {
            let form = Call::from(options).sign(env, &*self.0, policy)?;
            SignedForm::new(env, form)
        })
    }

    /// The JSON token for the browser, in the same shape as `OssSigner#token`.
    #[napi]
    pub fn token(
        &self,
        env: &Env,
        policy: &Policy,
        options: Option<SignOptions<'_>>,
    ) -> Result<String> {
        guard(env, || {
            Call::from(options)
                .sign(env, &*self.0, policy)
                .map(|form| form.to_json())
        })
    }

    /// Signs an exact policy JSON text, byte for byte; only the `policy` and
    /// `x-amz-*` fields come back.
    #[napi]
    pub fn sign_json<'env>(
        &self,
        env: &'env Env,
        policy_json: String,
        options: Option<NowOptions<'_>>,
    ) -> Result<SignedForm<'env>> {
        guard(env, || sign_json(env, &*self.0, &policy_json, options))
    }
}

/// `base64(HMAC-SHA1(secret, policyB64))`: the V1 signature of an encoded policy.
#[napi(js_name = "signV1")]
pub fn sign_v1(env: &Env, secret: String, policy_b64: String) -> Result<String> {
    guard(env, || Ok(postpolicy::sign_v1(&secret, &policy_b64)))
}

/// The V4 signature (lower-case hex) of an encoded policy for `date`
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
    guard(env, || {
        let product = product.as_deref().unwrap_or("oss");
        postpolicy::sign_v4(&secret, &policy_b64, &date, &region, product).or_throw(env)
    })
}

/// The S3 SigV4 signature (lower-case hex) of an encoded policy for `date`
/// (yyyymmdd) and `region`: byte for byte boto3's and the AWS SDK for
/// JavaScript's. Throws `SIGNING_INVALID` for a bad date or region.
#[napi(js_name = "signS3V4")]
pub fn sign_s3_v4(
    env: &Env,
    secret: String,
    policy_b64: String,
    date: String,
    region: String,
) -> Result<String> {
    guard(env, || {
        postpolicy::sign_s3_v4(&secret, &policy_b64, &date, &region).or_throw(env)
    })
}

// ---- GCS ---------------------------------------------------------------------

/// An HMAC key for `new GcsSigner({ hmac })`.
#[napi(object, object_to_js = false)]
pub struct GcsHmacKey {
    pub access_id: String,
    pub secret: String,
}

/// What `new GcsSigner` takes: `serviceAccount` (a key file's path; node's
/// `GcsSigner` also takes the parsed key file and passes it as
/// `serviceAccountJson`) or `hmac`.
#[napi(object, object_to_js = false)]
pub struct GcsSignerOptions {
    pub service_account: Option<String>,
    pub service_account_json: Option<String>,
    pub hmac: Option<GcsHmacKey>,
    pub bucket: String,
    /// `path` (default), `virtual-hosted` or `bucket-bound`.
    pub url_style: Option<String>,
    /// The host name bound to the bucket (`cdn.example.com`).
    pub bound_hostname: Option<String>,
    /// `https` (default) or `http`.
    pub scheme: Option<String>,
    /// Another XML API endpoint (a local server).
    pub endpoint: Option<String>,
}

/// Signs Google Cloud Storage V4 POST forms for one bucket, with a service
/// account key (`GOOG4-RSA-SHA256`) or an HMAC key (`GOOG4-HMAC-SHA256`).
#[napi]
pub struct GcsSigner(postpolicy::GcsSigner);

impl GcsSigner {
    /// The key of `options`, for the signer and for `GcsVerifier`.
    pub(crate) fn credentials(
        env: &Env,
        service_account: Option<String>,
        service_account_json: Option<String>,
        hmac: Option<GcsHmacKey>,
    ) -> Result<postpolicy::GcsCredentials> {
        let key = match (service_account, service_account_json, hmac) {
            (Some(path), None, None) => {
                postpolicy::ServiceAccountKey::from_file(path).map(Into::into)
            }
            (None, Some(json), None) => {
                postpolicy::ServiceAccountKey::from_json(&json).map(Into::into)
            }
            (None, None, Some(h)) => postpolicy::GcsCredentials::hmac(h.access_id, h.secret),
            _ => {
                return Err(invalid_arg(
                    env,
                    "give exactly one of serviceAccount (a path or the key file) and hmac ({ accessId, secret })",
                ));
            }
        };
        key.or_throw(env)
    }
}

#[napi]
impl GcsSigner {
    /// Throws `SIGNING_INVALID` for an unusable key, bucket or URL option.
    #[napi(constructor, ts_args_type = "options: GcsSignerOptions")]
    pub fn new(env: &Env, options: Option<GcsSignerOptions>) -> Result<Self> {
        guard(env, || {
            let Some(o) = options else {
                return Err(invalid_arg(
                    env,
                    "new GcsSigner({ serviceAccount | hmac: { accessId, secret }, bucket, urlStyle?, boundHostname?, scheme? })",
                ));
            };
            let credentials =
                Self::credentials(env, o.service_account, o.service_account_json, o.hmac)?;
            postpolicy::GcsSigner::new(credentials, &o.bucket)
                .and_then(|s| {
                    s.with_url_options(
                        o.url_style.as_deref(),
                        o.bound_hostname.as_deref(),
                        o.scheme.as_deref(),
                        o.endpoint.as_deref(),
                    )
                })
                .map(Self)
                .or_throw(env)
        })
    }

    /// The form's action URL.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.0.url().to_owned()
    }

    #[napi(getter)]
    pub fn bucket(&self) -> String {
        self.0.bucket().to_owned()
    }

    /// `GOOG4-RSA-SHA256` or `GOOG4-HMAC-SHA256`.
    #[napi(getter)]
    pub fn algorithm(&self) -> String {
        self.0.credentials().algorithm().to_owned()
    }

    /// The service account's e-mail or the HMAC access id.
    #[napi(getter)]
    pub fn access_id(&self) -> String {
        self.0.credentials().access_id().to_owned()
    }

    /// Signs `policy` (the signer adds `bucket`, `key` and the `x-goog-*`
    /// conditions). Throws `SIGNING_INVALID` for `in` / `not-in` conditions or
    /// a callback (OSS only).
    #[napi]
    pub fn sign<'env>(
        &self,
        env: &'env Env,
        policy: &Policy,
        options: Option<SignOptions<'_>>,
    ) -> Result<SignedForm<'env>> {
        guard(env, || {
            let form = Call::from(options).sign(env, &self.0, policy)?;
            SignedForm::new(env, form)
        })
    }

    /// Signs an exact policy text without changing a byte of it; only the
    /// signature fields come back.
    #[napi]
    pub fn sign_json<'env>(
        &self,
        env: &'env Env,
        policy_json: String,
        options: Option<NowOptions<'_>>,
    ) -> Result<SignedForm<'env>> {
        guard(env, || sign_json(env, &self.0, &policy_json, options))
    }
}
