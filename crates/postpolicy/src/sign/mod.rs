//! Signing: credentials, the signers, and the signed form a browser needs.
//!
//! - `form.rs`: the one form builder (options, the signed form, the merge of
//!   the signer's conditions with the policy, the policy text and fields);
//! - `sigv4.rs`: the SigV4-style key chain, key caches, stamp, credential
//!   scope and hex signatures that OSS V4, S3 and GCS HMAC share;
//! - `oss.rs`, `s3.rs`, `gcs.rs`: one file per dialect, each implementing
//!   [`Dialect`] (what its forms state that the others' do not).

mod fields;
mod form;
pub(crate) mod gcs;
pub(crate) mod oss;
mod prepare;
pub(crate) mod s3;
pub(crate) mod sigv4;

pub use fields::{FormFields, Iter as FormFieldsIter};
pub use form::{SignOptions, SignedForm};
pub use gcs::{GcsSigner, GcsUrlStyle, Scheme as UrlScheme};
pub use oss::{OssSigner, OssVersion, sign_v1, sign_v4};
pub use prepare::SignPlan;
pub(crate) use prepare::key_condition;
pub use s3::{S3Signer, sign_s3_v4};

use crate::policy::Policy;
use fields::FormFields as Fields;
use form::Fixed;
use sigv4::Stamp;

use crate::error::SignatureError;

/// An access key: id, secret and, for STS, the security token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret: Secret,
    security_token: Option<String>,
}

impl Credentials {
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<Secret>,
        security_token: Option<String>,
    ) -> Result<Self, SignatureError> {
        let access_key_id = access_key_id.into();
        let secret = access_key_secret.into();
        if access_key_id.trim().is_empty() {
            return Err(SignatureError::InvalidCredentials(
                "the access key id is empty".into(),
            ));
        }
        if access_key_id.contains('/') || access_key_id.chars().any(char::is_whitespace) {
            return Err(SignatureError::InvalidCredentials(format!(
                "the access key id `{access_key_id}` contains `/` or white space"
            )));
        }
        if secret.expose().is_empty() {
            return Err(SignatureError::InvalidCredentials(
                "the access key secret is empty".into(),
            ));
        }
        Ok(Self {
            access_key_id,
            secret,
            security_token: security_token.filter(|t| !t.is_empty()),
        })
    }

    /// Reads credentials through `lookup` (an environment, a config map):
    /// `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET` / `OSS_SESSION_TOKEN`, or the
    /// `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` / `ALIBABA_CLOUD_SECURITY_TOKEN`
    /// names the official samples use. `None` when no id/secret pair is set.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Option<Result<Self, SignatureError>> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let (id, secret, token) = match (get("OSS_ACCESS_KEY_ID"), get("OSS_ACCESS_KEY_SECRET")) {
            (Some(id), Some(secret)) => (id, secret, get("OSS_SESSION_TOKEN")),
            _ => (
                get("ALIBABA_CLOUD_ACCESS_KEY_ID")?,
                get("ALIBABA_CLOUD_ACCESS_KEY_SECRET")?,
                get("ALIBABA_CLOUD_SECURITY_TOKEN"),
            ),
        };
        Some(Credentials::new(id, secret, token))
    }

    /// [`Credentials::from_lookup`] over the process environment.
    pub fn from_env() -> Option<Result<Self, SignatureError>> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }
}

/// What a SigV4-style dialect's forms state beyond the shared form builder:
/// where the form goes, the credential scope, the signer's own exact
/// conditions and the fields that carry the signature. The builder
/// (`form::sign`, `form::sign_json`) does everything else once.
pub(crate) trait Dialect {
    /// Fields the signer writes itself (never copied from `eq` conditions).
    const SIGNER_FIELDS: &'static [&'static str];

    /// Whose verifier judges the form (and so the browser rules' wording).
    const RULES: crate::rules::Dialect;

    /// The form's action URL.
    fn url(&self) -> &str;

    /// The credential scope for the day `date` (`yyyymmdd`).
    fn credential(&self, date: &str) -> String;

    /// The signer's own exact conditions (bucket, scheme fields), written
    /// before the user's.
    fn fixed_conditions<'s>(&'s self, stamp: &'s Stamp, credential: &'s str) -> Fixed<'s>;

    /// Appends the fields that carry the policy (the base64 of
    /// `policy_json`, see [`Fields::push_base64`]) and its signature.
    fn push_signature_fields(
        &self,
        fields: &mut Fields,
        policy_json: &str,
        stamp: &Stamp,
        credential: &str,
    );

    /// Refuses what the dialect cannot express (S3: `in`, callbacks).
    fn refuse(&self, _policy: &Policy, _options: &SignOptions) -> Result<(), SignatureError> {
        Ok(())
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &self.secret)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// A secret access key. Its `Debug` output is redacted, and it is never part of
/// an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; only signing code should need this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

/// A bucket name both OSS and S3 accept: 3 to 63 lower-case letters, digits,
/// `-` and `.`, not starting or ending with `-`.
pub(crate) fn check_bucket(bucket: &str) -> Result<(), SignatureError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(SignatureError::InvalidBucket(bucket.to_owned()))
    }
}
