//! Upload forms for the verifier targets, in two shapes chosen by the first
//! byte of the input:
//!
//! - **Records** (first byte below 0x80): a 13-byte header, then text with one
//!   form field per line, `name=value` (split at the first `=`). The first
//!   `file` record is the file part (`filename` or `filename|content-type`);
//!   records after it are the fields after the file. With the header's
//!   re-sign bit, a `policy-json` record becomes the `policy` field (its
//!   base64), and the signature fields are recomputed with the secret of the
//!   access key the form names, so mutated policies still reach the checks
//!   behind the signature. The seed corpus (`fuzz/seeds/verify_*`) is the
//!   conformance cases and signature vectors written this way.
//! - **Built** (first byte 0x80 or above): the rest is decoded with
//!   `arbitrary` into a policy, signer options and edits; the policy is signed
//!   with [`FUZZ_KEY_ID`] at [`SIGNED_AT`], and the edits insert, remove or
//!   change fields (values may be drawn from the signed policy's conditions,
//!   so conditions hold often enough to get past them).
//!
//! Header of the records shape (little-endian):
//!
//! | bytes | meaning |
//! |---|---|
//! | 0 | flags: bit 0 re-sign, bit 1 the file size is known |
//! | 1..5 | `now`: seconds after 2020-01-01T00:00:00Z |
//! | 5..13 | the file size |

use std::collections::HashMap;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::callback::CallbackSpec;
use postpolicy::{
    Condition, Credentials, Expiration, FileInfo, OssSigner, OssVersion, Policy, Rejected,
    S3Signer, SignOptions, SignedForm, Submission, sign_s3_v4, sign_v1, sign_v4,
};

use crate::at;

/// The access key the built shape signs with.
pub const FUZZ_KEY_ID: &str = "LTAI5tFuzzKey0000000001";
const FUZZ_SECRET: &str = "FuzzSecretQ3w5e7r9t1y3u5i7o9p1a3s5";
/// The bucket and regions every verifier target serves (the conformance
/// cases' and the S3 vectors').
pub const BUCKET: &str = "examplebucket";
pub const OSS_REGION: &str = "cn-hangzhou";
pub const S3_REGION: &str = "us-east-1";
/// When the built shape signs: 2026-11-21T12:00:00Z.
pub const SIGNED_AT: i64 = 1_795_262_400;
/// The records header's origin of time: 2020-01-01T00:00:00Z.
pub const NOW_ORIGIN: i64 = 1_577_836_800;
/// Length of the records header.
pub const HEADER_LEN: usize = 13;

/// Which service's form this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Oss,
    S3,
}

/// A decoded input: the form and the verifier's clock.
#[derive(Debug)]
pub struct Case {
    pub submission: Submission,
    pub now: DateTime<Utc>,
}

/// Every access key a verifier target knows: the conformance cases' keys,
/// the S3 vectors' keys and [`FUZZ_KEY_ID`].
pub fn keys() -> &'static HashMap<String, String> {
    static KEYS: OnceLock<HashMap<String, String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = HashMap::new();
        keys.insert(FUZZ_KEY_ID.to_owned(), FUZZ_SECRET.to_owned());
        let conformance: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/conformance/oss-verify.json"))
                .unwrap_or_default();
        for case in conformance["cases"].as_array().into_iter().flatten() {
            for (id, secret) in case["keys"].as_object().into_iter().flatten() {
                if let Some(secret) = secret.as_str() {
                    keys.insert(id.clone(), secret.to_owned());
                }
            }
        }
        let s3: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/s3-signatures.json"))
                .unwrap_or_default();
        for vector in s3["vectors"].as_array().into_iter().flatten() {
            let inputs = &vector["inputs"];
            if let (Some(id), Some(secret)) = (
                inputs["access_key_id"].as_str(),
                inputs["secret_access_key"].as_str(),
            ) {
                keys.insert(id.to_owned(), secret.to_owned());
            }
        }
        keys
    })
}

/// The secret of `id`, as the verifiers' key store answers.
pub fn secret(id: &str) -> Option<String> {
    keys().get(id).cloned()
}

