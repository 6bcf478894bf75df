//! Google Cloud Storage V4 POST policies (`GOOG4-RSA-SHA256` and
//! `GOOG4-HMAC-SHA256`) from the same policies as OSS and S3.
//!
//! What GCS does differently (see `docs/gcs.md`): the document lists its
//! `conditions` before the `expiration`, which has no fractional seconds; the
//! signer's own conditions (`bucket`, `key`, `x-goog-date`,
//! `x-goog-credential`, `x-goog-algorithm`) come after the caller's, in that
//! order; every character outside ASCII is written as a `\uXXXX` escape; and a
//! service account signs with RSA (PKCS#1 v1.5 over SHA-256 of the base64
//! policy) where an HMAC key signs as SigV4 does, with `GOOG4`, `auto`,
//! `storage` and `goog4_request` in the key chain. Field names keep the
//! spelling the policy gives them, as Google's libraries do. Only exact
//! match, `starts-with` and `content-length-range` exist; `in` / `not-in`
//! and callbacks are refused.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike as _, TimeDelta, Timelike as _, Utc};

use super::fields::FormFields;
use super::form::{SignOptions, SignedForm, form_fields};
use super::prepare::{PolicyPart, key_condition, prepare};
use super::sigv4::{DayKeyCache, Stamp, derive_chain_key, hex_mac, lower_hex};
use crate::error::SignatureError;
use crate::gcs_key::GcsCredentials;
use crate::policy::{ByteRange, Condition, Policy};
use crate::rules::Rules;
use crate::time::TimeRangeError;
use crate::wire;

/// The `x-goog-algorithm` of a form signed with a service account key.
pub const RSA_ALGORITHM: &str = "GOOG4-RSA-SHA256";
/// The `x-goog-algorithm` of a form signed with an HMAC key.
pub const HMAC_ALGORITHM: &str = "GOOG4-HMAC-SHA256";
/// The location in the credential scope: Google's libraries always write
/// `auto`, which the service accepts for every bucket.
pub const LOCATION: &str = "auto";
/// The service in the credential scope.
pub const SERVICE: &str = "storage";
/// The last element of the credential scope.
pub const TERMINATOR: &str = "goog4_request";
/// The XML API host path-style and virtual-hosted URLs use.
pub const DEFAULT_HOST: &str = "storage.googleapis.com";
/// The longest a V4 policy may stay valid after `x-goog-date`: 7 days.
pub const MAX_LIFETIME_SECONDS: i64 = 7 * 24 * 60 * 60;
/// The dialect name used in errors.
pub(crate) const DIALECT: &str = "GCS";

/// The derived `GOOG4-HMAC-SHA256` signing key for `date` (yyyymmdd).
pub fn signing_key_gcs(secret: &str, date: &str) -> [u8; 32] {
    derive_chain_key("GOOG4", secret, date, LOCATION, SERVICE, TERMINATOR)
}

/// Where the form posts, as Google's libraries name the choices.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum GcsUrlStyle {
    /// `https://storage.googleapis.com/<bucket>/` (the default).
    #[default]
    Path,
    /// `https://<bucket>.storage.googleapis.com/`.
    VirtualHosted,
    /// `https://<hostname>/`: a CNAME or load balancer bound to the bucket.
    BucketBound {
        /// `host[:port]`, without a scheme.
        hostname: String,
    },
}

