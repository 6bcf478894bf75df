//! Node.js bindings of postpolicy (napi-rs 3): the native part of the
//! `postpolicy` npm package.
//!
//! The `#[napi]` classes here are the package's classes (`Policy`,
//! `PolicyBuilder`, `Credentials`, `OssSigner`, `S3Signer`, `Verifier`,
//! `S3Verifier`, `CallbackSpec`, `CallbackSigner`, `KeyUrlPolicy`,
//! `CachedKeySource`), and `napi build` writes their types to
//! `node/native.d.ts`. `node/index.js` re-exports them and adds only what must
//! be JavaScript: fetching a callback's public key over HTTP and awaiting it,
//! and the Express middleware. Every rule lives in the core; this crate
//! converts values and maps errors.
//!
//! Modules: [`policy`], [`sign`] (one class per dialect's signer over shared
//! functions), [`verify`], [`callback`]; [`errors`] makes every thrown error,
//! [`convert`] reads the arguments JS passes in more than one shape.

// napi-derive compiles its registrations out of test builds, which leaves the
// exported functions unused there.
#![cfg_attr(test, allow(dead_code))]

mod callback;
mod convert;
mod errors;
mod policy;
mod sign;
mod verify;

/// Every allocation of the addon (the core's included) goes through mimalloc:
/// signing builds many small strings, and it is markedly faster than the
/// system allocator at that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Panics with `message`, so that the test suite can prove a Rust panic
/// inside the addon is thrown as an `Error` with code `Internal` and the
/// process goes on. Only in builds with the `test-hooks` feature
/// (scripts/test-security.sh); `node/index.js` hands it out only when
/// `POSTPOLICY_TEST_HOOKS=1`.
#[cfg(feature = "test-hooks")]
#[napi_derive::napi(js_name = "__testPanic", skip_typescript)]
#[allow(clippy::panic)]
pub fn test_panic(env: &napi::bindgen_prelude::Env, message: String) -> napi::Result<()> {
    errors::guard(env, || panic!("{message}"))
}
