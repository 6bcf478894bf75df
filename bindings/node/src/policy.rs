//! `Policy`, `PolicyBuilder` and lint diagnostics.

use napi::bindgen_prelude::{Date, Either, Env, JsObjectValue, Null, Object, This, Unknown};
use napi::{JsValue, Result, ValueType};
use napi_derive::napi;

use crate::convert::{self, MAX_SAFE_INTEGER, Now, StringOr, kind_of};
use crate::errors::{OrThrow, guard, invalid_arg, to_u32};

/// An upload policy: an expiration and an ordered list of conditions. Made by
/// `Policy.parse`, `Policy.builder()`, `Policy.fromJson` or `Policy.fromBase64`.
#[napi]
pub struct Policy(pub(crate) postpolicy::Policy);

/// `now`: the clock to use; when absent, the current time is read.
#[napi(object, object_to_js = false)]
pub struct NowOptions<'a> {
    pub now: Option<Either<Either<Date<'a>, f64>, Null>>,
}

/// What `Policy#lint` takes.
#[napi(object, object_to_js = false)]
pub struct LintOptions<'a> {
    pub now: Option<Either<Either<Date<'a>, f64>, Null>>,
    /// The signer's `key` option: an object key, or a template ending in
    /// `${filename}` (linted as the key condition the signer adds).
    pub key: Option<Either<String, Null>>,
}

#[napi]
impl Policy {
    /// Not for direct use: the factories are `Policy.parse`, `Policy.builder`,
    /// `Policy.fromJson` and `Policy.fromBase64`.
    #[napi(constructor)]
    pub fn new(env: &Env) -> Result<Self> {
        Err(invalid_arg(
            env,
            "use Policy.parse, Policy.builder, Policy.fromJson or Policy.fromBase64",
        ))
    }

    /// Parses the policy DSL, its `{name}` placeholders filled from `params`
    /// (a plain object or a Map of strings) as values, never as policy text.
    /// Throws `POLICY_SYNTAX` (a missing or unused parameter included), or
    /// `InvalidArg` when `params` is not a plain object or a Map of strings.
    #[napi(
        factory,
        ts_args_type = "dsl: string, params?: Readonly<Record<string, string>> | ReadonlyMap<string, string> | null"
    )]
    pub fn parse(env: &Env, dsl: String, params: Option<Unknown<'_>>) -> Result<Self> {
        guard(env, || {
            let parsed = match params {
                None => postpolicy::Policy::parse(&dsl),
                Some(params) => postpolicy::Policy::parse_with(&dsl, parameters(env, &params)?),
            };
            parsed.map(Self).or_throw(env)
        })
    }

    /// A builder for a policy written in code.
    #[napi(catch_unwind)]
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// Parses policy JSON as the services accept it. Throws `POLICY_INVALID`.
    #[napi(factory)]
    pub fn from_json(env: &Env, json: String) -> Result<Self> {
        guard(env, || {
            postpolicy::Policy::from_json(&json).map(Self).or_throw(env)
        })
    }

    /// Decodes a `policy` form field (base64 of policy JSON). Throws `POLICY_INVALID`.
    #[napi(factory)]
    pub fn from_base64(env: &Env, policy_b64: String) -> Result<Self> {
        guard(env, || {
            postpolicy::Policy::from_base64(&policy_b64)
                .map(Self)
                .or_throw(env)
        })
    }

    /// The canonical DSL text.
    #[napi]
    pub fn to_dsl(&self, env: &Env) -> Result<String> {
        guard(env, || Ok(self.0.to_dsl()))
    }

    /// The canonical DSL text.
    #[napi(js_name = "toString")]
    pub fn to_string_js(&self, env: &Env) -> Result<String> {
        self.to_dsl(env)
    }

    /// Compact policy JSON; a relative or missing expiration resolves against
    /// `now` (default: the current time). Throws `TIME_OUT_OF_RANGE` when the
    /// expiration falls after 9999.
    #[napi]
    pub fn to_json(
        &self,
        env: &Env,
        options: Option<Either<Date<'_>, NowOptions<'_>>>,
    ) -> Result<String> {
        guard(env, || {
            let now = match &options {
                Some(Either::A(date)) => convert::now(env, Some(&Either::A(*date)))?,
                Some(Either::B(options)) => convert::now(env, convert::now_field(&options.now))?,
                None => convert::now(env, None)?,
            };
            self.0.to_json(now).or_throw(env)
        })
    }

    /// Errors and warnings, as if the policy were signed at `now` with the
    /// signer's `key` option.
    #[napi]
    pub fn lint(
        &self,
        env: &Env,
        options: Option<Either<Date<'_>, LintOptions<'_>>>,
    ) -> Result<Vec<Diagnostic>> {
        guard(env, || {
            let (now, key) = match options {
                Some(Either::A(date)) => (Some(Either::A(date)), None),
                Some(Either::B(options)) => (
                    convert::now_field(&options.now).copied(),
                    convert::given(options.key),
                ),
                None => (None, None),
            };
            let now = convert::now_in_range(env, now.as_ref())?;
            Ok(self
                .0
                .lint_with_key(key.as_deref(), now)
                .into_iter()
                .map(Diagnostic::from)
                .collect())
        })
    }

    /// Same expiration and conditions.
    #[napi]
    pub fn equals(&self, env: &Env, other: &Policy) -> Result<bool> {
        guard(env, || Ok(self.0 == other.0))
    }
}