impl GcsUrlStyle {
    /// A style from its name and an optional bucket-bound host name, the way
    /// the bindings and the CLI take them. Names: `path`, `virtual-hosted`,
    /// `bucket-bound` (Google's `PATH_STYLE`, `VIRTUAL_HOSTED_STYLE` and
    /// `BUCKET_BOUND_HOSTNAME` work too). A host name implies `bucket-bound`
    /// unless another style is named; it may carry a scheme
    /// (`http://cdn.example.com`), which is then returned too.
    pub fn parse(
        style: Option<&str>,
        bound_hostname: Option<&str>,
    ) -> Result<(Self, Option<Scheme>), SignatureError> {
        let name = style.map(|s| s.trim().to_ascii_lowercase().replace('_', "-"));
        let name = name
            .as_deref()
            .map(|n| n.strip_suffix("-style").unwrap_or(n));
        let bound = bound_hostname.filter(|h| !h.trim().is_empty());
        match (name, bound) {
            (None | Some("path" | "bucket-bound" | "bucket-bound-hostname"), Some(host)) => {
                let (hostname, scheme) = parse_hostname(host)?;
                Ok((GcsUrlStyle::BucketBound { hostname }, scheme))
            }
            (Some("bucket-bound" | "bucket-bound-hostname"), None) => Err(setting(
                "URL style",
                "bucket-bound",
                "a bucket-bound URL needs the host name bound to the bucket",
            )),
            (None | Some("path"), None) => Ok((GcsUrlStyle::Path, None)),
            (Some("virtual-hosted"), None) => Ok((GcsUrlStyle::VirtualHosted, None)),
            (Some("virtual-hosted"), Some(_)) => Err(setting(
                "URL style",
                "virtual-hosted",
                "a bucket-bound host name and the virtual-hosted style exclude each other",
            )),
            (Some(other), _) => Err(setting(
                "URL style",
                other,
                "expected `path`, `virtual-hosted` or `bucket-bound`",
            )),
        }
    }
}

/// `http` or `https`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    #[default]
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl std::str::FromStr for Scheme {
    type Err = SignatureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            _ => Err(setting("scheme", s, "expected `http` or `https`")),
        }
    }
}

/// `host[:port]` from a bare host name or an `http(s)://host[:port][/]` URL,
/// checked by the URL parser (no path, query, fragment or user info).
fn parse_hostname(text: &str) -> Result<(String, Option<Scheme>), SignatureError> {
    let text = text.trim();
    let bad = |expected| setting("bucket-bound host name", text, expected);
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.parse::<Scheme>()?), rest),
        None => (None, text),
    };
    let url = url::Url::parse(&format!("{}://{rest}", scheme.unwrap_or_default().as_str()))
        .map_err(|_| bad("expected a host name such as `cdn.example.com`"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("expected a host name such as `cdn.example.com`"))?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("expected a host name only, without a path or query"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("expected a host name without user information"));
    }
    let hostname = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    Ok((hostname, scheme))
}

/// A GCS bucket name: 3-63 characters (up to 222 when dotted, 63 between
/// dots) of lower-case letters, digits, `-`, `_` and `.`, beginning and
/// ending with a letter or digit.
pub(crate) fn check_gcs_bucket(bucket: &str) -> Result<(), SignatureError> {
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let max = if bucket.contains('.') { 222 } else { 63 };
    let ok = (3..=max).contains(&bucket.len())
        && bucket.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
        && edge(bucket.bytes().next())
        && edge(bucket.bytes().last())
        && bucket.split('.').all(|part| (1..=63).contains(&part.len()));
    if ok {
        Ok(())
    } else {
        Err(setting(
            "GCS bucket name",
            bucket,
            "expected 3-63 lower-case letters, digits, `-`, `_` or `.` (up to 222 with dots, 63 between them), beginning and ending with a letter or digit",
        ))
    }
}

fn setting(name: &'static str, value: &str, expected: &'static str) -> SignatureError {
    SignatureError::InvalidSetting {
        setting: name,
        value: value.to_owned(),
        expected,
    }
}

/// Signs Google Cloud Storage V4 POST policies for one bucket with one key.
///
/// The signer adds the `bucket`, `key` (from the `key` option),
/// `x-goog-date`, `x-goog-credential` and `x-goog-algorithm` conditions
/// itself, after the policy's own, as Google's libraries do.
#[derive(Debug)]
pub struct GcsSigner {
    credentials: GcsCredentials,
    bucket: String,
    style: GcsUrlStyle,
    scheme: Scheme,
    /// `host[:port]` of the XML API for path and virtual-hosted URLs.
    host: String,
    url: String,
    keys: DayKeyCache,
}