impl Case {
    /// Decodes an input in either shape; `None` when it is too short.
    pub fn decode(data: &[u8], dialect: Dialect) -> Option<Case> {
        match data.first() {
            Some(mode) if *mode >= 0x80 => {
                let u = Unstructured::new(data.get(1..)?);
                Built::arbitrary_take_rest(u).ok()?.build(dialect)
            }
            Some(_) => Some(records(data, dialect)),
            None => None,
        }
    }
}

fn records(data: &[u8], dialect: Dialect) -> Case {
    let mut header = [0u8; HEADER_LEN];
    for (slot, byte) in header.iter_mut().zip(data) {
        *slot = *byte;
    }
    let [flags, n0, n1, n2, n3, s0, s1, s2, s3, s4, s5, s6, s7] = header;
    let resign = flags & 1 != 0;
    let now = at(NOW_ORIGIN + i64::from(u32::from_le_bytes([n0, n1, n2, n3])));
    let size = (flags & 2 != 0).then(|| u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]));
    let text = String::from_utf8_lossy(data.get(HEADER_LEN..).unwrap_or_default());
    let mut submission = Submission::default();
    for line in text.split('\n') {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        let (name, value) = if resign && name == "policy-json" {
            ("policy".to_owned(), STANDARD.encode(value))
        } else {
            (name.to_owned(), value.to_owned())
        };
        if submission.file.is_none() && name.eq_ignore_ascii_case("file") {
            let (filename, content_type) = match value.split_once('|') {
                Some((f, t)) => (f.to_owned(), Some(t.to_owned())),
                None => (value, None),
            };
            submission.file = Some(FileInfo {
                filename,
                content_type,
                size,
            });
        } else if submission.file.is_some() {
            submission.fields_after_file.push((name, value));
        } else {
            submission.fields.push((name, value));
        }
    }
    if resign {
        resign_fields(&mut submission.fields, dialect);
    }
    Case { submission, now }
}

/// Recomputes the signature fields of `fields` over its `policy` with the
/// secret of the access key the form names (when it is known).
fn resign_fields(fields: &mut Vec<(String, String)>, dialect: Dialect) {
    let get = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let Some(policy) = get(fields, "policy") else {
        return;
    };
    let signature = match dialect {
        Dialect::Oss if get(fields, "x-oss-signature-version").is_some() => {
            get(fields, "x-oss-credential").and_then(|credential| {
                let [id, date, region, product, _] = scope(&credential)?;
                let sig = sign_v4(&secret(id)?, &policy, date, region, product).ok()?;
                Some(("x-oss-signature", sig))
            })
        }
        Dialect::Oss => get(fields, "OSSAccessKeyId")
            .and_then(|id| Some(("Signature", sign_v1(&secret(&id)?, &policy)))),
        Dialect::S3 => get(fields, "x-amz-credential").and_then(|credential| {
            let [id, date, region, _, _] = scope(&credential)?;
            let sig = sign_s3_v4(&secret(id)?, &policy, date, region).ok()?;
            Some(("x-amz-signature", sig))
        }),
    };
    if let Some((name, value)) = signature {
        set_field(fields, name, value);
    }
}

fn scope(credential: &str) -> Option<[&str; 5]> {
    let mut parts = credential.split('/');
    let scope = [
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    ];
    parts.next().is_none().then_some(scope)
}

/// Sets the first field named `name` (case-insensitive), or appends it.
fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: String) {
    match fields
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(field) => field.1 = value,
        None => fields.push((name.to_owned(), value)),
    }
}

/// Field names the verifiers read, so that arbitrary forms name them often.
const NAMES: &[&str] = &[
    "key",
    "policy",
    "OSSAccessKeyId",
    "Signature",
    "x-oss-signature-version",
    "x-oss-credential",
    "x-oss-date",
    "x-oss-signature",
    "x-oss-security-token",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-signature",
    "x-amz-security-token",
    "success_action_status",
    "success_action_redirect",
    "Content-Type",
    "x-oss-content-type",
    "Cache-Control",
    "Content-Disposition",
    "x-oss-meta-owner",
    "x-amz-meta-owner",
    "x-ignore-note",
    "bucket",
    "callback",
    "x:uid",
    "file",
    "Content-Length",
];