/// DSL parameters (a plain object or a Map, of strings) as name, value pairs;
/// anything else is refused naming the culprit.
fn parameters(env: &Env, params: &Unknown<'_>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut add = |name: &Unknown<'_>, value: &Unknown<'_>| -> Result<()> {
        let Some(name) = convert::string_of(name) else {
            return Err(invalid_arg(
                env,
                format!(
                    "params: parameter names must be strings, not {}",
                    kind_of(name)?
                ),
            ));
        };
        let Some(value) = convert::string_of(value) else {
            let quoted = serde_json::to_string(&name).unwrap_or_default();
            return Err(invalid_arg(
                env,
                format!(
                    "params[{quoted}] must be a string, not {} (convert it with String() if that is what you mean)",
                    kind_of(value)?
                ),
            ));
        };
        out.push((name, value));
        Ok(())
    };
    if matches!(params.get_type()?, ValueType::Undefined | ValueType::Null) {
        return Ok(Vec::new());
    }
    if is_map(env, params)? {
        for entry in convert::items(env, params)? {
            let entry = convert::object(&entry);
            add(&entry.get_element(0)?, &entry.get_element(1)?)?;
        }
        return Ok(out);
    }
    if !is_plain_object(env, params)? {
        return Err(invalid_arg(
            env,
            format!(
                "params must be a plain object or a Map of strings, not {}",
                kind_of(params)?
            ),
        ));
    }
    let object = convert::object(params);
    let keys = convert::own_keys(params)?;
    // Symbols first: a symbol key is refused whatever else the object holds.
    let (symbols, names): (Vec<_>, Vec<_>) = keys
        .into_iter()
        .partition(|key| matches!(key.get_type(), Ok(ValueType::Symbol)));
    for key in symbols.into_iter().chain(names) {
        let value: Unknown<'_> = object.get_property(key)?;
        add(&key, &value)?;
    }
    Ok(out)
}

fn is_map(env: &Env, value: &Unknown<'_>) -> Result<bool> {
    if value.get_type()? != ValueType::Object {
        return Ok(false);
    }
    value.instanceof(convert::global(env, "Map")?)
}

/// An object whose prototype is `Object.prototype` or `null`.
fn is_plain_object(env: &Env, value: &Unknown<'_>) -> Result<bool> {
    if value.get_type()? != ValueType::Object || value.is_array()? {
        return Ok(false);
    }
    let proto = convert::object(value).get_prototype()?;
    if proto.get_type()? == ValueType::Null {
        return Ok(true);
    }
    let object_prototype: Unknown<'_> =
        convert::global(env, "Object")?.get_named_property("prototype")?;
    env.strict_equals(proto, object_prototype)
}