impl GcsSigner {
    /// A signer for `bucket`, posting path-style over https
    /// (`https://storage.googleapis.com/<bucket>/`).
    pub fn new(credentials: GcsCredentials, bucket: &str) -> Result<Self, SignatureError> {
        check_gcs_bucket(bucket)?;
        let mut signer = Self {
            credentials,
            bucket: bucket.to_owned(),
            style: GcsUrlStyle::Path,
            scheme: Scheme::Https,
            host: DEFAULT_HOST.to_owned(),
            url: String::new(),
            keys: DayKeyCache::default(),
        };
        signer.url = signer.build_url();
        Ok(signer)
    }

    /// Posts path-style, virtual-hosted or to a bucket-bound host name.
    pub fn with_url_style(mut self, style: GcsUrlStyle) -> Result<Self, SignatureError> {
        if let GcsUrlStyle::BucketBound { hostname } = &style {
            let (hostname, scheme) = parse_hostname(hostname)?;
            if let Some(scheme) = scheme {
                self.scheme = scheme;
            }
            self.style = GcsUrlStyle::BucketBound { hostname };
        } else {
            self.style = style;
        }
        self.url = self.build_url();
        Ok(self)
    }

    /// `http` or `https` (the default).
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self.url = self.build_url();
        self
    }

    /// Another XML API endpoint for path-style and virtual-hosted URLs: a
    /// private endpoint, or a local server (`http://127.0.0.1:9000`). A scheme
    /// in it replaces the signer's.
    pub fn with_endpoint(mut self, endpoint: &str) -> Result<Self, SignatureError> {
        let (host, scheme) = parse_hostname(endpoint.trim().trim_end_matches('/'))
            .map_err(|_| SignatureError::InvalidEndpoint(endpoint.to_owned()))?;
        self.host = host;
        if let Some(scheme) = scheme {
            self.scheme = scheme;
        }
        self.url = self.build_url();
        Ok(self)
    }

    /// The URL as the CLI and the bindings take it: a style name and a
    /// bucket-bound host name (see [`GcsUrlStyle::parse`]), a scheme
    /// (`http`/`https`) and an XML API endpoint, each optional. A scheme in
    /// the host name wins over `scheme`, which wins over the endpoint's.
    pub fn with_url_options(
        mut self,
        style: Option<&str>,
        bound_hostname: Option<&str>,
        scheme: Option<&str>,
        endpoint: Option<&str>,
    ) -> Result<Self, SignatureError> {
        let (style, bound_scheme) = GcsUrlStyle::parse(style, bound_hostname)?;
        if let Some(endpoint) = endpoint {
            self = self.with_endpoint(endpoint)?;
        }
        if let Some(scheme) = scheme {
            self = self.with_scheme(scheme.parse()?);
        }
        self = self.with_url_style(style)?;
        if let Some(scheme) = bound_scheme {
            self = self.with_scheme(scheme);
        }
        Ok(self)
    }

    fn build_url(&self) -> String {
        let scheme = self.scheme.as_str();
        match &self.style {
            GcsUrlStyle::Path => format!("{scheme}://{}/{}/", self.host, self.bucket),
            GcsUrlStyle::VirtualHosted => format!("{scheme}://{}.{}/", self.bucket, self.host),
            GcsUrlStyle::BucketBound { hostname } => format!("{scheme}://{hostname}/"),
        }
    }

    /// The form's action URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn url_style(&self) -> &GcsUrlStyle {
        &self.style
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn credentials(&self) -> &GcsCredentials {
        &self.credentials
    }

    /// Signs `policy` at `now`.
    pub fn sign(&self, policy: &Policy, now: DateTime<Utc>) -> Result<SignedForm, SignatureError> {
        self.sign_with(policy, &SignOptions::default(), now)
    }

    /// Signs `policy` at `now` with an object key or key template
    /// (`${filename}`), which plays the part of Google's object name.
    ///
    /// Refuses `in` / `not-in` conditions, callbacks, and a lifetime beyond
    /// GCS's 7 days.
    pub fn sign_with(
        &self,
        policy: &Policy,
        options: &SignOptions,
        now: DateTime<Utc>,
    ) -> Result<SignedForm, SignatureError> {
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
        let (now, expires_at) = self.lifetime(policy.expires_at(now)?, now)?;
        let stamp = Stamp::at(now);
        let credential = self.credential(stamp.date());
        let algorithm = self.credentials.algorithm();
        let fixed = [
            ("bucket", self.bucket.as_str()),
            ("x-goog-date", stamp.datetime()),
            ("x-goog-credential", credential.as_str()),
            ("x-goog-algorithm", algorithm),
        ];
        let part = PolicyPart::of(policy, &fixed, SIGNER_FIELDS)?;
        let prepared = prepare(policy, &part, options, &fixed)?;
        let key = options.key.as_deref().map(key_condition);

        let mut json = String::with_capacity(512);
        json.push_str("{\"conditions\":[");
        let mut first = true;
        let mut separate = |out: &mut String| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
        };
        for condition in prepared.conditions() {
            if key.as_ref() != Some(condition) {
                separate(&mut json);
                push_condition(&mut json, condition);
            }
        }
        let [bucket, signer_conditions @ ..] = fixed;
        separate(&mut json);
        push_exact(&mut json, bucket.0, bucket.1);
        if let Some(key) = &key {
            separate(&mut json);
            push_condition(&mut json, key);
        }
        for (name, value) in signer_conditions {
            separate(&mut json);
            push_exact(&mut json, name, value);
        }
        json.push_str("],\"expiration\":\"");
        push_expiration(&mut json, expires_at);
        json.push_str("\"}");

        // Google's libraries keep each field as the caller spelt it.
        let leading: Vec<(&str, &str)> = prepared
            .leading_fields
            .iter()
            .map(|&(name, value)| {
                let written = policy
                    .conditions
                    .iter()
                    .filter_map(Condition::field)
                    .find(|field| field.is(name))
                    .map_or(name, |field| field.written());
                (written, value)
            })
            .collect();
        let mut fields = form_fields(&leading, &json, &credential);
        let fields_to_fill = prepared
            .fields_to_fill
            .into_iter()
            .map(|name| {
                policy
                    .conditions
                    .iter()
                    .filter_map(Condition::field)
                    .find(|field| field.is(&name))
                    .map_or(name, |field| field.written().to_owned())
            })
            .collect();
        self.push_signature_fields(&mut fields, &json, &stamp, &credential);
        Ok(SignedForm {
            url: self.url.clone(),
            fields,
            expires_at,
            fields_to_fill,
            // No GCS verifier words GCS's rejections: no browser rules.
            rules: Rules::default(),
        })
    }

    /// Signs an exact policy text without changing a byte of it (to reproduce
    /// another library's output); only the signature fields are returned. The
    /// caller is responsible for the `x-goog-*` conditions inside the text.
    pub fn sign_json(
        &self,
        policy_json: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedForm, SignatureError> {
        let expires_at = wire::from_json(policy_json)
            .map_err(SignatureError::Policy)?
            .expires_at(now)?;
        let (now, expires_at) = self.lifetime(expires_at, now)?;
        let stamp = Stamp::at(now);
        let credential = self.credential(stamp.date());
        let mut fields = form_fields(&[], policy_json, &credential);
        self.push_signature_fields(&mut fields, policy_json, &stamp, &credential);
        Ok(SignedForm {
            url: self.url.clone(),
            fields,
            expires_at,
            fields_to_fill: Vec::new(),
            rules: Rules::default(),
        })
    }

    /// `now` and the expiration as the form states them (whole seconds), or
    /// the error when the policy would outlive GCS's 7 days.
    fn lifetime(
        &self,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), SignatureError> {
        let now = crate::time::check_instant(now, "`now`")?;
        let whole = |at: DateTime<Utc>| at.with_nanosecond(0).unwrap_or(at);
        let (now, expires_at) = (whole(now), whole(expires_at));
        if expires_at - now > TimeDelta::seconds(MAX_LIFETIME_SECONDS) {
            return Err(SignatureError::Time(TimeRangeError::TooLong {
                input: "a GCS policy's lifetime (from x-goog-date to the expiration)",
                max: "7 days",
            }));
        }
        Ok((now, expires_at))
    }

    /// `<access id>/yyyymmdd/auto/storage/goog4_request`.
    fn credential(&self, date: &str) -> String {
        format!(
            "{}/{date}/{LOCATION}/{SERVICE}/{TERMINATOR}",
            self.credentials.access_id()
        )
    }

    fn push_signature_fields(
        &self,
        fields: &mut FormFields,
        policy_json: &str,
        stamp: &Stamp,
        credential: &str,
    ) {
        // Google's forms carry the policy last, after its signature.
        let policy_b64 = wire::to_base64(policy_json);
        let signature = match &self.credentials {
            GcsCredentials::ServiceAccount(key) => lower_hex(&key.sign(policy_b64.as_bytes())),
            GcsCredentials::Hmac(credentials) => {
                let mac = self.keys.mac_for(stamp.date(), || {
                    signing_key_gcs(credentials.secret().expose(), stamp.date())
                });
                hex_mac(mac, &policy_b64).as_str().to_owned()
            }
        };
        fields.push("x-goog-algorithm", self.credentials.algorithm());
        fields.push("x-goog-credential", credential);
        fields.push("x-goog-date", stamp.datetime());
        fields.push("x-goog-signature", &signature);
        fields.push("policy", &policy_b64);
    }
}