/// A field name: usually a known one (in some letter case), else any text.
#[derive(Debug)]
struct Name(String);

impl<'a> Arbitrary<'a> for Name {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        if u.ratio(3u8, 4u8)? {
            let name = *u.choose(NAMES)?;
            Ok(Name(match u.int_in_range(0u8..=3)? {
                0 => name.to_ascii_uppercase(),
                1 => format!("${name}"),
                _ => name.to_owned(),
            }))
        } else {
            Ok(Name(String::arbitrary(u)?))
        }
    }
}

#[derive(Arbitrary, Debug)]
enum CondIn {
    Eq(Name, String),
    StartsWith(Name, String),
    In(Name, Vec<String>),
    NotIn(Name, Vec<String>),
    Range(u64, u64),
}

impl CondIn {
    fn condition(&self) -> Condition {
        match self {
            CondIn::Eq(n, v) => Condition::eq(&n.0, v.clone()),
            CondIn::StartsWith(n, v) => Condition::starts_with(&n.0, v.clone()),
            CondIn::In(n, v) => Condition::one_of(&n.0, v.clone()),
            CondIn::NotIn(n, v) => Condition::none_of(&n.0, v.clone()),
            CondIn::Range(a, b) => Condition::content_length(*a, *b),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum ExpiresIn {
    Default,
    In(u32),
    /// Seconds from [`SIGNED_AT`].
    At(i32),
}

#[derive(Arbitrary, Debug)]
enum ValueIn {
    Any(String),
    /// A value drawn from condition `condition` of the signed policy: its
    /// exact value, its prefix + `suffix`, or its list item `item`.
    Satisfy {
        condition: u8,
        item: u8,
        suffix: String,
    },
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Insert {
        at: u8,
        name: Name,
        value: ValueIn,
    },
    /// A field that satisfies condition `condition`, named as it names it.
    Fill {
        at: u8,
        condition: u8,
        item: u8,
        suffix: String,
    },
    Remove {
        at: u8,
    },
    SetValue {
        at: u8,
        value: ValueIn,
    },
}

#[derive(Arbitrary, Debug)]
struct FileIn {
    /// 0: the form has no file part (rare: most checks come after that one).
    present: u8,
    filename: String,
    content_type: Option<String>,
    size: Option<u64>,
}

#[derive(Arbitrary, Debug)]
struct Built {
    conditions: Vec<CondIn>,
    expires: ExpiresIn,
    v4: bool,
    security_token: Option<String>,
    key: Option<String>,
    callback: Option<(String, String, Vec<(String, String)>)>,
    /// Seconds from [`SIGNED_AT`] to the verifier's clock.
    now_offset: i32,
    file: FileIn,
    after: Vec<(Name, String)>,
    edits: Vec<Edit>,
}

impl Built {
    fn build(self, dialect: Dialect) -> Option<Case> {
        let signed_at = at(SIGNED_AT);
        let expiration = match self.expires {
            ExpiresIn::Default => None,
            ExpiresIn::In(seconds) => Some(Expiration::In {
                seconds: u64::from(seconds),
            }),
            ExpiresIn::At(offset) => Some(Expiration::At(
                signed_at + TimeDelta::seconds(i64::from(offset)),
            )),
        };
        let policy = Policy::new(
            expiration,
            self.conditions.iter().map(CondIn::condition).collect(),
        );
        let mut options = SignOptions::default();
        if let Some(key) = self.key {
            options = options.key(key);
        }
        if let Some((url, body, vars)) = self.callback {
            let spec = CallbackSpec::new(url, body).with_vars(vars);
            if let Ok(fields) = spec.to_fields() {
                options = options.callback_fields(fields);
            }
        }
        let credentials = Credentials::new(FUZZ_KEY_ID, FUZZ_SECRET, self.security_token).ok()?;
        let signed: Option<SignedForm> = match dialect {
            Dialect::Oss => {
                let version = if self.v4 {
                    OssVersion::V4
                } else {
                    OssVersion::V1
                };
                OssSigner::new(credentials, OSS_REGION, BUCKET)
                    .ok()?
                    .with_version(version)
                    .sign_with(&policy, &options, signed_at)
                    .ok()
            }
            Dialect::S3 => S3Signer::new(credentials, S3_REGION, BUCKET)
                .ok()?
                .sign_with(&policy, &options, signed_at)
                .ok(),
        };
        let mut fields = signed.map(|form| form.fields.to_vec()).unwrap_or_default();
        // The conditions as signed (the signer's own first), to draw values from.
        let signed_conditions = fields
            .iter()
            .find(|(n, _)| n == "policy")
            .and_then(|(_, p)| Policy::from_base64(p).ok())
            .map(|p| p.conditions)
            .unwrap_or_else(|| policy.conditions.clone());
        for edit in self.edits {
            apply(&mut fields, edit, &signed_conditions);
        }
        let file = (self.file.present != 0).then_some(FileInfo {
            filename: self.file.filename,
            content_type: self.file.content_type,
            size: self.file.size,
        });
        Some(Case {
            submission: Submission {
                fields,
                fields_after_file: self.after.into_iter().map(|(n, v)| (n.0, v)).collect(),
                file,
            },
            now: signed_at + TimeDelta::seconds(i64::from(self.now_offset)),
        })
    }
}

fn apply(fields: &mut Vec<(String, String)>, edit: Edit, conditions: &[Condition]) {
    let index = |at: u8, len: usize| usize::from(at) % len.max(1);
    match edit {
        Edit::Insert { at, name, value } => {
            let value = resolve(value, conditions);
            let at = usize::from(at) % (fields.len() + 1);
            fields.insert(at, (name.0, value));
        }
        Edit::Fill {
            at,
            condition,
            item,
            suffix,
        } => {
            let Some(c) = pick(conditions, condition) else {
                return;
            };
            let Some(field) = c.field() else {
                return;
            };
            let value = satisfying(c, item, suffix);
            let at = usize::from(at) % (fields.len() + 1);
            fields.insert(at, (field.written().to_owned(), value));
        }
        Edit::Remove { at } => {
            if !fields.is_empty() {
                fields.remove(index(at, fields.len()));
            }
        }
        Edit::SetValue { at, value } => {
            let value = resolve(value, conditions);
            let len = fields.len();
            if let Some(field) = fields.get_mut(index(at, len)) {
                field.1 = value;
            }
        }
    }
}

fn pick(conditions: &[Condition], index: u8) -> Option<&Condition> {
    if conditions.is_empty() {
        return None;
    }
    conditions.get(usize::from(index) % conditions.len())
}

fn resolve(value: ValueIn, conditions: &[Condition]) -> String {
    match value {
        ValueIn::Any(s) => s,
        ValueIn::Satisfy {
            condition,
            item,
            suffix,
        } => match pick(conditions, condition) {
            Some(c) => satisfying(c, item, suffix),
            None => suffix,
        },
    }
}

/// A value meant to satisfy `condition` (or, for `not-in`, to probe it).
fn satisfying(condition: &Condition, item: u8, suffix: String) -> String {
    match condition {
        Condition::Eq { value, .. } => value.clone(),
        Condition::StartsWith { prefix, .. } => format!("{prefix}{suffix}"),
        Condition::In { values, .. } | Condition::NotIn { values, .. } if !values.is_empty() => {
            values
                .get(usize::from(item) % values.len())
                .cloned()
                .unwrap_or(suffix)
        }
        _ => suffix,
    }
}

/// What every rejection must be: an OSS/S3 status and code, a message and a
/// reason, renderable, and without a secret the input did not itself carry
/// (`input`: the fuzz input; rejections echo what was sent).
pub fn check_rejection(r: &Rejected, input: &[u8]) {
    assert!(matches!(r.status, 400 | 403), "{r:?}");
    assert!(
        !r.service_code.is_empty() && !r.message.is_empty() && !r.reason.is_empty(),
        "{r:?}"
    );
    let sent = String::from_utf8_lossy(input);
    for secret in keys().values().filter(|s| !sent.contains(s.as_str())) {
        assert!(
            !r.message.contains(secret.as_str()) && !r.reason.contains(secret.as_str()),
            "a secret in a rejection: {r:?}"
        );
    }
    let _ = r.to_string();
}
