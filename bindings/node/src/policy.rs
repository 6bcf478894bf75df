//! `Policy` and lint diagnostics.

use napi::Result;
use napi::bindgen_prelude::{Env, External};
use napi_derive::napi;
use postpolicy::Policy;

use crate::errors::{throw_from, to_u32};
use crate::time::{from_millis, now_in_range};

/// Parses the policy DSL. Throws `POLICY_SYNTAX` (with `line`, `column` and
/// every error in `errors`).
#[napi(catch_unwind)]
pub fn policy_parse(env: &Env, dsl: String) -> Result<External<Policy>> {
    Policy::parse(&dsl)
        .map(External::new)
        .map_err(|e| throw_from(env, e))
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
/// (default: the current time).
#[napi(catch_unwind)]
pub fn policy_lint(
    env: &Env,
    policy: &External<Policy>,
    now_millis: Option<f64>,
) -> Result<Vec<Diagnostic>> {
    Ok(policy
        .lint(now_in_range(env, now_millis)?)
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