/// Fields the signer writes itself (never copied from `eq` conditions).
const SIGNER_FIELDS: &[&str] = &[
    "policy",
    "x-goog-algorithm",
    "x-goog-credential",
    "x-goog-date",
    "x-goog-signature",
];

/// `YYYY-MM-DDTHH:MM:SSZ`: Google's libraries drop the fractional seconds.
fn push_expiration(out: &mut String, at: DateTime<Utc>) {
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
}

/// `{"name":"value"}`.
fn push_exact(out: &mut String, name: &str, value: &str) {
    out.push('{');
    push_string(out, name);
    out.push(':');
    push_string(out, value);
    out.push('}');
}

fn push_condition(out: &mut String, condition: &Condition) {
    let list_head = |out: &mut String, operator: &str, field: &crate::policy::Field| {
        out.push('[');
        push_string(out, operator);
        out.push_str(",\"$");
        push_escaped(out, field.written());
        out.push_str("\",");
    };
    match condition {
        // A map key loses one leading `$` when read: such a name is written in
        // the list form, where the `$` is explicit (as the OSS writer does).
        Condition::Eq { field, value } if !field.written().starts_with('$') => {
            push_exact(out, field.written(), value);
        }
        Condition::Eq { field, value } => {
            list_head(out, "eq", field);
            push_string(out, value);
            out.push(']');
        }
        Condition::StartsWith { field, prefix } => {
            list_head(out, "starts-with", field);
            push_string(out, prefix);
            out.push(']');
        }
        Condition::In { field, values } | Condition::NotIn { field, values } => {
            // Refused before signing; written faithfully all the same.
            list_head(out, condition.operator(), field);
            out.push('[');
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(out, value);
            }
            out.push_str("]]");
        }
        Condition::ContentLengthRange(ByteRange { min, max }) => {
            let _ = write!(out, "[\"content-length-range\",{min},{max}]");
        }
    }
}

