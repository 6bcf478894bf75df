//! Alibaba Cloud OSS PostObject: the V4 signer (`OSS4-HMAC-SHA256`, the
//! default) and V1 (HMAC-SHA1), and the low-level signature functions the
//! shared vectors check byte for byte (docs/oss.md#signature-v4,
//! docs/oss.md#signature-v1).
//!
//! What OSS states beyond the shared form builder: the `x-oss-*` signature
//! fields, the `aliyun_v4` key chain with product `oss` (or `oss-cloudbox`),
//! region ids with an optional `oss-` prefix, and the V1 scheme.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::fields::FormFields;
use super::form::{Fixed, SignOptions, SignedForm};
use super::prepare::SignPlan;
use super::sigv4::{DayKeyCache, Scope, Stamp, check_date, derive_chain_key, hex_mac, keyed_mac};
use super::{Credentials, Dialect, check_bucket};
use crate::error::SignatureError;
use crate::policy::Policy;

pub(crate) const ALGORITHM: &str = "OSS4-HMAC-SHA256";
pub(crate) const TERMINATOR: &str = "aliyun_v4_request";
pub(crate) const PRODUCT: &str = "oss";
pub(crate) const CLOUDBOX_PRODUCT: &str = "oss-cloudbox";

/// The derived V4 signing key for `date` (yyyymmdd), `region` and `product`.
pub(crate) fn signing_key_v4(secret: &str, date: &str, region: &str, product: &str) -> [u8; 32] {
    derive_chain_key("aliyun_v4", secret, date, region, product, TERMINATOR)
}

/// The V4 signature (lower-case hex) of an already-encoded policy; region may
/// be written with or without the `oss-` prefix.
pub fn sign_v4(
    secret: &str,
    policy_b64: &str,
    date: &str,
    region: &str,
    product: &str,
) -> Result<String, SignatureError> {
    check_date(date)?;
    let region = standard_region(region)?;
    let key = signing_key_v4(secret, date, region, product);
    Ok(hex_mac(keyed_mac(&key), policy_b64).as_str().to_owned())
}

/// `cn-hangzhou` from `cn-hangzhou` or `oss-cn-hangzhou` (ali-oss strips `^oss-`).
pub(crate) fn standard_region(region: &str) -> Result<&str, SignatureError> {
    let trimmed = region.strip_prefix("oss-").unwrap_or(region);
    let valid = !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(trimmed)
    } else {
        Err(SignatureError::InvalidRegion(region.to_owned()))
    }
}

/// The V1 signature of an already-encoded policy, byte for byte what the
/// official SDKs compute (`calculatePostSignature`).
pub fn sign_v1(secret: &str, policy_b64: &str) -> String {
    BASE64.encode(mac_v1(secret, policy_b64).finalize().into_bytes())
}

/// Checks a V1 signature in constant time.
pub(crate) fn verify_v1(secret: &str, policy_b64: &str, signature: &str) -> bool {
    match BASE64.decode(signature.as_bytes()) {
        Ok(sig) => mac_v1(secret, policy_b64).verify_slice(&sig).is_ok(),
        Err(_) => false,
    }
}

#[allow(clippy::expect_used)]
fn mac_v1(secret: &str, policy_b64: &str) -> Hmac<Sha1> {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(policy_b64.as_bytes());
    mac
}

/// Which OSS POST signature to produce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OssVersion {
    /// HMAC-SHA1 (legacy; OSS recommends V4).
    V1,
    /// OSS4-HMAC-SHA256.
    #[default]
    V4,
}

impl std::str::FromStr for OssVersion {
    type Err = SignatureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(OssVersion::V1),
            "v4" | "4" => Ok(OssVersion::V4),
            _ => Err(SignatureError::InvalidVersion(s.to_owned())),
        }
    }
}

/// Signs policies for one bucket with one access key.
///
/// The V4 signer adds the `bucket`, `x-oss-signature-version`,
/// `x-oss-credential`, `x-oss-date` (and `x-oss-security-token`) conditions
/// itself, and caches the derived key for the day.
#[derive(Debug)]
pub struct OssSigner {
    credentials: Credentials,
    region: String,
    product: &'static str,
    bucket: String,
    url: String,
    version: OssVersion,
    keys: DayKeyCache,
}

impl OssSigner {
    /// A V4 signer for `bucket` in `region` (`cn-hangzhou` or `oss-cn-hangzhou`),
    /// posting to `https://<bucket>.oss-<region>.aliyuncs.com`.
    pub fn new(
        credentials: Credentials,
        region: &str,
        bucket: &str,
    ) -> Result<Self, SignatureError> {
        let region = standard_region(region)?.to_owned();
        check_bucket(bucket)?;
        Ok(Self {
            url: format!("https://{bucket}.oss-{region}.aliyuncs.com"),
            credentials,
            region,
            product: PRODUCT,
            bucket: bucket.to_owned(),
            version: OssVersion::V4,
            keys: DayKeyCache::default(),
        })
    }

