//! Google Cloud Storage V4 POST forms (docs/gcs.md): what GCS states that
//! the shared steps in [`super`] do not.
//!
//! - `x-goog-*` fields; `GOOG4-RSA-SHA256` (a service account's RSA key,
//!   checked with its public key) or `GOOG4-HMAC-SHA256` (the `GOOG4` key
//!   chain, location as the credential names it, `storage`,
//!   `goog4_request`);
//! - `${filename}` in `key` is expanded *after* the key is checked: Google's
//!   libraries pin `{"key": "user/${filename}"}` exactly;
//! - only `eq`, `starts-with` and `content-length-range` exist;
//! - every field needs a condition except `x-goog-signature`, `file`,
//!   `policy` and `x-ignore-*` names (GCS answers `InvalidPolicyDocument`,
//!   "Policy did not reference these fields: …");
//! - a form without `policy` is refused ("Missing policy");
//! - the stored type is the `Content-Type` field; metadata is `x-goog-meta-*`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;
use sha2::Sha256;

use super::{Accepted, Coverage, Dialect, KeyStore, Rejected, Signed, Submission};
use crate::gcs_key::{GcsCredentials, ServiceAccountKey};
use crate::policy::Policy;
use crate::sign::gcs::{HMAC_ALGORITHM, LOCATION, RSA_ALGORITHM, SERVICE, TERMINATOR};
use crate::sign::sigv4::{KeyIdCache, Scope, Stamp, derive_chain_key, keyed_mac, verify_hex_mac};

/// The `<Message>` GCS gives every policy problem; the `<Details>` follow it.
const POLICY_MESSAGE: &str =
    "The content of the form does not meet the conditions specified in the policy document.";
const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.";
const INVALID_ARGUMENT: &str = "Invalid argument.";
const UNKNOWN_ID: &str = "The access key ID you provided does not exist in our records.";

/// Verifies GCS V4 POST forms posted to one bucket, signed with HMAC keys
/// (a [`KeyStore`] of secrets by access id) or service account keys (their
/// public keys, by e-mail address).
pub struct GcsVerifier {
    /// `None`: judge `bucket` conditions only when a bucket is known.
    bucket: Option<String>,
    keys: Box<dyn KeyStore>,
    service_accounts: HashMap<String, VerifyingKey<Sha256>>,
    /// Derived HMAC keys by access id: (day, secret, keyed MAC).
    derived: KeyIdCache,
}

impl std::fmt::Debug for GcsVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsVerifier")
            .field("bucket", &self.bucket)
            .field(
                "service_accounts",
                &self.service_accounts.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The V4 fields of a form.
struct Auth<'a> {
    algorithm: &'a str,
    credential: &'a str,
    date: &'a str,
    policy: &'a str,
    signature: &'a str,
}

impl GcsVerifier {
    /// A verifier for `bucket` that knows the HMAC secrets in `keys` (an
    /// empty map when only service accounts sign).
    pub fn new(bucket: &str, keys: impl KeyStore + 'static) -> Self {
        Self {
            bucket: Some(bucket.to_owned()),
            keys: Box::new(keys),
            service_accounts: HashMap::new(),
            derived: KeyIdCache::default(),
        }
    }

    /// A verifier for a form whose bucket is unknown (`postpolicy explain`
    /// without `--bucket`): `bucket` conditions are not judged.
    pub fn for_any_bucket(keys: impl KeyStore + 'static) -> Self {
        Self {
            bucket: None,
            ..Self::new("", keys)
        }
    }

    /// A verifier for the forms `credentials` sign.
    pub fn for_credentials(bucket: &str, credentials: &GcsCredentials) -> Self {
        match credentials {
            GcsCredentials::ServiceAccount(key) => {
                Self::new(bucket, HashMap::new()).with_service_account(key)
            }
            GcsCredentials::Hmac(hmac) => {
                let (id, secret) = (
                    hmac.access_key_id().to_owned(),
                    hmac.secret().expose().to_owned(),
                );
                Self::new(bucket, HashMap::from([(id, secret)]))
            }
        }
    }

    /// Also accepts forms the service account signs (its public key only is
    /// kept).
    pub fn with_service_account(self, key: &ServiceAccountKey) -> Self {
        self.with_public_key(key.client_email(), key.public_key())
    }