/// Builds a `Policy` condition by condition, each method adding what the
/// equivalent DSL statement would, in call order; the methods return the
/// builder. `build()` throws `POLICY_INVALID` for input that makes no
/// sensible policy (min above max, an empty field name, …); an argument of
/// the wrong type throws `InvalidArg` at once.
#[napi]
#[derive(Default)]
pub struct PolicyBuilder(postpolicy::PolicyBuilder);

#[napi]
impl PolicyBuilder {
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        Self::default()
    }

    /// `expires in …`, in whole seconds from signing.
    #[napi(ts_args_type = "seconds: number", ts_return_type = "this")]
    pub fn expires_in<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        seconds: Either<f64, Unknown<'_>>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            let seconds = number(env, "expiresIn", "seconds", seconds)?;
            if !(0.0..=MAX_SAFE_INTEGER).contains(&seconds) {
                return Err(invalid_arg(
                    env,
                    "PolicyBuilder#expiresIn: `seconds` must be a number from 0 to Number.MAX_SAFE_INTEGER",
                ));
            }
            // A fraction of a second reaches the core, which refuses it at build().
            Ok(b.expires_in(std::time::Duration::from_secs_f64(seconds)))
        })
    }

    /// `expires at …`: a Date (or epoch milliseconds).
    #[napi(ts_args_type = "at: Date", ts_return_type = "this")]
    pub fn expires_at<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        at: Either<Now<'_>, Unknown<'_>>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            let millis = match at {
                Either::A(Either::A(date)) => date.value_of()?,
                Either::A(Either::B(millis)) => millis,
                Either::B(other) => {
                    return Err(invalid_arg(
                        env,
                        format!(
                            "PolicyBuilder#expiresAt: `at` must be a Date, not {}",
                            kind_of(&other)?
                        ),
                    ));
                }
            };
            let at = millis
                .is_finite()
                .then(|| chrono::DateTime::from_timestamp_millis(millis.floor() as i64))
                .flatten()
                .ok_or_else(|| {
                    invalid_arg(env, "PolicyBuilder#expiresAt: `at` must be a valid Date")
                })?;
            Ok(b.expires_at(at))
        })
    }

    /// `key starts-with prefix`.
    #[napi(ts_args_type = "prefix: string", ts_return_type = "this")]
    pub fn key_prefix<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        prefix: StringOr<'_>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            Ok(b.key_prefix(string(env, "keyPrefix", "prefix", prefix)?))
        })
    }

    /// `key = key`.
    #[napi(ts_args_type = "key: string", ts_return_type = "this")]
    pub fn key<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        key: StringOr<'_>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| Ok(b.key(string(env, "key", "key", key)?)))
    }

    /// `content-type = contentType`.
    #[napi(ts_args_type = "contentType: string", ts_return_type = "this")]
    pub fn content_type<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        content_type: StringOr<'_>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            Ok(b.content_type(string(env, "contentType", "contentType", content_type)?))
        })
    }

    /// `content-type starts-with prefix`.
    #[napi(ts_args_type = "prefix: string", ts_return_type = "this")]
    pub fn content_type_prefix<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        prefix: StringOr<'_>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            Ok(b.content_type_prefix(string(env, "contentTypePrefix", "prefix", prefix)?))
        })
    }

    /// `content-type in [...]`: an array (or another iterable) of strings.
    #[napi(ts_args_type = "types: Iterable<string>", ts_return_type = "this")]
    pub fn content_types<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        types: Unknown<'_>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            if !convert::is_iterable(env, &types)? {
                return Err(invalid_arg(
                    env,
                    format!(
                        "PolicyBuilder#contentTypes: `types` must be an array of strings, not {}",
                        kind_of(&types)?
                    ),
                ));
            }
            let values = convert::items(env, &types)?
                .iter()
                .map(|item| match convert::string_of(item) {
                    Some(value) => Ok(value),
                    None => Err(invalid_arg(
                        env,
                        format!(
                            "PolicyBuilder#contentTypes: `types[]` must be a string, not {}",
                            kind_of(item)?
                        ),
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(b.content_types(values))
        })
    }

    /// `content-length min..max` (bytes, inclusive).
    #[napi(ts_args_type = "min: number, max: number", ts_return_type = "this")]
    pub fn size<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        min: Either<f64, Unknown<'_>>,
        max: Either<f64, Unknown<'_>>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            let min = number(env, "size", "min", min)?;
            let max = number(env, "size", "max", max)?;
            Ok(b.size(count(env, "min", min)?, count(env, "max", max)?))
        })
    }

    /// `name = value`: an exact form field.
    #[napi(ts_args_type = "name: string, value: string", ts_return_type = "this")]
    pub fn field<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        name: StringOr<'_>,
        value: StringOr<'_>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            let name = string(env, "field", "name", name)?;
            Ok(b.field(&name, string(env, "field", "value", value)?))
        })
    }

    /// `x-oss-meta-NAME = value` (or `x-amz-meta-NAME`): the whole field name.
    #[napi(ts_args_type = "name: string, value: string", ts_return_type = "this")]
    pub fn metadata<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        name: StringOr<'_>,
        value: StringOr<'_>,
    ) -> Result<Object<'env>> {
        self.step(env, this, |b| {
            let name = string(env, "metadata", "name", name)?;
            Ok(b.metadata(&name, string(env, "metadata", "value", value)?))
        })
    }

    /// The policy; throws `POLICY_INVALID` for the first problem met. The
    /// builder stays usable.
    #[napi]
    pub fn build(&self, env: &Env) -> Result<Policy> {
        guard(env, || self.0.clone().build().map(Policy).or_throw(env))
    }
}