/// A JSON string the way Google's libraries write policy text: the escapes
/// of `JSON.stringify` (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other
/// control characters as `\u00xx`), and every character from U+0080 up as
/// `\uxxxx` in lower-case hex, as UTF-16 surrogate pairs beyond U+FFFF. The
/// result is pure ASCII.
pub(crate) fn push_string(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

fn push_escaped(out: &mut String, s: &str) {
    let plain = |b: u8| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\';
    if s.bytes().all(plain) {
        out.push_str(s);
        return;
    }
    let mut units = [0u16; 2];
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='\u{7f}' => out.push(c),
            _ => {
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        push_string(&mut out, s);
        out
    }

    #[test]
    fn escapes_as_googles_libraries_do() {
        assert_eq!(escaped("plain/key-1.png"), "\"plain/key-1.png\"");
        assert_eq!(escaped("$test-object-é"), "\"$test-object-\\u00e9\"");
        assert_eq!(
            escaped("attachment; filename=\"~._-%=/é0Aa\""),
            "\"attachment; filename=\\\"~._-%=/\\u00e90Aa\\\"\""
        );
        assert_eq!(
            escaped("a\\b\n\r\t\u{8}\u{c}\u{1}"),
            "\"a\\\\b\\n\\r\\t\\b\\f\\u0001\""
        );
        assert_eq!(escaped("\u{7f}<>&'/"), "\"\u{7f}<>&'/\"");
        assert_eq!(escaped("中"), "\"\\u4e2d\"");
        assert_eq!(escaped("😀"), "\"\\ud83d\\ude00\"");
        // What any JSON parser reads back is the original text.
        for s in ["é😀\u{1}\"\\", "x\u{2028}y", "\u{ffff}"] {
            let back: String = serde_json::from_str(&escaped(s)).unwrap();
            assert_eq!(back, s);
            assert!(escaped(s).is_ascii());
        }
    }

    #[test]
    fn urls() {
        let credentials = GcsCredentials::hmac("GOOG1EXAMPLE", "c2VjcmV0").unwrap();
        let signer = GcsSigner::new(credentials, "my-bucket").unwrap();
        assert_eq!(signer.url(), "https://storage.googleapis.com/my-bucket/");
        let signer = signer.with_url_style(GcsUrlStyle::VirtualHosted).unwrap();
        assert_eq!(signer.url(), "https://my-bucket.storage.googleapis.com/");
        let signer = signer.with_scheme(Scheme::Http);
        assert_eq!(signer.url(), "http://my-bucket.storage.googleapis.com/");
        let signer = signer
            .with_url_style(GcsUrlStyle::BucketBound {
                hostname: "https://cdn.example.com:8443/".into(),
            })
            .unwrap();
        assert_eq!(signer.url(), "https://cdn.example.com:8443/");
        let local = signer
            .with_url_style(GcsUrlStyle::Path)
            .unwrap()
            .with_endpoint("http://127.0.0.1:9000")
            .unwrap();
        assert_eq!(local.url(), "http://127.0.0.1:9000/my-bucket/");
    }

    #[test]
    fn styles_parse_from_names() {
        let parse = |s, h| GcsUrlStyle::parse(s, h);
        assert_eq!(parse(None, None).unwrap().0, GcsUrlStyle::Path);
        assert_eq!(
            parse(Some("VIRTUAL_HOSTED_STYLE"), None).unwrap().0,
            GcsUrlStyle::VirtualHosted
        );
        let (style, scheme) = parse(None, Some("http://mydomain.tld")).unwrap();
        assert_eq!(
            style,
            GcsUrlStyle::BucketBound {
                hostname: "mydomain.tld".into()
            }
        );
        assert_eq!(scheme, Some(Scheme::Http));
        assert!(parse(Some("bucket-bound"), None).is_err());
        assert!(parse(Some("virtual-hosted"), Some("mydomain.tld")).is_err());
        assert!(parse(Some("sideways"), None).is_err());
        for bad in [
            "",
            "a b",
            "mydomain.tld/path",
            "ftp://x",
            "u:p@host",
            "host?q",
        ] {
            assert!(parse_hostname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my_bucket-1", "a.b.c", "0zz"] {
            assert!(check_gcs_bucket(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc_",
            "ABC",
            "a..b",
            "a b c",
            &"x".repeat(64),
        ] {
            let err = check_gcs_bucket(bad).unwrap_err().to_string();
            assert!(err.contains("GCS bucket name"), "{err}");
        }
    }
}
