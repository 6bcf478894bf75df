//! postpolicy: signed browser form uploads to object storage, done right.
//!
//! A web application writes a [`Policy`] (which keys, how large, which content
//! types), signs it with its storage secret, and hands the signed form fields to
//! the browser, which POSTs the file straight to Alibaba Cloud OSS (or an S3
//! compatible store). This crate parses the policy DSL, lints it, signs it (OSS
//! V1 and V4), and verifies submitted forms exactly as the service would.
//!
//! ```
//! use chrono::DateTime;
//! use postpolicy::{Credentials, OssSigner, Policy};
//!
//! let policy = Policy::parse(
//!     "expires in 1h
//!      key starts-with \"user/42/\"
//!      content-type in [image/png, image/jpeg]
//!      x-oss-content-type in [image/png, image/jpeg]
//!      content-length 1..10MiB",
//! )?;
//! let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
//! assert!(policy.lint(now).is_empty());
//!
//! let credentials = Credentials::new("LTAI5tExampleKeyId", "ExampleSecret", None)?;
//! let signer = OssSigner::new(credentials, "cn-hangzhou", "examplebucket")?;
//! let form = signer.sign(&policy, now)?;
//! assert_eq!(form.url, "https://examplebucket.oss-cn-hangzhou.aliyuncs.com");
//! assert_eq!(form.field("x-oss-signature-version"), Some("OSS4-HMAC-SHA256"));
//! assert_eq!(form.fields_to_fill, ["key", "Content-Type", "x-oss-content-type"]);
//! # Ok::<(), postpolicy::Error>(())
//! ```

mod builder;
pub mod callback;
mod diagnostic;
pub mod dsl;
mod error;
mod gcs_key;
pub mod lint;
mod policy;
pub mod rules;
mod sign;
mod time;
mod verify;
mod wire;

pub use builder::PolicyBuilder;
pub use callback::CallbackError;
pub use diagnostic::{Diagnostic, LineCol, Severity, Span};
pub use error::{Error, PolicyError, SignatureError, SyntaxError, SyntaxErrors};
pub use gcs_key::{GcsCredentials, ServiceAccountKey};
pub use policy::{ByteRange, Condition, Expiration, Field, MAX_FORM_UPLOAD_BYTES, Policy};
pub use rules::Rules;
pub use sign::{
    Credentials, FormFields, FormFieldsIter, GcsSigner, GcsUrlStyle, OssSigner, OssVersion,
    S3Signer, Secret, SignOptions, SignPlan, SignedForm, UrlScheme, sign_s3_v4, sign_v1, sign_v4,
};
pub use time::{TimeRangeError, check_now};
pub use verify::{
    Accepted, FileInfo, GcsVerifier, KeyStore, Rejected, S3Verifier, Submission, Verifier,
};
pub use wire::format_timestamp;

/// What the single-pass policy scanner and the tree parser make of `text`
/// (see `fuzz/fuzz_targets/policy_json.rs`). Only in `--cfg fuzzing` builds.
#[cfg(fuzzing)]
#[doc(hidden)]
pub use wire::scan_and_tree;

// The crate README (the crates.io page) is tested as documentation.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
