//! Every signature vector of `tests/vectors/oss-signatures.json` (computed with
//! the official SDKs) must match byte for byte.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use chrono::{DateTime, Utc};
use postpolicy::{Credentials, OssSigner, OssVersion, sign_v1, sign_v4};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/oss-signatures.json"
    );
    let text = std::fs::read_to_string(path).expect("vectors file");
    let doc: Value = serde_json::from_str(&text).expect("vectors JSON");
    let vectors = doc["vectors"].as_array().expect("vectors array").clone();
    assert!(vectors.len() >= 20, "expected the full vector set");
    vectors
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: missing {key}", v["id"]))
}

fn signature(v: &Value, secret: &str) -> String {
    match s(v, "signature_version") {
        "v1" => sign_v1(secret, s(v, "policy_b64")),
        "v4" => sign_v4(
            secret,
            s(v, "policy_b64"),
            s(v, "scope_date"),
            s(v, "signing_region"),
            s(v, "product"),
        )
        .expect("valid v4 inputs"),
        other => panic!("unknown version {other}"),
    }
}

#[test]
fn every_vector_signature_matches() {
    for v in vectors() {
        let id = s(&v, "id");
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(s(&v, "policy_json")),
            s(&v, "policy_b64"),
            "{id}: base64 of policy_json"
        );
        assert_eq!(
            signature(&v, s(&v, "access_key_secret")),
            s(&v, "signature"),
            "{id}"
        );
    }
}

#[test]
fn every_must_not_verify_signature_differs() {
    let mut checked = 0;
    for v in vectors() {
        let ours = signature(&v, s(&v, "access_key_secret"));
        for bad in v["must_not_verify"].as_array().expect("must_not_verify") {
            assert_ne!(ours, s(bad, "signature"), "{}: {}", v["id"], bad["reason"]);
            checked += 1;
        }
    }
    assert!(checked > 20);
}

#[test]
fn signing_the_same_text_yields_the_same_fields() {
    for v in vectors() {
        let id = s(&v, "id");
        let token = v["security_token"].as_str().map(str::to_owned);
        let creds = Credentials::new(s(&v, "access_key_id"), s(&v, "access_key_secret"), token)
            .expect("credentials");
        let (signer, now) = match s(&v, "signature_version") {
            "v1" => (
                OssSigner::new(creds, "cn-hangzhou", "examplebucket")
                    .expect("signer")
                    .with_version(OssVersion::V1),
                DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("time"),
            ),
            _ => {
                let now: DateTime<Utc> = s(&v, "request_datetime_utc").parse().expect("time");
                let signer = OssSigner::new(creds, s(&v, "region_configured"), "examplebucket")
                    .expect("signer");
                let signer = if s(&v, "product") == "oss-cloudbox" {
                    signer
                        .with_cloudbox(s(&v, "signing_region"))
                        .expect("cloudbox")
                } else {
                    signer
                };
                (signer, now)
            }
        };
        let form = signer.sign_json(s(&v, "policy_json"), now).expect("sign");
        let expected: Vec<(String, String)> = v["form_fields"]
            .as_object()
            .expect("form_fields")
            .iter()
            .map(|(k, val)| (k.clone(), val.as_str().expect("string").to_owned()))
            .collect();
        assert_eq!(form.fields, expected, "{id}");
    }
}

#[test]
fn region_with_oss_prefix_signs_the_same() {
    let a = sign_v4("secret", "cG9saWN5", "20240115", "oss-cn-hangzhou", "oss").expect("a");
    let b = sign_v4("secret", "cG9saWN5", "20240115", "cn-hangzhou", "oss").expect("b");
    assert_eq!(a, b);
}

#[test]
fn bad_low_level_inputs_are_typed_errors() {
    assert!(sign_v4("s", "p", "2024-01-15", "cn-hangzhou", "oss").is_err());
    assert!(sign_v4("s", "p", "20241315", "cn-hangzhou", "oss").is_err());
    assert!(sign_v4("s", "p", "20240115", "CN Hangzhou", "oss").is_err());
}
