//! S3 presigned POST (AWS Signature Version 4) from the same policies
//! (docs/s3.md#signature).
//!
//! What S3 states beyond the shared form builder: the `x-amz-*` signature
//! fields, the `AWS4` key chain with service `s3`, free-form region names
//! (S3-compatible stores use `garage`, `auto`, …), endpoint URLs, and the
//! refusal of `in` / `not-in` and callbacks, which only OSS has.

use chrono::{DateTime, Utc};

use super::fields::FormFields;
use super::form::{Fixed, SignOptions, SignedForm};
use super::prepare::SignPlan;
use super::sigv4::{DayKeyCache, Scope, Stamp, check_date, derive_chain_key, hex_mac, keyed_mac};
use super::{Credentials, Dialect, check_bucket};
use crate::error::SignatureError;
use crate::policy::{Condition, Policy};

/// The `x-amz-algorithm` of every SigV4 form.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service in the credential scope.
pub(crate) const SERVICE: &str = "s3";
/// The last element of the credential scope.
pub(crate) const TERMINATOR: &str = "aws4_request";
/// The dialect name used in errors.
pub(crate) const DIALECT: &str = "S3";

/// The derived SigV4 signing key for `date` (yyyymmdd) and `region`.
pub(crate) fn signing_key_s3(secret: &str, date: &str, region: &str) -> [u8; 32] {
    derive_chain_key("AWS4", secret, date, region, SERVICE, TERMINATOR)
}

/// The SigV4 signature (lower-case hex) of an already-encoded policy, byte for
/// byte what boto3's `generate_presigned_post` and `@aws-sdk/s3-presigned-post`
/// compute.
pub fn sign_s3_v4(
    secret: &str,
    policy_b64: &str,
    date: &str,
    region: &str,
) -> Result<String, SignatureError> {
    check_date(date)?;
    let region = check_region(region)?;
    let mac = keyed_mac(&signing_key_s3(secret, date, region));
    Ok(hex_mac(mac, policy_b64).as_str().to_owned())
}

/// An S3 region: `us-east-1`, or whatever name an S3-compatible server uses
/// (`garage`, `auto`, …). Letters, digits, `-`, `_` and `.`.
pub(crate) fn check_region(region: &str) -> Result<&str, SignatureError> {
    let valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(region)
    } else {
        Err(SignatureError::InvalidRegion(region.to_owned()))
    }
}

/// Signs S3 presigned POST forms for one bucket with one access key.
///
/// The signer adds the `bucket`, `x-amz-algorithm`, `x-amz-credential`,
/// `x-amz-date` (and `x-amz-security-token`) exact conditions itself, and
/// caches the derived key for the day.
///
/// The form posts to `https://<bucket>.s3.<region>.amazonaws.com/` unless an
/// endpoint is given (MinIO, Garage, R2, …). Path-style URLs
/// (`<endpoint>/<bucket>`) are chosen with [`S3Signer::with_path_style`]; left
/// unset, path style is used where a virtual host cannot work: an endpoint
/// that is an IP address or `localhost`, or a bucket name with a dot on an
/// `https` endpoint (the wildcard certificate would not match).
#[derive(Debug)]
pub struct S3Signer {
    credentials: Credentials,
    region: String,
    bucket: String,
    endpoint: Option<Endpoint>,
    path_style: Option<bool>,
    url: String,
    keys: DayKeyCache,
}

/// A custom endpoint: scheme, `host[:port]` and an optional base path.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    scheme: &'static str,
    authority: String,
    base: String,
}

