//! The one place that turns core errors into JS `Error`s.
//!
//! Every error gets the core's stable `code` (`POLICY_SYNTAX`, `POLICY_INVALID`,
//! `SIGNATURE_MISMATCH`, `SIGNING_INVALID`, `REJECTED`, or a callback error's
//! own `CALLBACK_*` code such as `CALLBACK_BAD_SIGNATURE`) and
//! the core's message. Syntax errors add `line`, `column` (of the first error)
//! and `errors` (all of them); invalid policies add `ossCode`, `ossMessage` and
//! `reason`; rejections add `status`, `ossCode`, `ossMessage`,
//! `conditionIndex` and `reason` (the lightningcss shape: `create_error` +
//! `set`). Argument values the binding cannot convert throw with napi's own
//! code, `InvalidArg`, like napi-rs's generated type checks.

use napi::bindgen_prelude::{Env, Null, Object};
use napi::{Error, Result, Status};
use postpolicy::{PolicyError, Rejected, SignatureError, SyntaxErrors};

/// Throws `error` as a JS `Error` with its code and details, and returns the
/// napi error that tells napi-rs an exception is pending.
pub(crate) fn throw(env: &Env, error: postpolicy::Error) -> Error {
    let message = error.to_string();
    let thrown = build(env, &error).and_then(|object| env.throw(object));
    match thrown {
        Ok(()) => Error::new(Status::PendingException, message),
        Err(e) => e,
    }
}

/// [`throw`] for anything the core converts into its [`postpolicy::Error`].
pub(crate) fn throw_from(env: &Env, error: impl Into<postpolicy::Error>) -> Error {
    throw(env, error.into())
}

/// An argument the binding cannot convert (wrong shape or value).
pub(crate) fn invalid_arg(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

fn build<'env>(env: &'env Env, error: &postpolicy::Error) -> Result<Object<'env>> {
    let mut object = env.create_error(Error::new(Status::GenericFailure, error.to_string()))?;
    object.set("code", error.code())?;
    match error {
        postpolicy::Error::Syntax(errors) => set_syntax(env, &mut object, errors)?,
        postpolicy::Error::Policy(policy) => set_policy(&mut object, policy)?,
        postpolicy::Error::Signature(SignatureError::Policy(policy)) => {
            set_policy(&mut object, policy)?;
        }
        postpolicy::Error::Rejected(rejected) => set_rejected(&mut object, rejected)?,
        _ => {}
    }
    Ok(object)
}

fn set_syntax(env: &Env, object: &mut Object<'_>, errors: &SyntaxErrors) -> Result<()> {
    let first = errors.first();
    object.set("line", to_u32(first.line()))?;
    object.set("column", to_u32(first.column()))?;
    let mut list = env.create_array(to_u32(errors.len()))?;
    for (i, e) in errors.iter().enumerate() {
        let mut item = Object::new(env)?;
        item.set("line", to_u32(e.line()))?;
        item.set("column", to_u32(e.column()))?;
        item.set("reason", e.reason())?;
        item.set("expected", e.expected())?;
        item.set("found", e.found())?;
        item.set("message", e.to_string())?;
        let mut span = Object::new(env)?;
        span.set("start", to_u32(e.span().start))?;
        span.set("end", to_u32(e.span().end))?;
        item.set("span", span)?;
        list.set(to_u32(i), item)?;
    }
    object.set("errors", list)
}

fn set_policy(object: &mut Object<'_>, policy: &PolicyError) -> Result<()> {
    object.set("ossCode", policy.service_code())?;
    object.set("ossMessage", policy.service_message())?;
    object.set("reason", policy.reason())
}

fn set_rejected(object: &mut Object<'_>, rejected: &Rejected) -> Result<()> {
    object.set("status", u32::from(rejected.status))?;
    object.set("ossCode", rejected.service_code)?;
    object.set("ossMessage", rejected.message.as_str())?;
    set_index(object, "conditionIndex", rejected.condition_index)?;
    object.set("reason", rejected.reason.as_str())
}

/// Sets `name` to the index, or to `null` when there is none.
pub(crate) fn set_index(object: &mut Object<'_>, name: &str, index: Option<usize>) -> Result<()> {
    match index {
        Some(i) => object.set(name, to_u32(i)),
        None => object.set(name, Null),
    }
}

/// Lines, columns, counts and indexes as JS numbers (saturating).
pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
