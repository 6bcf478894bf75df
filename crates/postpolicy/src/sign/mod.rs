//! Signing: credentials, the OSS signers, and the signed form a browser needs.

mod form;
pub(crate) mod gcs;
mod key;
mod oss;
pub(crate) mod oss_v1;
pub(crate) mod oss_v4;
pub(crate) mod s3_v4;

pub(crate) use form::key_condition;
pub use form::{SignOptions, SignedForm};
pub use gcs::{GcsSigner, GcsUrlStyle, Scheme as UrlScheme};
pub use key::Secret;
pub use oss::{OssSigner, OssVersion};
pub use oss_v1::sign_v1;
pub use oss_v4::sign_v4;
pub use s3_v4::{S3Signer, sign_s3_v4};

pub(crate) use key::KeyIdCache;

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
