//! Every vector of `tests/vectors/s3-signatures.json` (computed with boto3 and
//! the AWS SDK for JavaScript, see `tests/vectors/README-s3.md`):
//! - the signature of the SDK's policy matches byte for byte (`sign_s3_v4` and
//!   `S3Signer::sign_json`, which also reproduces the `x-amz-*` fields);
//! - our `S3Signer`, given the same key and user conditions, produces the same
//!   conditions, expiration and form fields (the policy text differs only in
//!   JSON spacing and condition order);
//! - our `S3Verifier` accepts the SDK's form at the signing time, and rejects
//!   it once the policy has expired or with a wrong signature.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::{
    Condition, Credentials, FileInfo, Policy, S3Signer, S3Verifier, SignOptions, Submission,
    sign_s3_v4,
};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/s3-signatures.json"
    );
    let text = std::fs::read_to_string(path).expect("vectors file");
    let doc: Value = serde_json::from_str(&text).expect("vectors JSON");
    let vectors = doc["vectors"].as_array().expect("vectors array").clone();
    assert_eq!(doc["count"].as_u64(), Some(vectors.len() as u64));
    assert!(vectors.len() >= 20, "expected the full vector set");
    vectors
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: missing {key}", v["id"]))
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s(&v["inputs"], "time"))
        .unwrap()
        .with_timezone(&Utc)
}

fn signer(v: &Value) -> S3Signer {
    let i = &v["inputs"];
    let credentials = Credentials::new(
        s(i, "access_key_id"),
        s(i, "secret_access_key"),
        i["session_token"].as_str().map(str::to_owned),
    )
    .unwrap();
    let signer = S3Signer::new(credentials, s(i, "region"), s(i, "bucket")).unwrap();
    match i["endpoint_url"].as_str() {
        Some(endpoint) => signer
            .with_endpoint(endpoint)
            .unwrap()
            .with_path_style(true),
        None => signer,
    }
}

/// The SDK's form fields, lower-case names.
fn sdk_fields(v: &Value) -> HashMap<String, String> {
    v["outputs"]["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap().to_owned()))
        .collect()
}

const SIGNER_OWNED: [&str; 5] = [
    "bucket",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-security-token",
];

#[test]
fn every_vector_signature_matches() {
    for v in vectors() {
        let id = s(&v, "id");
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(s(&v, "policy_json")),
            s(&v, "policy_b64"),
            "{id}: base64 of policy_json"
        );
        let i = &v["inputs"];
        let signature = sign_s3_v4(
            s(i, "secret_access_key"),
            s(&v, "policy_b64"),
            s(&v, "scope_date"),
            s(i, "region"),
        )
        .unwrap();
        assert_eq!(signature, s(&v["outputs"], "signature"), "{id}");
    }
}

#[test]
fn sign_json_reproduces_the_sdk_auth_fields() {
    for v in vectors() {
        let id = s(&v, "id");
        let form = signer(&v)
            .sign_json(s(&v, "policy_json"), time(&v))
            .unwrap();
        let sdk = sdk_fields(&v);
        for (name, value) in &form.fields {
            assert_eq!(
                sdk.get(&name.to_ascii_lowercase()).map(String::as_str),
                Some(value),
                "{id}: field {name}"
            );
        }
        assert_eq!(
            form.fields.len(),
            5 + usize::from(sdk.contains_key("x-amz-security-token"))
        );
    }
}

