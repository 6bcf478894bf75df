//! Every error the addon throws is made here.
//!
//! A core error becomes a JS `Error` with the core's stable `code`
//! (`POLICY_SYNTAX`, `POLICY_INVALID`, `SIGNING_INVALID`, `REJECTED`,
//! `TIME_OUT_OF_RANGE`, `CALLBACK_*`, …) and message. Syntax errors add `line`,
//! `column` (of the first error) and `errors` (all of them); invalid policies
//! add `serviceCode`, `serviceMessage` and `reason`; rejections add `status`,
//! `serviceCode`, `serviceMessage`, `conditionIndex` and `reason`. An argument
//! of the wrong shape is a `TypeError` with code `InvalidArg` (napi-rs's own
//! conversions keep their codes: `StringExpected`, …), and a Rust panic is an
//! `Error` with code `Internal`: the process goes on.

use std::panic::AssertUnwindSafe;

use napi::bindgen_prelude::{Env, Null, Object};
use napi::{Error, JsTypeError, Result, Status};
use postpolicy::{PolicyError, Rejected, SignatureError, SyntaxErrors};

/// Turns a core result into a napi one, throwing the core's error.
pub(crate) trait OrThrow<T> {
    fn or_throw(self, env: &Env) -> Result<T>;
}

impl<T, E: Into<postpolicy::Error>> OrThrow<T> for std::result::Result<T, E> {
    fn or_throw(self, env: &Env) -> Result<T> {
        self.map_err(|e| throw(env, &e.into()))
    }
}

/// Throws `error` as a JS `Error` with its code and details, and returns the
/// napi error that tells napi-rs an exception is pending.
pub(crate) fn throw(env: &Env, error: &postpolicy::Error) -> Error {
    let thrown = build(env, error).and_then(|object| env.throw(object));
    pending(thrown, error.to_string())
}

/// An argument the binding cannot use: a `TypeError` with code `InvalidArg`
/// and a message naming the argument and what it should be.
pub(crate) fn invalid_arg(env: &Env, message: impl Into<String>) -> Error {
    let message = message.into();
    let error =
        JsTypeError::from(Error::new(Status::InvalidArg, message.clone())).into_unknown(*env);
    pending(env.throw(error), message)
}

/// Runs the body of an exported function; a Rust panic in it is thrown as an
/// `Error` with code `Internal` instead of ending the process. (napi-rs's
/// `catch_unwind` would throw it as `GenericFailure`, a code its own
/// conversions use too; the accessors, which run no core code, carry that
/// attribute instead, so that no export can unwind into Node.)
pub(crate) fn guard<T>(env: &Env, body: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("a panic without a message");
        let message = format!("internal error in postpolicy (please report it): {what}");
        let thrown = env
            .create_error(Error::new(Status::GenericFailure, message.clone()))
            .and_then(|mut object| {
                object.set("code", "Internal")?;
                env.throw(object)
            });
        Err(pending(thrown, message))
    })
}

fn pending(thrown: Result<()>, message: String) -> Error {
    match thrown {
        Ok(()) => Error::new(Status::PendingException, message),
        Err(e) => e,
    }
}

fn build<'env>(env: &'env Env, error: &postpolicy::Error) -> Result<Object<'env>> {
    let mut object = env.create_error(Error::new(Status::GenericFailure, error.to_string()))?;
    object.set("code", error.code())?;
    match error {
        postpolicy::Error::Syntax(errors) => set_syntax(&mut object, errors)?,
        postpolicy::Error::Policy(policy)
        | postpolicy::Error::Signature(SignatureError::Policy(policy)) => {
            set_policy(&mut object, policy)?;
        }
        postpolicy::Error::Rejected(rejected) => set_rejected(&mut object, rejected)?,
        _ => {}
    }
    Ok(object)
}

fn set_syntax(object: &mut Object<'_>, errors: &SyntaxErrors) -> Result<()> {
    let first = errors.first();
    object.set("line", to_u32(first.line()))?;
    object.set("column", to_u32(first.column()))?;
    let list: Vec<SyntaxErrorDetail> = errors.iter().map(SyntaxErrorDetail::from).collect();
    object.set("errors", list)
}

/// One DSL syntax error, in the `errors` of a `POLICY_SYNTAX` error.
#[napi_derive::napi(object, object_from_js = false)]
pub struct SyntaxErrorDetail {
    pub line: u32,
    pub column: u32,
    /// `expected …, found …`
    pub reason: String,
    pub expected: String,
    pub found: String,
    /// `line L, column C: expected …, found …`
    pub message: String,
    pub span: crate::policy::Span,
}

impl From<&postpolicy::SyntaxError> for SyntaxErrorDetail {
    fn from(e: &postpolicy::SyntaxError) -> Self {
        Self {
            line: to_u32(e.line()),
            column: to_u32(e.column()),
            reason: e.reason(),
            expected: e.expected().to_owned(),
            found: e.found().to_owned(),
            message: e.to_string(),
            span: crate::policy::Span::from(e.span()),
        }
    }
}

fn set_policy(object: &mut Object<'_>, policy: &PolicyError) -> Result<()> {
    object.set("serviceCode", policy.service_code())?;
    object.set("serviceMessage", policy.service_message())?;
    object.set("reason", policy.reason())
}

fn set_rejected(object: &mut Object<'_>, rejected: &Rejected) -> Result<()> {
    object.set("status", u32::from(rejected.status))?;
    object.set("serviceCode", rejected.service_code)?;
    object.set("serviceMessage", rejected.message.as_str())?;
    match rejected.condition_index {
        Some(i) => object.set("conditionIndex", to_u32(i))?,
        None => object.set("conditionIndex", Null)?,
    }
    object.set("reason", rejected.reason.as_str())
}

/// Lines, columns, counts and indexes as JS numbers (saturating).
pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
