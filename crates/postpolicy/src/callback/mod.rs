//! OSS upload callbacks: build the `callback` form field, render the body OSS
//! sends, and verify on the application server that a callback request really
//! came from OSS.
//!
//! - [`CallbackSpec`] → [`CallbackFields`]: the base64 `callback` field and the
//!   `x:<name>` custom-variable fields of a PostObject form (docs/oss.md#upload-callback).
//! - [`render_body`]: the exact body OSS posts for given object facts, as the
//!   local dev endpoint needs it.
//! - [`verify_callback`]: the RSA/MD5 signature check of docs/oss.md#callback-signature. The public
//!   key is fetched through an injected [`KeySource`] (this crate does no I/O),
//!   only after the key URL passed the [`KeyUrlPolicy`], for the canonical
//!   URL that check gives; [`CachedKeySource`] keeps parsed keys per
//!   canonical URL (at most [`KEY_CACHE_CAPACITY`]).
//! - [`CallbackSigner`]: the sending side, for the local dev endpoint and tests.
//!
//! ```
//! use postpolicy::callback::{BodyType, CallbackSpec};
//!
//! let fields = CallbackSpec::new("https://app.example.com/oss/callback", "object=${object}&uid=${x:uid}")
//!     .with_body_type(BodyType::FormUrlEncoded)
//!     .with_var("x:uid", "42")
//!     .to_fields()?;
//! assert_eq!(fields.vars, [("x:uid".to_string(), "42".to_string())]);
//! # Ok::<(), postpolicy::callback::CallbackError>(())
//! ```

mod key_url;
mod render;
mod signer;
mod spec;
mod template;
mod verify;

pub use key_url::{KEY_CACHE_CAPACITY, KeyCache, KeyUrlPolicy, MAX_KEY_URL_BYTES, OSS_KEY_HOST};
pub use render::{ImageInfo, ObjectFacts, render_body};
pub use signer::CallbackSigner;
pub use spec::{BodyType, CallbackFields, CallbackSpec, MAX_URLS};
pub use template::SYSTEM_VARIABLES;
pub use verify::{
    CachedKeySource, CallbackRequest, KeySource, PublicKey, VerifiedCallback, string_to_sign,
    trusted_key_url, verify_callback,
};