#[test]
fn our_signer_agrees_with_the_sdks() {
    for v in vectors() {
        let id = s(&v, "id");
        let i = &v["inputs"];
        let key = s(i, "key");
        let sdk_policy = Policy::from_json(s(&v, "policy_json")).unwrap();
        let key_condition = match key.strip_suffix("${filename}") {
            Some(prefix) => Condition::starts_with("key", prefix),
            None => Condition::eq("key", key),
        };
        // The user's part of the SDK policy: what our signer is handed.
        let user = Policy::new(
            sdk_policy.expiration,
            sdk_policy
                .conditions
                .iter()
                .filter(|c| {
                    **c != key_condition
                        && !c
                            .field()
                            .is_some_and(|f| SIGNER_OWNED.iter().any(|n| f.is(n)))
                })
                .cloned()
                .collect(),
        );
        let now = time(&v);
        let form = signer(&v)
            .sign_with(&user, &SignOptions::default().key(key), now)
            .unwrap();
        let ours = Policy::from_base64(form.field("policy").unwrap()).unwrap();

        // Same expiration, same conditions (as a multiset).
        assert_eq!(ours.expires_at(now), sdk_policy.expires_at(now), "{id}");
        let mut a = ours.conditions.clone();
        let mut b = sdk_policy.conditions.clone();
        let by_text = |c: &Condition| c.to_string().to_ascii_lowercase();
        a.sort_by_key(by_text);
        b.sort_by_key(by_text);
        assert_eq!(a, b, "{id}: conditions");

        // Same fields, apart from the policy text and its signature (and the
        // JavaScript SDK's `bucket` field, which S3 does not need).
        let mut sdk = sdk_fields(&v);
        sdk.remove("bucket");
        sdk.remove("policy");
        sdk.remove("x-amz-signature");
        let mut mine: HashMap<String, String> = form
            .fields
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        mine.remove("policy");
        mine.remove("x-amz-signature");
        assert_eq!(mine, sdk, "{id}: fields");

        // The JavaScript SDK resolves the regional URL, as we do; boto3 uses
        // the global endpoint unless given one.
        if s(&v, "sdk").starts_with("@aws-sdk") || !i["endpoint_url"].is_null() {
            assert_eq!(form.url, s(&v["outputs"], "url"), "{id}: url");
        }
    }
}

/// The SDK's form as a browser would send it: its fields, a value for every
/// field the page must fill (`starts-with`), and a file in range.
fn submission(v: &Value) -> Submission {
    let policy = Policy::from_json(s(v, "policy_json")).unwrap();
    let mut fields: Vec<(String, String)> = v["outputs"]["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let mut size = 1;
    for condition in &policy.conditions {
        match condition {
            Condition::StartsWith { field, prefix } => {
                let present = fields.iter().any(|(n, _)| field.is(n));
                if !present {
                    fields.push((field.written().to_owned(), format!("{prefix}x")));
                }
            }
            Condition::ContentLengthRange(range) => size = size.max(range.min),
            _ => {}
        }
    }
    fields.push(("x-ignore-tracking".to_owned(), "anything".to_owned()));
    Submission {
        fields,
        fields_after_file: Vec::new(),
        file: Some(FileInfo {
            filename: "photo.png".to_owned(),
            content_type: Some("image/png".to_owned()),
            size: Some(size),
        }),
    }
}

fn verifier(v: &Value) -> S3Verifier {
    let i = &v["inputs"];
    let keys: HashMap<String, String> = HashMap::from([(
        s(i, "access_key_id").to_owned(),
        s(i, "secret_access_key").to_owned(),
    )]);
    S3Verifier::new(s(i, "bucket"), s(i, "region"), keys)
}

#[test]
fn our_verifier_accepts_the_sdk_forms() {
    for v in vectors() {
        let id = s(&v, "id");
        let sub = submission(&v);
        let now = time(&v) + TimeDelta::seconds(1);
        let accepted = verifier(&v)
            .verify(&sub, now)
            .unwrap_or_else(|r| panic!("{id}: {r} / {}", r.message));
        let key = s(&v["inputs"], "key").replace("${filename}", "photo.png");
        assert_eq!(accepted.key, key, "{id}");
        assert_eq!(
            accepted.access_key_id.as_deref(),
            Some(s(&v["inputs"], "access_key_id"))
        );

        // Expired.
        let late = time(&v)
            + TimeDelta::seconds(v["inputs"]["expires_in"].as_i64().unwrap())
            + TimeDelta::seconds(1);
        let r = verifier(&v).verify(&sub, late).unwrap_err();
        assert_eq!(r.service_code, "AccessDenied", "{id}");
        assert_eq!(r.message, "Invalid according to Policy: Policy expired.");

        // A flipped signature digit.
        let mut bad = sub.clone();
        for (name, value) in &mut bad.fields {
            if name.eq_ignore_ascii_case("x-amz-signature") {
                let flipped = if value.starts_with('0') { "1" } else { "0" };
                value.replace_range(..1, flipped);
            }
        }
        let r = verifier(&v).verify(&bad, now).unwrap_err();
        assert_eq!(r.service_code, "SignatureDoesNotMatch", "{id}");

        // An uncovered field.
        let mut extra = sub.clone();
        extra
            .fields
            .insert(0, ("x-amz-meta-sneaky".to_owned(), "1".to_owned()));
        let r = verifier(&v).verify(&extra, now).unwrap_err();
        assert_eq!(
            r.message, "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky",
            "{id}"
        );
    }
}
