//! The keys that sign Google Cloud Storage forms: a service account's RSA key
//! (`GOOG4-RSA-SHA256`) or an HMAC key (`GOOG4-HMAC-SHA256`).
//!
//! A service account key arrives as the JSON file the Google Cloud console
//! downloads (`type`, `client_email`, `private_key`, …); only the e-mail
//! address (the form's credential) and the PKCS#8 private key are used. The
//! private key never appears in `Debug` output or in an error message.

use std::path::Path;
use std::sync::Arc;

use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde_json::Value;
use sha2::Sha256;

use crate::error::SignatureError;
use crate::sign::{Credentials, Secret};

/// The variable Google's client libraries read the key file's path from.
pub const CREDENTIALS_PATH_VARIABLE: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// The HMAC access id, for [`GcsCredentials::from_lookup`].
pub const HMAC_ACCESS_ID_VARIABLE: &str = "GCS_HMAC_ACCESS_ID";
/// The HMAC secret, for [`GcsCredentials::from_lookup`].
pub const HMAC_SECRET_VARIABLE: &str = "GCS_HMAC_SECRET";

/// The largest key file read: real ones are about 2.3 KiB, so anything this
/// big is the wrong file, not a key.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// A service account's signing key: its e-mail address and RSA private key.
#[derive(Clone)]
pub struct ServiceAccountKey {
    client_email: String,
    private_key_id: Option<String>,
    /// Shared: clones of a signer's key need no copy of the big numbers.
    key: Arc<SigningKey<Sha256>>,
}

impl ServiceAccountKey {
    /// From the text of a service account key file.
    pub fn from_json(text: &str) -> Result<Self, SignatureError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            invalid(format!(
                "the service account key is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        Self::from_value(&value)
    }

    /// From a parsed service account key (a dict or object in the bindings).
    pub fn from_value(value: &Value) -> Result<Self, SignatureError> {
        let Value::Object(map) = value else {
            return Err(invalid(
                "the service account key must be a JSON object with `client_email` and `private_key`",
            ));
        };
        if let Some(kind) = map.get("type") {
            match kind.as_str() {
                Some("service_account") => {}
                Some(other) => {
                    return Err(invalid(format!(
                        "the key has `type` `{other}`: only a service account key (`service_account`) can sign forms; use an HMAC key or a service account key file"
                    )));
                }
                None => return Err(invalid("the key's `type` is not a string")),
            }
        }
        let text = |name: &str| match map.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.as_str())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(invalid(format!(
                "the service account key's `{name}` is not a non-empty string"
            ))),
        };
        let client_email = text("client_email")?
            .ok_or_else(|| invalid("the service account key has no `client_email`"))?;
        let pem = text("private_key")?
            .ok_or_else(|| invalid("the service account key has no `private_key`"))?;
        let private_key_id = text("private_key_id")?.map(str::to_owned);
        let mut key = Self::from_pem(client_email, pem)?;
        key.private_key_id = private_key_id;
        Ok(key)
    }

    /// From the e-mail address and a PKCS#8 PEM private key
    /// (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(client_email: &str, pem: &str) -> Result<Self, SignatureError> {
        let client_email = client_email.trim();
        if client_email.is_empty()
            || client_email.contains('/')
            || client_email.chars().any(char::is_whitespace)
        {
            return Err(invalid(format!(
                "the service account e-mail `{client_email}` is empty or contains `/` or white space"
            )));
        }
        let pem = pem.trim().replace("\r\n", "\n");
        // The PKCS#8 errors name the structure that failed, never key bytes.
        let key = RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| {
            invalid(format!(
                "the `private_key` is not a PKCS#8 PEM RSA private key ({e})"
            ))
        })?;
        key.validate().map_err(|e| {
            invalid(format!(
                "the `private_key` is not a consistent RSA key ({e})"
            ))
        })?;
        Ok(Self {
            client_email: client_email.to_owned(),
            private_key_id: None,
            key: Arc::new(SigningKey::new(key)),
        })
    }

    /// From a key file on disk.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SignatureError> {
        let path = path.as_ref();
        let unreadable = |e: std::io::Error| {
            invalid(format!(
                "the service account key file `{}` cannot be read ({e})",
                path.display()
            ))
        };
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if size > MAX_KEY_FILE_BYTES {
            return Err(invalid(format!(
                "the service account key file `{}` is {size} bytes, more than a key file's {MAX_KEY_FILE_BYTES}",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        Self::from_json(&text).map_err(|e| match e {
            SignatureError::InvalidCredentials(reason) => {
                invalid(format!("{reason} (in `{}`)", path.display()))
            }
            other => other,
        })
    }

    /// The key file named by `GOOGLE_APPLICATION_CREDENTIALS`; `None` when
    /// the variable is unset or empty.
    pub fn from_env() -> Option<Result<Self, SignatureError>> {
        let path = std::env::var_os(CREDENTIALS_PATH_VARIABLE).filter(|p| !p.is_empty())?;
        Some(Self::from_file(path))
    }

    /// The service account's e-mail address, which names it in the form's
    /// credential.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The key file's `private_key_id`, when it has one.
    pub fn private_key_id(&self) -> Option<&str> {
        self.private_key_id.as_deref()
    }

    /// The RSA public key, for a verifier of forms this key signs.
    pub fn public_key(&self) -> rsa::RsaPublicKey {
        rsa::RsaPublicKey::from(self.key.as_ref().as_ref())
    }

    /// RSA PKCS#1 v1.5 over SHA-256 of `message`: deterministic, so the same
    /// policy always gets the same signature (the conformance cases rely on it).
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_vec()
    }
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"***")
            .finish()
    }
}