/// A callback could not be built, decoded, verified or signed.
///
/// Every variant has a stable [`code`](CallbackError::code).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    // ---- building and decoding the `callback` field -------------------------
    /// `callbackUrl` is empty.
    #[error("the callback has no URL: callbackUrl needs 1 to {max} URLs", max = MAX_URLS)]
    NoUrl,
    /// More than five URLs.
    #[error("callbackUrl lists {count} URLs; OSS accepts at most {max}", max = MAX_URLS)]
    TooManyUrls { count: usize },
    /// A URL whose scheme is not `http` or `https`.
    #[error("callback URL `{url}` uses the scheme `{scheme}`; only http and https are allowed")]
    UnsupportedScheme { url: String, scheme: String },
    /// A URL with a port outside 1–65535 or not a number.
    #[error("callback URL `{url}` has an invalid port `{port}`: expected a number from 1 to 65535")]
    InvalidPort { url: String, port: String },
    /// A URL whose host is an IPv6 address.
    #[error("callback URL `{url}` has an IPv6 host, which OSS callbacks do not support")]
    Ipv6Host { url: String },
    /// Any other malformed URL.
    #[error("callback URL `{url}` is invalid: {reason}")]
    InvalidUrl { url: String, reason: &'static str },
    /// `callbackHost` is empty or not a host name.
    #[error("callbackHost `{host}` is invalid: {reason}")]
    InvalidHost { host: String, reason: &'static str },
    /// `callbackBody` is empty (OSS: EC 0007-00000011).
    #[error("callbackBody is empty; OSS rejects a callback without a body template")]
    EmptyBody,
    /// A `${` that does not form a placeholder.
    #[error("callbackBody has a malformed placeholder at byte {offset}: {reason}")]
    MalformedPlaceholder { offset: usize, reason: String },
    /// `${name}` where `name` is neither a system variable nor `x:…`.
    #[error(
        "callbackBody uses `${{{name}}}`, which is not an OSS system variable{}",
        suggestion_text(.suggestion)
    )]
    UnknownSystemVariable {
        name: String,
        suggestion: Option<&'static str>,
    },
    /// A custom variable name that OSS refuses (not `x:`, not lower case, …).
    #[error("invalid custom variable name `{name}`: {reason}")]
    InvalidVarName { name: String, reason: &'static str },
    /// The same custom variable given twice.
    #[error("custom variable `{name}` is given more than once")]
    DuplicateVar { name: String },
    /// `${x:name}` in the body without a value for `x:name`.
    #[error("callbackBody uses `${{{name}}}` but no custom variable `{name}` is given")]
    UndefinedVar { name: String },
    /// A custom variable that the body never uses.
    #[error("custom variable `{name}` is given but callbackBody never uses `${{{name}}}`")]
    UnusedVar { name: String },
    /// The `callback` field is not base64.
    #[error("the callback field is not valid base64")]
    NotBase64,
    /// The decoded `callback` field is not a JSON object.
    #[error("the callback field does not decode to a JSON object: {reason}")]
    NotJson { reason: String },
    /// A required key is missing from the callback JSON.
    #[error("the callback JSON has no `{field}`")]
    MissingField { field: &'static str },
    /// A key of the callback JSON has the wrong JSON type.
    #[error("the callback JSON field `{field}` must be {expected}")]
    FieldType {
        field: &'static str,
        expected: &'static str,
    },
    /// A key the callback JSON does not define (often a typo).
    #[error(
        "the callback JSON has an unknown field `{field}`: expected callbackUrl, callbackHost, callbackBody, callbackBodyType or callbackSNI"
    )]
    UnknownField { field: String },
    /// `callbackBodyType` is neither form-urlencoded nor JSON.
    #[error(
        "callbackBodyType `{value}` is not supported: expected application/x-www-form-urlencoded or application/json"
    )]
    UnsupportedBodyType { value: String },

    // ---- verifying a callback request ----------------------------------------
    /// The request has no `authorization` header.
    #[error("the callback request has no `authorization` header")]
    MissingAuthorization,
    /// The request has no `x-oss-pub-key-url` header.
    #[error("the callback request has no `x-oss-pub-key-url` header")]
    MissingPubKeyUrl,
    /// A header that must be base64 is not.
    #[error("the `{header}` header of the callback request is not valid base64")]
    HeaderNotBase64 { header: &'static str },
    /// The public-key URL may not be fetched; nothing was fetched. The
    /// message shows the URL with control characters escaped.
    #[error(
        "the callback's public key URL `{}` is not trusted: {reason}; nothing was fetched",
        shown(.url)
    )]
    UntrustedKeyUrl { url: String, reason: String },
    /// A trusted key URL prefix that is not an http(s) URL (configuration).
    #[error("the trusted key URL prefix `{}` is invalid: {reason}", shown(.prefix))]
    InvalidKeyUrlPrefix { prefix: String, reason: String },
    /// The [`KeySource`] could not fetch the key.
    #[error("could not fetch the callback public key from `{url}`: {reason}")]
    KeyFetch { url: String, reason: String },
    /// The fetched text is not an RSA public key in PEM form.
    #[error("the callback public key from `{url}` is not a valid RSA PEM public key: {reason}")]
    InvalidPublicKey { url: String, reason: String },
    /// The RSA signature does not match path, query and body.
    #[error("the callback signature does not match the request (path, query and body)")]
    BadSignature,

    // ---- signing (sender side) -----------------------------------------------
    /// The private key PEM cannot be used.
    #[error("invalid callback signing key: {reason}")]
    InvalidPrivateKey { reason: String },
    /// RSA signing failed.
    #[error("could not sign the callback: {reason}")]
    Signing { reason: String },
}

/// `text` for a message: control characters and line breaks escaped (a key
/// URL comes from the request and may hold a newline meant for a log), and
/// cut after 200 characters.
fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    let mut out = String::with_capacity(text.len().min(MAX_CHARS + 8));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || (c.is_whitespace() && c != ' ') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn suggestion_text(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(name) => format!(" (did you mean `${{{name}}}`?)"),
        None => String::new(),
    }
}