    /// Posts somewhere else. With a scheme (`https://img.example.com`,
    /// `http://127.0.0.1:9000/bucket`) it is the form's exact action URL (a
    /// CNAME or a path-style local endpoint); without one it is an endpoint host
    /// (`oss-cn-shanghai-internal.aliyuncs.com`) and the bucket is prefixed.
    pub fn with_endpoint(mut self, endpoint: &str) -> Result<Self, SignatureError> {
        let endpoint = endpoint.trim().trim_end_matches('/');
        let valid_host = |h: &str| {
            !h.is_empty()
                && !h.contains(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        };
        self.url = if let Some(rest) = endpoint
            .strip_prefix("https://")
            .or_else(|| endpoint.strip_prefix("http://"))
        {
            if !valid_host(rest) {
                return Err(SignatureError::InvalidEndpoint(endpoint.to_owned()));
            }
            endpoint.to_owned()
        } else if endpoint.contains("://") || !valid_host(endpoint) || endpoint.contains('/') {
            return Err(SignatureError::InvalidEndpoint(endpoint.to_owned()));
        } else {
            format!("https://{}.{endpoint}", self.bucket)
        };
        Ok(self)
    }

    pub fn with_version(mut self, version: OssVersion) -> Self {
        self.version = version;
        self
    }

    /// Signs for a CloudBox: product `oss-cloudbox`, the CloudBox id in place
    /// of the region (as the SDKs' V4 signers do).
    pub fn with_cloudbox(mut self, cloudbox_id: &str) -> Result<Self, SignatureError> {
        self.region = standard_region(cloudbox_id)?.to_owned();
        self.product = CLOUDBOX_PRODUCT;
        self.keys = DayKeyCache::default();
        Ok(self)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn version(&self) -> OssVersion {
        self.version
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Signs `policy` at `now`.
    pub fn sign(&self, policy: &Policy, now: DateTime<Utc>) -> Result<SignedForm, SignatureError> {
        self.sign_with(policy, &SignOptions::default(), now)
    }

    /// Signs `policy` at `now` with a key template, a callback, ….
    pub fn sign_with(
        &self,
        policy: &Policy,
        options: &SignOptions,
        now: DateTime<Utc>,
    ) -> Result<SignedForm, SignatureError> {
        super::form::sign(self, policy, None, options, now)
    }

    /// Makes `policy` ready for signing many forms with this signer: what
    /// depends on the policy alone is worked out once (a web handler that
    /// signs one policy per request keeps its plan next to the signer).
    pub fn plan(&self, policy: &Policy) -> Result<SignPlan, SignatureError> {
        super::form::plan(self, policy)
    }

    /// [`Self::sign_with`] for a plan's policy; the same form, with less
    /// work per signature.
    pub fn sign_planned(
        &self,
        plan: &SignPlan,
        options: &SignOptions,
        now: DateTime<Utc>,
    ) -> Result<SignedForm, SignatureError> {
        super::form::sign(self, plan.policy(), Some(plan), options, now)
    }

    /// Signs an exact policy text without changing a byte of it (to reproduce
    /// another SDK's output); only the signature fields are returned. The
    /// caller is responsible for the V4 conditions inside the text.
    pub fn sign_json(
        &self,
        policy_json: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedForm, SignatureError> {
        super::form::sign_json(self, policy_json, now)
    }
}

impl Dialect for OssSigner {
    const RULES: crate::rules::Dialect = crate::rules::Dialect::Oss;
    const SIGNER_FIELDS: &'static [&'static str] = &[
        "x-oss-signature-version",
        "x-oss-credential",
        "x-oss-date",
        "x-oss-security-token",
        "x-oss-signature",
        "policy",
        "OSSAccessKeyId",
        "Signature",
    ];

    fn url(&self) -> &str {
        &self.url
    }

    fn fixed_conditions<'s>(&'s self, stamp: &'s Stamp, credential: &'s str) -> Fixed<'s> {
        let mut fixed = Fixed::default();
        fixed.push("bucket", &self.bucket);
        if self.version == OssVersion::V4 {
            fixed.push("x-oss-signature-version", ALGORITHM);
            fixed.push("x-oss-credential", credential);
            fixed.push("x-oss-date", stamp.datetime());
        }
        if let Some(token) = self.credentials.security_token() {
            fixed.push("x-oss-security-token", token);
        }
        fixed
    }

    fn credential(&self, date: &str) -> String {
        Scope::write(
            self.credentials.access_key_id(),
            date,
            &self.region,
            self.product,
            TERMINATOR,
        )
    }

    fn push_signature_fields(
        &self,
        fields: &mut FormFields,
        policy_json: &str,
        stamp: &Stamp,
        credential: &str,
    ) {
        let secret = self.credentials.secret().expose();
        match self.version {
            OssVersion::V1 => {
                fields.push("OSSAccessKeyId", self.credentials.access_key_id());
                let signature = sign_v1(secret, fields.push_base64("policy", policy_json));
                fields.push("Signature", &signature);
            }
            OssVersion::V4 => {
                let mac = self.keys.mac_for(stamp.date(), || {
                    signing_key_v4(secret, stamp.date(), &self.region, self.product)
                });
                let signature = hex_mac(mac, fields.push_base64("policy", policy_json));
                fields.push("x-oss-signature-version", ALGORITHM);
                fields.push("x-oss-credential", credential);
                fields.push("x-oss-date", stamp.datetime());
                fields.push("x-oss-signature", signature.as_str());
            }
        }
        if let Some(token) = self.credentials.security_token() {
            fields.push("x-oss-security-token", token);
        }
    }
}