impl PartialEq for ServiceAccountKey {
    fn eq(&self, other: &Self) -> bool {
        self.client_email == other.client_email && self.public_key() == other.public_key()
    }
}

/// What signs a GCS form: a service account key or an HMAC key.
#[derive(Clone, Debug, PartialEq)]
pub enum GcsCredentials {
    /// `GOOG4-RSA-SHA256`, credential named by the service account's e-mail.
    ServiceAccount(ServiceAccountKey),
    /// `GOOG4-HMAC-SHA256`, credential named by the HMAC key's access id.
    Hmac(Credentials),
}

impl GcsCredentials {
    /// An HMAC key: its access id and secret.
    pub fn hmac(
        access_id: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Result<Self, SignatureError> {
        Credentials::new(access_id, secret, None).map(GcsCredentials::Hmac)
    }

    /// Credentials through `lookup` (an environment, a config map): an HMAC
    /// key from `GCS_HMAC_ACCESS_ID` and `GCS_HMAC_SECRET` when both are set
    /// (they are the more specific choice), else the service account key file
    /// named by `GOOGLE_APPLICATION_CREDENTIALS`. `None` when neither is set.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Option<Result<Self, SignatureError>> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        match (get(HMAC_ACCESS_ID_VARIABLE), get(HMAC_SECRET_VARIABLE)) {
            (Some(id), Some(secret)) => return Some(Self::hmac(id, secret)),
            (Some(_), None) | (None, Some(_)) => {
                return Some(Err(invalid(format!(
                    "set both {HMAC_ACCESS_ID_VARIABLE} and {HMAC_SECRET_VARIABLE} for an HMAC key, or neither"
                ))));
            }
            (None, None) => {}
        }
        let path = get(CREDENTIALS_PATH_VARIABLE)?;
        Some(ServiceAccountKey::from_file(path).map(GcsCredentials::ServiceAccount))
    }

    /// [`GcsCredentials::from_lookup`] over the process environment.
    pub fn from_env() -> Option<Result<Self, SignatureError>> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The name the form's `x-goog-credential` starts with: the service
    /// account's e-mail or the HMAC access id.
    pub fn access_id(&self) -> &str {
        match self {
            GcsCredentials::ServiceAccount(key) => key.client_email(),
            GcsCredentials::Hmac(credentials) => credentials.access_key_id(),
        }
    }

    /// `GOOG4-RSA-SHA256` or `GOOG4-HMAC-SHA256`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            GcsCredentials::ServiceAccount(_) => crate::sign::gcs::RSA_ALGORITHM,
            GcsCredentials::Hmac(_) => crate::sign::gcs::HMAC_ALGORITHM,
        }
    }
}

impl From<ServiceAccountKey> for GcsCredentials {
    fn from(key: ServiceAccountKey) -> Self {
        GcsCredentials::ServiceAccount(key)
    }
}