    /// Also accepts forms signed by the RSA key of `client_email` whose
    /// public half is `public_key`.
    pub fn with_public_key(mut self, client_email: &str, public_key: RsaPublicKey) -> Self {
        self.service_accounts
            .insert(client_email.to_owned(), VerifyingKey::new(public_key));
        self
    }

    /// The bucket, `None` for [`GcsVerifier::for_any_bucket`].
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// The access id or e-mail the form names: the first part of
    /// `x-goog-credential` (see `S3Verifier::key_id` for the use).
    pub fn key_id<'a>(&self, submission: &'a Submission) -> Option<&'a str> {
        Some(Scope::parse(submission.field("x-goog-credential")?)?.access_key_id)
    }

    /// Accepts or rejects `submission` as GCS would at `now`.
    pub fn verify<'a>(
        &self,
        submission: &'a Submission,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected> {
        super::verify(self, submission, &*self.keys, now)
    }

    /// [`GcsVerifier::verify`] with `keys` in place of the verifier's HMAC
    /// store for this one call.
    pub fn verify_with<'a>(
        &self,
        submission: &'a Submission,
        keys: &dyn KeyStore,
        now: DateTime<Utc>,
    ) -> Result<Accepted<'a>, Rejected> {
        super::verify(self, submission, keys, now)
    }

    /// Every reason `policy` would reject `submission` at `now`, without
    /// checking a signature. Empty when it would pass.
    pub fn explain(
        &self,
        policy: &Policy,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> Vec<Rejected> {
        super::explain(self, policy, submission, now)
    }

    fn check_signature<'a>(
        &self,
        keys: &dyn KeyStore,
        auth: &Auth<'a>,
    ) -> Result<&'a str, Rejected> {
        let credential = auth.credential;
        let scope = Scope::parse(credential).ok_or_else(|| {
            invalid_argument(format!(
                "x-goog-credential `{credential}` must have 5 parts: <id>/<yyyymmdd>/<location>/storage/goog4_request"
            ))
        })?;
        if scope.service != SERVICE || scope.terminator != TERMINATOR {
            return Err(invalid_argument(format!(
                "x-goog-credential `{credential}` must end in /{SERVICE}/{TERMINATOR}"
            )));
        }
        if Stamp::parse(auth.date).is_none() {
            return Err(invalid_argument(format!(
                "x-goog-date `{}` is not in the form yyyymmddTHHMMSSZ",
                auth.date
            )));
        }
        if auth.date.get(..8) != Some(scope.date) {
            return Err(invalid_argument(format!(
                "x-goog-credential date `{}` is not the day of x-goog-date `{}`",
                scope.date, auth.date
            )));
        }
        let id = scope.access_key_id;
        let matches = if auth.algorithm == RSA_ALGORITHM {
            let key = self
                .service_accounts
                .get(id)
                .ok_or_else(|| unknown_id(id))?;
            decode_lower_hex(auth.signature)
                .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok())
                .is_some_and(|signature| key.verify(auth.policy.as_bytes(), &signature).is_ok())
        } else {
            let secret = keys.secret_ref(id).ok_or_else(|| unknown_id(id))?;
            // The location is the credential's; every library writes `auto`,
            // the only one the per-day cache holds.
            let derive = || {
                derive_chain_key(
                    "GOOG4",
                    &secret,
                    scope.date,
                    scope.region,
                    SERVICE,
                    TERMINATOR,
                )
            };
            let mac = if scope.region == LOCATION {
                self.derived.mac_for(id, &secret, scope.date, derive)
            } else {
                keyed_mac(&derive())
            };
            verify_hex_mac(mac, auth.policy, auth.signature)
        };
        if !matches {
            return Err(Rejected::new(
                403,
                "SignatureDoesNotMatch",
                SIGNATURE_MISMATCH,
                format!(
                    "x-goog-signature does not match the policy signed ({}) by `{id}` for {}",
                    auth.algorithm, scope.date
                ),
            ));
        }
        Ok(id)
    }
}

