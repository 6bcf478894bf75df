//! postpolicy: signed browser form uploads to object storage, done right.
//!
//! A web application writes a [`Policy`] (which keys, how large, which content
//! types), signs it with its storage secret, and hands the signed form fields to
//! the browser, which POSTs the file straight to Alibaba Cloud OSS (or an S3
//! compatible store). This crate parses the policy DSL, lints it, signs it (OSS
//! V1 and V4), and verifies submitted forms exactly as the service would.

pub mod callback;
pub mod diagnostic;
pub mod dsl;
pub mod error;
pub mod lint;
pub mod policy;
pub mod sign;
pub mod verify;
pub mod wire;

pub use diagnostic::{Diagnostic, LineCol, Severity, Span};
pub use error::{Error, PolicyError, SignatureError, SyntaxError, SyntaxErrors};
pub use policy::{ByteRange, Condition, Expiration, Field, Policy};
pub use sign::{
    Credentials, OssSigner, OssVersion, Secret, SignOptions, SignedForm, sign_v1, sign_v4,
};
pub use verify::{Accepted, FileInfo, KeyStore, Rejected, Submission, Verifier, explain};
pub use callback::{CallbackFields, CallbackSpec, verify_callback};