impl Endpoint {
    fn parse(text: &str) -> Result<Self, SignatureError> {
        let trimmed = text.trim().trim_end_matches('/');
        let invalid = || SignatureError::InvalidEndpoint(text.to_owned());
        let (scheme, rest) = if let Some(rest) = trimmed.strip_prefix("https://") {
            ("https", rest)
        } else if let Some(rest) = trimmed.strip_prefix("http://") {
            ("http", rest)
        } else if trimmed.contains("://") {
            return Err(invalid());
        } else {
            ("https", trimmed)
        };
        let (authority, base) = match rest.find('/') {
            Some(i) => (rest.get(..i).unwrap_or(rest), rest.get(i..).unwrap_or("")),
            None => (rest, ""),
        };
        let bad = |c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '?' | '#' | '@');
        if authority.is_empty() || authority.contains(bad) || base.contains(bad) {
            return Err(invalid());
        }
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            base: base.to_owned(),
        })
    }

    /// The host without the port (IPv6 literals keep their brackets).
    fn host(&self) -> &str {
        if self.authority.starts_with('[') {
            return self
                .authority
                .find(']')
                .and_then(|i| self.authority.get(..=i))
                .unwrap_or(&self.authority);
        }
        self.authority
            .rsplit_once(':')
            .map_or(self.authority.as_str(), |(host, _)| host)
    }

    /// A host no bucket can be a sub-domain of.
    fn is_ip_or_localhost(&self) -> bool {
        let host = self.host();
        host.starts_with('[')
            || host.parse::<std::net::Ipv4Addr>().is_ok()
            || host.eq_ignore_ascii_case("localhost")
    }
}

impl S3Signer {
    /// A signer for `bucket` in `region`, posting to AWS S3
    /// (`https://<bucket>.s3.<region>.amazonaws.com/`).
    pub fn new(
        credentials: Credentials,
        region: &str,
        bucket: &str,
    ) -> Result<Self, SignatureError> {
        let region = check_region(region)?.to_owned();
        check_bucket(bucket)?;
        let mut signer = Self {
            credentials,
            region,
            bucket: bucket.to_owned(),
            endpoint: None,
            path_style: None,
            url: String::new(),
            keys: DayKeyCache::default(),
        };
        signer.url = signer.build_url();
        Ok(signer)
    }

    /// Posts to another S3-compatible endpoint: `http://127.0.0.1:3900`,
    /// `https://<account>.r2.cloudflarestorage.com`, `minio.example.com`
    /// (`https` is assumed without a scheme).
    pub fn with_endpoint(mut self, endpoint: &str) -> Result<Self, SignatureError> {
        self.endpoint = Some(Endpoint::parse(endpoint)?);
        self.url = self.build_url();
        Ok(self)
    }

    /// `true`: `<endpoint>/<bucket>`; `false`: `<bucket>.<endpoint host>`.
    pub fn with_path_style(mut self, path_style: bool) -> Self {
        self.path_style = Some(path_style);
        self.url = self.build_url();
        self
    }

    /// The form's action URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Whether the URL is path-style (explicitly chosen, or implied).
    pub fn path_style(&self) -> bool {
        self.path_style.unwrap_or_else(|| match &self.endpoint {
            Some(endpoint) => {
                endpoint.is_ip_or_localhost()
                    || (endpoint.scheme == "https" && self.bucket.contains('.'))
            }
            None => self.bucket.contains('.'),
        })
    }

    fn build_url(&self) -> String {
        let path_style = self.path_style();
        match &self.endpoint {
            None if path_style => {
                format!("https://s3.{}.amazonaws.com/{}", self.region, self.bucket)
            }
            None => format!("https://{}.s3.{}.amazonaws.com/", self.bucket, self.region),
            Some(e) if path_style => {
                format!("{}://{}{}/{}", e.scheme, e.authority, e.base, self.bucket)
            }
            Some(e) => format!("{}://{}.{}{}/", e.scheme, self.bucket, e.authority, e.base),
        }
    }

    /// Signs `policy` at `now`.
    pub fn sign(&self, policy: &Policy, now: DateTime<Utc>) -> Result<SignedForm, SignatureError> {
        self.sign_with(policy, &SignOptions::default(), now)
    }

    /// Signs `policy` at `now` with a key or key template (`${filename}`).
    ///
    /// Refuses `in` / `not-in` conditions and callbacks, which only OSS has.
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
    /// caller is responsible for the `x-amz-*` conditions inside the text.
    pub fn sign_json(
        &self,
        policy_json: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedForm, SignatureError> {
        super::form::sign_json(self, policy_json, now)
    }
}

impl Dialect for S3Signer {
    const RULES: crate::rules::Dialect = crate::rules::Dialect::S3;
    const SIGNER_FIELDS: &'static [&'static str] = &[
        "policy",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-signature",
    ];