impl Dialect for GcsVerifier {
    const NAME: &'static str = "GCS";
    // GCS's condition wording is S3's; the GCS-only answers are below.
    const RULES: crate::rules::Dialect = crate::rules::Dialect::S3;
    const OPERATORS: &'static [&'static str] = &["eq", "starts-with", "content-length-range"];
    const EXPANDS_KEY_FIRST: bool = false;
    const CONTENT_TYPE_LISTS: bool = false;
    const COVERAGE: Option<Coverage> = Some(Coverage {
        exempt: &["policy", "x-goog-signature", "file"],
        exempt_prefix: "x-ignore-",
        rule: "GCS requires a condition for every field except x-goog-signature, file, policy and x-ignore-* names",
        status: 400,
        service_code: "InvalidPolicyDocument",
        message: "The content of the form does not meet the conditions specified in the policy document. Policy did not reference these fields: ",
    });
    const SIZE_AFTER_FIELDS: bool = true;
    const META_PREFIX: &'static str = "x-goog-meta-";
    const STORED: &'static [&'static str] = &[
        "acl",
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-language",
        "expires",
        "x-goog-custom-time",
        "x-goog-storage-class",
    ];
    const REDIRECT_FIELDS: &'static [&'static str] = &["success_action_redirect"];
    const ANONYMOUS_DENIED: &'static str = "Access denied.";

    fn target_bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    fn anonymous_allowed(&self) -> bool {
        false
    }

    fn no_file() -> Rejected {
        invalid_argument(
            "the form has no file part (it must be the last field, named `file`)".to_owned(),
        )
    }

    fn check_fields(_submission: &Submission) -> Result<(), Rejected> {
        Ok(())
    }

    fn authenticate<'a>(
        &self,
        submission: &'a Submission,
        keys: &dyn KeyStore,
        _now: DateTime<Utc>,
    ) -> Result<Option<Signed<'a>>, Rejected> {
        let Some(auth) = auth(submission)? else {
            return Ok(None);
        };
        Ok(Some(Signed {
            policy: auth.policy,
            access_key_id: self.check_signature(keys, &auth)?,
            v4: false,
        }))
    }

    fn content_type(submission: &Submission) -> Option<&str> {
        submission
            .field("Content-Type")
            .or_else(|| submission.file.as_ref()?.content_type.as_deref())
    }
}

fn invalid_argument(reason: String) -> Rejected {
    Rejected::new(400, "InvalidArgument", INVALID_ARGUMENT, reason)
}

fn unknown_id(id: &str) -> Rejected {
    Rejected::new(
        403,
        "InvalidAccessKeyId",
        UNKNOWN_ID,
        format!("`{id}` is neither an HMAC access id nor a service account this verifier knows"),
    )
}

/// The V4 fields, `None` for an unsigned form.
fn auth(submission: &Submission) -> Result<Option<Auth<'_>>, Rejected> {
    let get = |name: &str| submission.field(name).filter(|v| !v.is_empty());
    let signed = [
        "x-goog-algorithm",
        "x-goog-credential",
        "x-goog-signature",
        "policy",
    ]
    .iter()
    .any(|n| get(n).is_some());
    if !signed {
        return Ok(None);
    }
    let policy = get("policy").ok_or_else(|| {
        Rejected::new(
            400,
            "InvalidPolicyDocument",
            format!("{POLICY_MESSAGE} Missing policy"),
            "the form is signed (x-goog-* fields) but has no `policy` field",
        )
    })?;
    let need = |name: &'static str| {
        get(name)
            .ok_or_else(|| invalid_argument(format!("a V4 form needs a non-empty `{name}` field")))
    };
    let algorithm = need("x-goog-algorithm")?;
    if algorithm != RSA_ALGORITHM && algorithm != HMAC_ALGORITHM {
        return Err(invalid_argument(format!(
            "x-goog-algorithm is `{algorithm}`, expected `{RSA_ALGORITHM}` or `{HMAC_ALGORITHM}`"
        )));
    }
    Ok(Some(Auth {
        algorithm,
        credential: need("x-goog-credential")?,
        date: need("x-goog-date")?,
        policy,
        signature: need("x-goog-signature")?,
    }))
}

/// Lower-case hex only, as the libraries write it (any other spelling is a
/// mismatch, as for the HMAC signatures).
fn decode_lower_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect()
}
