//! Python bindings for postpolicy: the `postpolicy._native` extension module.
//!
//! Thin by rule: every class here converts Python values to core types and
//! back, and maps core errors to the exceptions of `postpolicy/errors.py`
//! (see [`errors::to_pyerr`]). Policy semantics live in the core only.

mod callback;
mod convert;
mod errors;
mod plans;
mod policy;
mod sign;
mod verify;

use pyo3::prelude::*;

/// Every allocation of the extension (the core's included) goes through
/// mimalloc rather than the interpreter's process allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The native half of the `postpolicy` package; import `postpolicy` instead.
#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::callback::{
        PyCachedKeySource, PyCallbackSigner, PyCallbackSpec, PyKeyUrlPolicy, PyVerifiedCallback,
        callback_string_to_sign, verify_callback,
    };
    #[pymodule_export]
    use crate::policy::{PyDiagnostic, PyPolicy, PyPolicyBuilder};
    #[pymodule_export]
    use crate::sign::{
        PyCredentials, PyGcsSigner, PyOssSigner, PyS3Signer, PySignedForm, sign_s3_v4, sign_v1,
        sign_v4,
    };
    #[pymodule_export]
    use crate::verify::{PyAccepted, PyFileInfo, PyGcsVerifier, PyS3Verifier, PyVerifier, explain};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        // For benchmarks: a debug build is an order of magnitude slower.
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        m.add("_build_profile", profile)
    }
}