impl CallbackError {
    /// A stable, language-neutral code for this error, e.g.
    /// `CALLBACK_UNTRUSTED_KEY_URL` or `CALLBACK_BAD_SIGNATURE`.
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::NoUrl => "CALLBACK_NO_URL",
            CallbackError::TooManyUrls { .. } => "CALLBACK_TOO_MANY_URLS",
            CallbackError::UnsupportedScheme { .. } => "CALLBACK_URL_SCHEME",
            CallbackError::InvalidPort { .. } => "CALLBACK_URL_PORT",
            CallbackError::Ipv6Host { .. } => "CALLBACK_URL_IPV6",
            CallbackError::InvalidUrl { .. } => "CALLBACK_URL_INVALID",
            CallbackError::InvalidHost { .. } => "CALLBACK_HOST_INVALID",
            CallbackError::EmptyBody => "CALLBACK_EMPTY_BODY",
            CallbackError::MalformedPlaceholder { .. } => "CALLBACK_BODY_SYNTAX",
            CallbackError::UnknownSystemVariable { .. } => "CALLBACK_UNKNOWN_VARIABLE",
            CallbackError::InvalidVarName { .. } => "CALLBACK_VAR_NAME",
            CallbackError::DuplicateVar { .. } => "CALLBACK_DUPLICATE_VAR",
            CallbackError::UndefinedVar { .. } => "CALLBACK_UNDEFINED_VAR",
            CallbackError::UnusedVar { .. } => "CALLBACK_UNUSED_VAR",
            CallbackError::NotBase64 => "CALLBACK_NOT_BASE64",
            CallbackError::NotJson { .. } => "CALLBACK_NOT_JSON",
            CallbackError::MissingField { .. } => "CALLBACK_MISSING_FIELD",
            CallbackError::FieldType { .. } => "CALLBACK_FIELD_TYPE",
            CallbackError::UnknownField { .. } => "CALLBACK_UNKNOWN_FIELD",
            CallbackError::UnsupportedBodyType { .. } => "CALLBACK_BODY_TYPE",
            CallbackError::MissingAuthorization => "CALLBACK_MISSING_AUTHORIZATION",
            CallbackError::MissingPubKeyUrl => "CALLBACK_MISSING_PUB_KEY_URL",
            CallbackError::HeaderNotBase64 { .. } => "CALLBACK_HEADER_NOT_BASE64",
            CallbackError::UntrustedKeyUrl { .. } => "CALLBACK_UNTRUSTED_KEY_URL",
            CallbackError::InvalidKeyUrlPrefix { .. } => "CALLBACK_KEY_URL_PREFIX",
            CallbackError::KeyFetch { .. } => "CALLBACK_KEY_FETCH_FAILED",
            CallbackError::InvalidPublicKey { .. } => "CALLBACK_INVALID_PUBLIC_KEY",
            CallbackError::BadSignature => "CALLBACK_BAD_SIGNATURE",
            CallbackError::InvalidPrivateKey { .. } => "CALLBACK_INVALID_PRIVATE_KEY",
            CallbackError::Signing { .. } => "CALLBACK_SIGNING_FAILED",
        }
    }

    /// True for the errors of a callback request that must be refused
    /// (signature and key problems), false for errors in building,
    /// decoding or signing a callback.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            CallbackError::MissingAuthorization
                | CallbackError::MissingPubKeyUrl
                | CallbackError::HeaderNotBase64 { .. }
                | CallbackError::UntrustedKeyUrl { .. }
                | CallbackError::KeyFetch { .. }
                | CallbackError::InvalidPublicKey { .. }
                | CallbackError::BadSignature
        )
    }
}

impl miette::Diagnostic for CallbackError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(CallbackError::code(self)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let help = match self {
            CallbackError::UntrustedKeyUrl { .. } => {
                "only keys published by OSS are trusted by default; for a local endpoint, extend the policy with KeyUrlPolicy::default().allow(prefix)"
            }
            CallbackError::InvalidKeyUrlPrefix { .. } => {
                "a trusted prefix is an http(s) URL such as https://keys.example.com/oss/ (no user, query or fragment)"
            }
            CallbackError::UndefinedVar { .. } | CallbackError::UnusedVar { .. } => {
                "every `${x:name}` in callbackBody needs a custom variable `x:name`, and every custom variable must be used"
            }
            CallbackError::InvalidVarName { .. } => {
                "custom variables are named `x:` followed by lower-case letters, digits, `_`, `-` or `.`"
            }
            CallbackError::UnknownSystemVariable { .. } => {
                "system variables: ${bucket} ${object} ${etag} ${size} ${mimeType} ${imageInfo.height} ${imageInfo.width} ${imageInfo.format} ${crc64} ${contentMd5} ${clientIp} ${reqId} ${operation} ${vpcId}; custom variables start with `x:`"
            }
            _ => return None,
        };
        Some(Box::new(help))
    }
}
