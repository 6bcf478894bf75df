//! `Policy` and lint diagnostics.

use napi::Result;
use napi::bindgen_prelude::{Env, External};
use napi_derive::napi;
use postpolicy::Policy;

use crate::errors::{invalid_arg, throw_from, to_u32};
use crate::time::{from_millis, now_in_range};

/// Parses the policy DSL. Throws `POLICY_SYNTAX` (with `line`, `column` and
/// every error in `errors`).
#[napi(catch_unwind)]
pub fn policy_parse(env: &Env, dsl: String) -> Result<External<Policy>> {
    Policy::parse(&dsl)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// Parses the policy DSL with its `{name}` placeholders filled from the
/// parameters (`index.js` has checked them and split them into two lists of
/// the same length). Throws `POLICY_SYNTAX` as `policyParse` does.
#[napi(catch_unwind)]
pub fn policy_parse_with(
    env: &Env,
    dsl: String,
    names: Vec<String>,
    values: Vec<String>,
) -> Result<External<Policy>> {
    if names.len() != values.len() {
        return Err(invalid_arg("parameter names and values differ in number"));
    }
    Policy::parse_with(&dsl, names.iter().zip(values.iter()))
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// One call of `PolicyBuilder` as `index.js` records it: `op` is the method
/// name, the other fields its arguments.
#[napi(object, object_to_js = false)]
pub struct BuilderStep {
    pub op: String,
    pub name: Option<String>,
    pub value: Option<String>,
    pub values: Option<Vec<String>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub seconds: Option<f64>,
    pub at_millis: Option<f64>,
}

/// Replays the recorded `PolicyBuilder` calls on the core's builder. Throws
/// `POLICY_INVALID` for what makes no sensible policy (min above max, …),
/// `InvalidArg` for an argument of the wrong kind.
#[napi(catch_unwind)]
pub fn policy_build(env: &Env, steps: Vec<BuilderStep>) -> Result<External<Policy>> {
    let mut builder = Policy::builder();
    for step in steps {
        builder = apply(builder, step)?;
    }
    builder
        .build()
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

fn apply(
    builder: postpolicy::PolicyBuilder,
    step: BuilderStep,
) -> Result<postpolicy::PolicyBuilder> {
    let op = step.op.as_str();
    let text = |value: Option<String>, what: &str| {
        value.ok_or_else(|| invalid_arg(format!("PolicyBuilder#{op}: `{what}` must be a string")))
    };
    Ok(match op {
        // A fraction of a second reaches the core, which refuses it.
        "expiresIn" => match step.seconds {
            Some(n) if (0.0..=MAX_SAFE_INTEGER).contains(&n) => {
                builder.expires_in(std::time::Duration::from_secs_f64(n))
            }
            _ => {
                return Err(invalid_arg(
                    "PolicyBuilder#expiresIn: `seconds` must be a number from 0 to Number.MAX_SAFE_INTEGER",
                ));
            }
        },
        "expiresAt" => {
            let at = crate::time::from_millis(Some(step.at_millis.ok_or_else(|| {
                invalid_arg("PolicyBuilder#expiresAt: `at` must be a valid Date")
            })?))?;
            builder.expires_at(at)
        }
        "keyPrefix" => builder.key_prefix(text(step.value, "prefix")?),
        "key" => builder.key(text(step.value, "key")?),
        "contentType" => builder.content_type(text(step.value, "contentType")?),
        "contentTypePrefix" => builder.content_type_prefix(text(step.value, "prefix")?),
        "contentTypes" => builder.content_types(step.values.ok_or_else(|| {
            invalid_arg("PolicyBuilder#contentTypes: `types` must be an array of strings")
        })?),
        "size" => builder.size(whole(step.min, op, "min")?, whole(step.max, op, "max")?),
        "field" => builder.field(&text(step.name, "name")?, text(step.value, "value")?),
        "metadata" => builder.metadata(&text(step.name, "name")?, text(step.value, "value")?),
        other => {
            return Err(invalid_arg(format!(
                "PolicyBuilder has no method `{other}`"
            )));
        }
    })
}

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JS number that is a whole, non-negative, exactly representable count.
fn whole(value: Option<f64>, op: &str, what: &str) -> Result<u64> {
    match value {
        Some(n) if n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&n) => Ok(n as u64),
        _ => Err(invalid_arg(format!(
            "PolicyBuilder#{op}: `{what}` must be a whole number from 0 to Number.MAX_SAFE_INTEGER"
        ))),
    }
}

/// Parses policy JSON as the services accept it. Throws `POLICY_INVALID`.
#[napi(catch_unwind)]
pub fn policy_from_json(env: &Env, json: String) -> Result<External<Policy>> {
    Policy::from_json(&json)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// Decodes a `policy` form field (base64 of policy JSON). Throws `POLICY_INVALID`.
#[napi(catch_unwind)]
pub fn policy_from_base64(env: &Env, policy_b64: String) -> Result<External<Policy>> {
    Policy::from_base64(&policy_b64)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
}

/// The canonical DSL text.
#[napi(catch_unwind)]
pub fn policy_to_dsl(policy: &External<Policy>) -> String {
    policy.to_dsl()
}

/// Compact policy JSON; a relative or missing expiration resolves against
/// `nowMillis` (default: the current time).
/// Throws `TIME_OUT_OF_RANGE` when the expiration falls after 9999.
#[napi(catch_unwind)]
pub fn policy_to_json(
    env: &Env,
    policy: &External<Policy>,
    now_millis: Option<f64>,
) -> Result<String> {
    policy
        .to_json(from_millis(now_millis)?)
        .map_err(|e| throw_from(env, e))
}

/// Errors and warnings, as if the policy were signed at `nowMillis`
/// (default: the current time) with the signer's `key` option.
#[napi(catch_unwind)]
pub fn policy_lint(
    env: &Env,
    policy: &External<Policy>,
    now_millis: Option<f64>,
    key: Option<String>,
) -> Result<Vec<Diagnostic>> {
    Ok(policy
        .lint_with_key(key.as_deref(), now_in_range(env, now_millis)?)
        .into_iter()
        .map(Diagnostic::from)
        .collect())
}

/// True when both policies have the same expiration and conditions.
#[napi(catch_unwind)]
pub fn policy_equals(a: &External<Policy>, b: &External<Policy>) -> bool {
    **a == **b
}

/// A byte range in DSL source text.
#[napi(object, object_from_js = false)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

/// One lint finding.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Diagnostic {
    /// Stable code, e.g. `no-size-limit`.
    pub code: String,
    /// `error` or `warning`.
    #[napi(ts_type = "'error' | 'warning'")]
    pub severity: String,
    pub message: String,
    /// The 0-based index of the condition it is about (`null` for the policy).
    pub condition_index: Option<u32>,
    /// Where the condition was written, for a policy parsed from the DSL (else `null`).
    pub span: Option<Span>,
}

impl From<postpolicy::Diagnostic> for Diagnostic {
    fn from(d: postpolicy::Diagnostic) -> Self {
        Self {
            code: d.code.to_owned(),
            severity: d.severity.to_string(),
            message: d.message,
            condition_index: d.condition_index.map(to_u32),
            span: d.span.map(|s| Span {
                start: to_u32(s.start),
                end: to_u32(s.end),
            }),
        }
    }
}
