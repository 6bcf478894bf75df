//! The crate's error types, and their one code vocabulary.
//!
//! Every error has a stable `code()` that the Python and Node bindings expose
//! unchanged, and that is also its miette code: `POLICY_SYNTAX`,
//! `POLICY_INVALID`, `SIGNATURE_MISMATCH`, `SIGNING_INVALID`, `REJECTED`,
//! `TIME_OUT_OF_RANGE` and the `CALLBACK_*` codes of [`CallbackError`]. What
//! the storage service itself would answer (`AccessDenied`,
//! `InvalidPolicyDocument`, …, in the wording of the dialect verified) is a
//! separate `service_code`: [`Rejected::service_code`] and
//! [`PolicyError::service_code`]. Lint findings are not errors; their codes
//! are the rule names listed in [`crate::lint::CODES`].

pub use crate::callback::CallbackError;
pub use crate::dsl::{SyntaxError, SyntaxErrors};
pub use crate::time::TimeRangeError;
pub use crate::verify::Rejected;

/// A policy document the service would refuse (`InvalidPolicyDocument`), or a
/// policy that cannot be turned into one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PolicyError {
    service_message: String,
    reason: String,
}

impl PolicyError {
    /// `service_message` is the text OSS puts in `<Message>`; `reason` says the
    /// same for a person (what was found, what was expected).
    pub(crate) fn new(service_message: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            service_message: service_message.into(),
            reason: reason.into(),
        }
    }

    /// The stable code, `POLICY_INVALID`.
    pub fn code(&self) -> &'static str {
        "POLICY_INVALID"
    }

    /// The service's error code for this problem (OSS and S3 alike).
    pub fn service_code(&self) -> &'static str {
        "InvalidPolicyDocument"
    }

    /// The service's message, e.g. `Invalid Policy: Invalid JSON: unknown char e`.
    pub fn service_message(&self) -> &str {
        &self.service_message
    }

    /// What is wrong, for a person: what was found and what was expected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl miette::Diagnostic for PolicyError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code()))
    }
}

/// Signing could not be done, or a signature does not match.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("the signature does not match the policy and secret")]
    Mismatch,
    #[error("invalid credentials: {0}")]
    InvalidCredentials(String),
    #[error(
        "invalid region `{0}`: expected an id such as `cn-hangzhou` (an `oss-` prefix is allowed) or `us-east-1`"
    )]
    InvalidRegion(String),
    #[error("invalid signing date `{0}`: expected yyyymmdd")]
    InvalidDate(String),
    #[error("invalid bucket name `{0}`: expected 3-63 lower-case letters, digits, `-` or `.`")]
    InvalidBucket(String),
    #[error("unknown signature version `{0}`: expected v1 or v4")]
    InvalidVersion(String),
    #[error("invalid endpoint `{0}`: expected an http(s) URL or a host name")]
    InvalidEndpoint(String),
    /// A signer setting that cannot work (a GCS URL style, host name, bucket).
    #[error("invalid {setting} `{value}`: {expected}")]
    InvalidSetting {
        setting: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("condition {index} uses `{operator}`, which {dialect} does not support")]
    UnsupportedCondition {
        index: usize,
        operator: &'static str,
        dialect: &'static str,
    },
    #[error("{option} are not supported by {dialect}")]
    UnsupportedOption {
        option: &'static str,
        dialect: &'static str,
    },
    #[error("the policy cannot be signed: {0}")]
    Policy(#[from] PolicyError),
    /// `now` or the expiration is outside what a form can state.
    #[error("the policy cannot be signed: {0}")]
    Time(#[from] TimeRangeError),
}

impl SignatureError {
    /// The stable code: `SIGNATURE_MISMATCH`, `POLICY_INVALID` or
    /// `TIME_OUT_OF_RANGE` for the policy's own problems, else
    /// `SIGNING_INVALID` (bad credentials, region, bucket, …).
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Mismatch => "SIGNATURE_MISMATCH",
            SignatureError::Policy(e) => e.code(),
            SignatureError::Time(e) => e.code(),
            _ => "SIGNING_INVALID",
        }
    }
}

impl miette::Diagnostic for SignatureError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code()))
    }
}

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Syntax(#[from] SyntaxErrors),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Rejected(#[from] Box<Rejected>),
    #[error(transparent)]
    Callback(#[from] CallbackError),
    #[error(transparent)]
    Time(#[from] TimeRangeError),
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::Rejected(Box::new(r))
    }
}

impl Error {
    /// A stable, language-neutral code: `POLICY_SYNTAX`, `POLICY_INVALID`,
    /// `SIGNATURE_MISMATCH`, `SIGNING_INVALID`, `REJECTED`,
    /// `TIME_OUT_OF_RANGE` (also for a signature that failed on it), or the
    /// callback error's own `CALLBACK_*` code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Syntax(e) => e.code(),
            Error::Policy(e) => e.code(),
            Error::Signature(e) => e.code(),
            Error::Rejected(e) => e.code(),
            Error::Callback(e) => e.code(),
            Error::Time(e) => e.code(),
        }
    }

    /// The part this error wraps, as a miette diagnostic.
    fn part(&self) -> &dyn miette::Diagnostic {
        match self {
            Error::Syntax(e) => e,
            Error::Policy(e) => e,
            Error::Signature(e) => e,
            Error::Rejected(e) => &**e,
            Error::Callback(e) => e,
            Error::Time(e) => e,
        }
    }
}

/// The wrapped error's diagnostic, whose code is [`Error::code`].
impl miette::Diagnostic for Error {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(Error::code(self)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.part().help()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.part().labels()
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        self.part().related()
    }
}
