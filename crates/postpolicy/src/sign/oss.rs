//! The OSS PostObject signer (V4 by default, V1 on request).

use chrono::{DateTime, Utc};

use super::Credentials;
use super::form::{Fixed, SignOptions, SignatureFields, SignedForm, sign_exact_json, sign_policy};
use super::key::DayKeyCache;
use super::oss_v1::sign_v1;
use super::oss_v4::{self, ALGORITHM, CLOUDBOX_PRODUCT, PRODUCT, hex_mac, signing_key_v4};
use crate::error::SignatureError;
use crate::policy::Policy;
use crate::wire;

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
        let region = oss_v4::standard_region(region)?.to_owned();
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
        self.region = oss_v4::standard_region(cloudbox_id)?.to_owned();
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
        sign_policy(self, policy, options, now)
    }

    /// Signs an exact policy text without changing a byte of it (to reproduce
    /// another SDK's output); only the signature fields are returned. The
    /// caller is responsible for the V4 conditions inside the text.
    pub fn sign_json(
        &self,
        policy_json: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedForm, SignatureError> {
        sign_exact_json(self, policy_json, now)
    }
}

impl SignatureFields for OssSigner {
    const DIALECT: crate::rules::Dialect = crate::rules::Dialect::Oss;
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
        let id = self.credentials.access_key_id();
        let mut out = String::with_capacity(id.len() + self.region.len() + 48);
        for part in [
            id,
            "/",
            date,
            "/",
            &self.region,
            "/",
            self.product,
            "/",
            oss_v4::TERMINATOR,
        ] {
            out.push_str(part);
        }
        out
    }

    fn push_signature_fields(
        &self,
        fields: &mut Vec<(String, String)>,
        policy_b64: String,
        stamp: &Stamp,
        credential: String,
    ) {
        let secret = self.credentials.secret().expose();
        match self.version {
            OssVersion::V1 => {
                let signature = sign_v1(secret, &policy_b64);
                fields.push((
                    "OSSAccessKeyId".to_owned(),
                    self.credentials.access_key_id().to_owned(),
                ));
                fields.push(("policy".to_owned(), policy_b64));
                fields.push(("Signature".to_owned(), signature));
            }
            OssVersion::V4 => {
                let mac = self.keys.mac_for(stamp.date(), || {
                    signing_key_v4(secret, stamp.date(), &self.region, self.product)
                });
                let signature = hex_mac(mac, &policy_b64);
                fields.push(("policy".to_owned(), policy_b64));
                fields.push(("x-oss-signature-version".to_owned(), ALGORITHM.to_owned()));
                fields.push(("x-oss-credential".to_owned(), credential));
                fields.push(("x-oss-date".to_owned(), stamp.datetime().to_owned()));
                fields.push(("x-oss-signature".to_owned(), signature));
            }
        }
        if let Some(token) = self.credentials.security_token() {
            fields.push(("x-oss-security-token".to_owned(), token.to_owned()));
        }
    }
}

/// `yyyymmddTHHMMSSZ` of one instant (its first 8 bytes are `yyyymmdd`),
/// kept on the stack: every signature needs both.
pub(super) struct Stamp {
    text: [u8; 16],
}

impl Stamp {
    pub(super) fn at(now: DateTime<Utc>) -> Self {
        use chrono::{Datelike as _, Timelike as _};
        let mut text = *b"00000000T000000Z";
        wire::put_digits(&mut text, 0, 4, u32::try_from(now.year()).unwrap_or(0));
        wire::put_digits(&mut text, 4, 2, now.month());
        wire::put_digits(&mut text, 6, 2, now.day());
        wire::put_digits(&mut text, 9, 2, now.hour());
        wire::put_digits(&mut text, 11, 2, now.minute());
        wire::put_digits(&mut text, 13, 2, now.second());
        Self { text }
    }

    /// `yyyymmddTHHMMSSZ`.
    pub(super) fn datetime(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// `yyyymmdd`.
    pub(super) fn date(&self) -> &str {
        self.datetime().get(..8).unwrap_or_default()
    }
}

pub(super) fn check_bucket(bucket: &str) -> Result<(), SignatureError> {
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