    fn url(&self) -> &str {
        &self.url
    }

    fn fixed_conditions<'s>(&'s self, stamp: &'s Stamp, credential: &'s str) -> Fixed<'s> {
        let mut fixed = Fixed::default();
        fixed.push("bucket", &self.bucket);
        fixed.push("x-amz-algorithm", ALGORITHM);
        fixed.push("x-amz-credential", credential);
        fixed.push("x-amz-date", stamp.datetime());
        if let Some(token) = self.credentials.security_token() {
            fixed.push("x-amz-security-token", token);
        }
        fixed
    }

    /// `AK/yyyymmdd/region/s3/aws4_request`.
    fn credential(&self, date: &str) -> String {
        Scope::write(
            self.credentials.access_key_id(),
            date,
            &self.region,
            SERVICE,
            TERMINATOR,
        )
    }

    /// S3 has no `in` / `not-in` and no upload callbacks.
    fn refuse(&self, policy: &Policy, options: &SignOptions) -> Result<(), SignatureError> {
        for (index, condition) in policy.conditions.iter().enumerate() {
            if matches!(condition, Condition::In { .. } | Condition::NotIn { .. }) {
                return Err(SignatureError::UnsupportedCondition {
                    index,
                    operator: condition.operator(),
                    dialect: DIALECT,
                });
            }
        }
        if options.callback.is_some() {
            return Err(SignatureError::UnsupportedOption {
                option: "upload callbacks",
                dialect: DIALECT,
            });
        }
        Ok(())
    }

    fn push_signature_fields(
        &self,
        fields: &mut FormFields,
        policy_json: &str,
        stamp: &Stamp,
        credential: &str,
    ) {
        let secret = self.credentials.secret().expose();
        let mac = self.keys.mac_for(stamp.date(), || {
            signing_key_s3(secret, stamp.date(), &self.region)
        });
        let signature = hex_mac(mac, fields.push_base64("policy", policy_json));
        fields.push("x-amz-algorithm", ALGORITHM);
        fields.push("x-amz-credential", credential);
        fields.push("x-amz-date", stamp.datetime());
        if let Some(token) = self.credentials.security_token() {
            fields.push("x-amz-security-token", token);
        }
        fields.push("x-amz-signature", signature.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(bucket: &str) -> S3Signer {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None).unwrap();
        S3Signer::new(credentials, "eu-west-1", bucket).unwrap()
    }

    #[test]
    fn urls() {
        assert_eq!(
            signer("photos").url(),
            "https://photos.s3.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            signer("my.photos").url(),
            "https://s3.eu-west-1.amazonaws.com/my.photos"
        );
        let local = signer("photos")
            .with_endpoint("http://127.0.0.1:3900/")
            .unwrap();
        assert_eq!(local.url(), "http://127.0.0.1:3900/photos");
        let minio = signer("photos")
            .with_endpoint("minio.example.com:9000")
            .unwrap();
        assert_eq!(minio.url(), "https://photos.minio.example.com:9000/");
        assert_eq!(
            minio.with_path_style(true).url(),
            "https://minio.example.com:9000/photos"
        );
        let v6 = signer("photos").with_endpoint("http://[::1]:3900").unwrap();
        assert_eq!(v6.url(), "http://[::1]:3900/photos");
        assert!(signer("photos").with_endpoint("ftp://x").is_err());
        assert!(signer("photos").with_endpoint("http://a b").is_err());
    }

    #[test]
    fn in_and_not_in_are_refused() {
        let policy = Policy::parse("key starts-with u/\ncontent-type in [image/png]").unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let err = signer("photos").sign(&policy, now).unwrap_err();
        assert_eq!(
            err,
            SignatureError::UnsupportedCondition {
                index: 1,
                operator: "in",
                dialect: "S3"
            }
        );
        assert!(err.to_string().contains("S3 does not support"));
    }

    #[test]
    fn regions() {
        assert!(check_region("us-east-1").is_ok());
        assert!(check_region("garage").is_ok());
        assert!(check_region("").is_err());
        assert!(check_region("us/east").is_err());
    }
}