fn invalid(reason: impl Into<String>) -> SignatureError {
    SignatureError::InvalidCredentials(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The throw-away 1024-bit key of the callback vectors
    /// (`tests/vectors/oss-signatures.json`): it guards nothing.
    const TEST_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAJ4IsynZgceP9Vhl
nf7KOYGkDihbcvO5TQDlSsK2YiO79x9Mrdf6i433wJQ/adby5CfxP6oP/DeB4vQo
9Ou2Gp1qm/gJ9Mk5XeAT6A60hiWW3JzO/1pYTvWaWUqtqwlMaXxsKty6rCquOYL1
+gyG9tpOqqD3vYzYJHhIE/DvQSGHAgMBAAECgYAZKt+FiaseYfG7qys3OXNhDwRm
LvImmFsICnwWeD8226dmZ6rD25W//TXBJjwvzCzDo6r05WjQWjIPmjovE6g3K32j
G1eJcipYQPNUi7ir01F7V2ACNCykYjXcvA2FDEAotIflg9PlwItltuFbmz3jzlJV
MlRB5tG96bSursNZOQJBAM6iFayuG5YlIZCrJ3AFIjZCkglZoyq6kRahPmG5oPdp
VIYMFcROPsW/xl2KzhELlESFMdV8J19w2Fs5jSosIUMCQQDDyjxoWNWToHzkhtGo
NJg9IGQVHB+EJKdCWHBTDMdJONdnvJDDEYbXZnnMbrFDFagyLDc3zfYcqAeLqHcp
IahtAkEAznwmEKMDqix8uCZwiH54y6QGbxWF+eLpraV/wwROmC5HapSVA8/05oNX
ZI6akWnyxe4b+GvSpIsNiUufhy8GJQJBAIX3nEvd9Q3Vc3+/DDgm/MBeqHyVSK9X
kSbhcsIw7S+Z+DIgIYGIPZanpNGQMDRx3iuue33wrOVAyCD0fcykHiUCQA+FH+eM
r3SM5dNjOMBs7o1aBpwrXRrgFoSOyz1dFC8L06T1KYhnomcecTl21a8EIGFflmDA
kFhxbuWdu6Zynz4=
-----END PRIVATE KEY-----
";

    fn key_json(pem: &str) -> Value {
        serde_json::json!({
            "type": "service_account",
            "client_email": "uploader@example-project.iam.gserviceaccount.com",
            "private_key_id": "0123abcd",
            "private_key": pem,
        })
    }

    #[test]
    fn reads_a_key_file_and_never_shows_the_private_key() {
        let key = ServiceAccountKey::from_value(&key_json(TEST_PEM)).unwrap();
        assert_eq!(
            key.client_email(),
            "uploader@example-project.iam.gserviceaccount.com"
        );
        assert_eq!(key.private_key_id(), Some("0123abcd"));
        let debug = format!("{key:?} {:?}", GcsCredentials::from(key.clone()));
        assert!(debug.contains("uploader@"), "{debug}");
        for line in TEST_PEM.lines().skip(1).take(3) {
            assert!(!debug.contains(line), "{debug}");
        }
        assert!(!debug.contains("BEGIN"), "{debug}");
    }

    #[test]
    fn explains_what_is_wrong_with_a_key() {
        let reason = |value: Value| match ServiceAccountKey::from_value(&value) {
            Err(SignatureError::InvalidCredentials(reason)) => reason,
            other => panic!("{other:?}"),
        };
        let mut user = key_json(TEST_PEM);
        user["type"] = "authorized_user".into();
        assert!(reason(user).contains("`authorized_user`"));
        let mut no_email = key_json(TEST_PEM);
        no_email.as_object_mut().unwrap().remove("client_email");
        assert!(reason(no_email).contains("no `client_email`"));
        let garbled = TEST_PEM.replace("MIICdwIBADAN", "MIICdwIBADAX");
        let why = reason(key_json(&garbled));
        assert!(why.contains("not a PKCS#8 PEM RSA private key"), "{why}");
        assert!(!why.contains("MIIC"), "{why}");
        assert!(reason(serde_json::json!([1])).contains("JSON object"));
        match ServiceAccountKey::from_json("{\"client_email\": ") {
            Err(SignatureError::InvalidCredentials(reason)) => {
                assert!(reason.contains("not JSON"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = ServiceAccountKey::from_file("/nonexistent/key.json").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/key.json"), "{err}");
    }

    #[test]
    fn lookup_prefers_a_complete_hmac_pair() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let hmac = GcsCredentials::from_lookup(env(&[
            ("GCS_HMAC_ACCESS_ID", "GOOG1EXAMPLE"),
            ("GCS_HMAC_SECRET", "c2VjcmV0"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent.json"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(hmac.access_id(), "GOOG1EXAMPLE");
        assert_eq!(hmac.algorithm(), "GOOG4-HMAC-SHA256");
        assert!(!format!("{hmac:?}").contains("c2VjcmV0"));
        let half = GcsCredentials::from_lookup(env(&[("GCS_HMAC_SECRET", "c2VjcmV0")]));
        let err = half.unwrap().unwrap_err().to_string();
        assert!(
            err.contains("GCS_HMAC_ACCESS_ID") && !err.contains("c2VjcmV0"),
            "{err}"
        );
        assert!(GcsCredentials::from_lookup(env(&[])).is_none());
        let missing = GcsCredentials::from_lookup(env(&[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "/nonexistent.json",
        )]));
        assert!(missing.unwrap().is_err());
    }
}
