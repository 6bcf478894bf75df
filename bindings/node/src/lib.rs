//! Node.js bindings of postpolicy (napi-rs v3): the native part of the
//! `postpolicy` npm package.
//!
//! This crate only converts types and maps errors; every rule lives in the
//! `postpolicy` core. It exports plain functions over `External` handles
//! (`policyParse`, `ossSignerNew`, `ossSign`, …); the npm package's
//! hand-written `index.js` puts the public classes (`Policy`, `Credentials`,
//! `OssSigner`, `S3Signer`, `Verifier`, `S3Verifier`, `CallbackSpec`,
//! `CallbackSigner`) on top, one line per method. Why not napi classes:
//! a napi class-method call, or a class instance passed as an argument, costs
//! several times a plain call with externals, and signing is the hot path of an
//! upload-token endpoint; and an `External` is type-checked when it comes
//! back, where a class instance passed as an argument is not (napi-rs 3.4).
//!
//! Modules follow the Python binding's split: [`policy`], [`sign`],
//! [`verify`], [`callback`], [`errors`].

// napi-derive compiles its registrations out of test builds, which leaves the
// exported functions unused there.
#![cfg_attr(test, allow(dead_code))]

mod callback;
mod errors;
mod policy;
mod sign;
mod time;
mod verify;

/// Every allocation of the addon (the core's included) goes through mimalloc:
/// signing builds many small strings, and it is markedly faster than the
/// system allocator at that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Panics with `message`. It exists only so the test suite can prove that a
/// Rust panic inside the addon becomes a thrown `Error` (`code: 'Internal'`)
/// and the process goes on; `index.js` hands it out only when
/// `POSTPOLICY_TEST_HOOKS=1`.
#[napi_derive::napi(catch_unwind, js_name = "__testPanic")]
#[allow(clippy::panic)]
pub fn test_panic(message: String) -> napi::Result<()> {
    panic!("{message}")
}