impl PolicyBuilder {
    /// Adds one call to the builder (unless its arguments are refused) and
    /// hands back `this`, for chaining.
    fn step<'env>(
        &mut self,
        env: &Env,
        this: This<'env>,
        call: impl FnOnce(postpolicy::PolicyBuilder) -> Result<postpolicy::PolicyBuilder>,
    ) -> Result<Object<'env>> {
        guard(env, || {
            self.0 = call(self.0.clone())?;
            Ok(this.object)
        })
    }
}

fn string(env: &Env, method: &str, what: &str, value: StringOr<'_>) -> Result<String> {
    match value {
        Either::A(value) => Ok(value),
        Either::B(other) => Err(invalid_arg(
            env,
            format!(
                "PolicyBuilder#{method}: `{what}` must be a string, not {}",
                kind_of(&other)?
            ),
        )),
    }
}

fn number(env: &Env, method: &str, what: &str, value: Either<f64, Unknown<'_>>) -> Result<f64> {
    match value {
        Either::A(value) => Ok(value),
        Either::B(other) => Err(invalid_arg(
            env,
            format!(
                "PolicyBuilder#{method}: `{what}` must be a number, not {}",
                kind_of(&other)?
            ),
        )),
    }
}

fn count(env: &Env, what: &str, value: f64) -> Result<u64> {
    convert::whole(value).ok_or_else(|| {
        invalid_arg(
            env,
            format!(
                "PolicyBuilder#size: `{what}` must be a whole number from 0 to Number.MAX_SAFE_INTEGER"
            ),
        )
    })
}

/// A byte range in DSL source text.
#[napi(object, object_from_js = false)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl From<postpolicy::Span> for Span {
    fn from(span: postpolicy::Span) -> Self {
        Self {
            start: to_u32(span.start),
            end: to_u32(span.end),
        }
    }
}

/// How bad a lint finding is.
#[napi(string_enum = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One lint finding.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Diagnostic {
    /// Stable code, e.g. `no-size-limit`, `range-min-above-max`.
    pub code: String,
    pub severity: Severity,
    pub message: String,
    /// The 0-based index of the condition it is about, or `null` for the whole policy.
    pub condition_index: Option<u32>,
    /// Where the condition was written, for a policy parsed from the DSL (else `null`).
    pub span: Option<Span>,
}

impl From<postpolicy::Diagnostic> for Diagnostic {
    fn from(d: postpolicy::Diagnostic) -> Self {
        Self {
            code: d.code.to_owned(),
            severity: match d.severity {
                postpolicy::Severity::Error => Severity::Error,
                postpolicy::Severity::Warning => Severity::Warning,
            },
            message: d.message,
            condition_index: d.condition_index.map(to_u32),
            span: d.span.map(Span::from),
        }
    }
}
