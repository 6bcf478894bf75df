//! Every case of `tests/vectors/gcs-post-policy-v4.json`, Google's own
//! conformance suite for V4 POST policies (see `tests/vectors/README.md`):
//! `GcsSigner`, given the case's key, bucket, URL style, object name, fields
//! and conditions, produces byte for byte the URL, every form field (name and
//! value), the decoded policy and the `GOOG4-RSA-SHA256` signature.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use postpolicy::UrlScheme as Scheme;
use postpolicy::{
    Condition, Expiration, GcsCredentials, GcsSigner, GcsUrlStyle, Policy, ServiceAccountKey,
    SignOptions, SignatureError,
};
use serde_json::Value;

fn suite() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/gcs-post-policy-v4.json"
    );
    let text = std::fs::read_to_string(path).expect("vectors file");
    serde_json::from_str(&text).expect("vectors JSON")
}

fn key(suite: &Value) -> ServiceAccountKey {
    ServiceAccountKey::from_value(&suite["service_account"]).expect("the suite's key")
}

fn cases(suite: &Value) -> Vec<Value> {
    let cases = suite["postPolicyV4Tests"]
        .as_array()
        .expect("cases")
        .clone();
    assert_eq!(cases.len(), 11, "Google's suite has 11 POST policy cases");
    cases
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("missing `{name}` in {v}"))
}

fn signer(suite: &Value, input: &Value) -> GcsSigner {
    let signer = GcsSigner::new(key(suite).into(), text(input, "bucket")).unwrap();
    let style = match input["urlStyle"].as_str() {
        None | Some("PATH_STYLE") => GcsUrlStyle::Path,
        Some("VIRTUAL_HOSTED_STYLE") => GcsUrlStyle::VirtualHosted,
        Some("BUCKET_BOUND_HOSTNAME") => GcsUrlStyle::BucketBound {
            hostname: text(input, "bucketBoundHostname").to_owned(),
        },
        Some(other) => panic!("unknown url style {other}"),
    };
    let scheme: Scheme = text(input, "scheme").parse().unwrap();
    signer.with_url_style(style).unwrap().with_scheme(scheme)
}

/// The case's policy as a caller of Google's libraries writes it: its
/// conditions, then its exact fields in name order.
fn policy(input: &Value) -> Policy {
    let mut conditions = Vec::new();
    if let Some(given) = input["conditions"].as_object() {
        for (kind, args) in given {
            match kind.as_str() {
                "startsWith" => conditions.push(Condition::starts_with(
                    args[0].as_str().unwrap().trim_start_matches('$'),
                    args[1].as_str().unwrap(),
                )),
                "contentLengthRange" => conditions.push(Condition::content_length(
                    args[0].as_u64().unwrap(),
                    args[1].as_u64().unwrap(),
                )),
                other => panic!("unknown condition kind {other}"),
            }
        }
    }
    let fields: BTreeMap<&str, &str> = input["fields"]
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    for (name, value) in fields {
        conditions.push(Condition::eq(name, value));
    }
    let seconds = input["expiration"].as_u64().unwrap();
    Policy::new(Some(Expiration::In { seconds }), conditions)
}

fn timestamp(input: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text(input, "timestamp"))
        .unwrap()
        .with_timezone(&Utc)
}

/// `expectedDecodedPolicy` with its non-ASCII characters written as the
/// `policy` field carries them (`\uXXXX`, see the vectors' README).
fn as_sent(decoded: &str) -> String {
    let mut out = String::new();
    for c in decoded.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[test]
fn every_google_case_byte_for_byte() {
    let suite = suite();
    for case in cases(&suite) {
        let name = text(&case, "description");
        let input = &case["policyInput"];
        let output = &case["policyOutput"];
        let signer = signer(&suite, input);
        let options = SignOptions::default().key(text(input, "object"));
        let form = signer
            .sign_with(&policy(input), &options, timestamp(input))
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(form.url, text(output, "url"), "{name}: url");
        let expected: BTreeMap<&str, &str> = output["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
            .collect();
        let ours: BTreeMap<&str, &str> = form.fields.iter().collect();
        assert_eq!(ours.len(), form.fields.len(), "{name}: a field twice");
        assert_eq!(ours, expected, "{name}: fields");

        let decoded = base64::engine::general_purpose::STANDARD
            .decode(form.field("policy").unwrap())
            .unwrap();
        let decoded = String::from_utf8(decoded).unwrap();
        let expected_decoded = text(output, "expectedDecodedPolicy");
        assert_eq!(decoded, as_sent(expected_decoded), "{name}: decoded policy");
        assert_eq!(
            serde_json::from_str::<Value>(&decoded).unwrap(),
            serde_json::from_str::<Value>(expected_decoded).unwrap(),
            "{name}: the same JSON"
        );
        assert_eq!(
            form.field("x-goog-signature"),
            expected.get("x-goog-signature").copied(),
            "{name}: signature"
        );
        assert_eq!(
            (form.expires_at - timestamp(input)).num_seconds(),
            input["expiration"].as_i64().unwrap(),
            "{name}: expires_at"
        );
    }
}

#[test]
fn fields_come_in_googles_order() {
    let suite = suite();
    for case in cases(&suite) {
        let input = &case["policyInput"];
        let options = SignOptions::default().key(text(input, "object"));
        let form = signer(&suite, input)
            .sign_with(&policy(input), &options, timestamp(input))
            .unwrap();
        let names: Vec<&str> = form.fields.iter().map(|(n, _)| n).collect();
        let fixed = names.len() - 5;
        assert_eq!(names[0], "key");
        assert_eq!(
            names[fixed..],
            [
                "x-goog-algorithm",
                "x-goog-credential",
                "x-goog-date",
                "x-goog-signature",
                "policy"
            ]
        );
        let policy = policy(input);
        let user: Vec<&str> = policy
            .conditions
            .iter()
            .filter(|c| matches!(c, Condition::Eq { .. }))
            .map(|c| c.field().unwrap().written())
            .collect();
        assert_eq!(names[1..fixed], user[..]);
    }
}

#[test]
fn exact_json_signs_to_googles_signature() {
    let suite = suite();
    let signer = GcsSigner::new(key(&suite).into(), "any-bucket").unwrap();
    for case in cases(&suite) {
        let input = &case["policyInput"];
        let output = &case["policyOutput"];
        let json = as_sent(text(output, "expectedDecodedPolicy"));
        let form = signer.sign_json(&json, timestamp(input)).unwrap();
        assert_eq!(form.field("policy"), output["fields"]["policy"].as_str());
        assert_eq!(
            form.field("x-goog-signature"),
            output["fields"]["x-goog-signature"].as_str()
        );
        assert!(form.field("key").is_none(), "only the signature fields");
    }
}

#[test]
fn a_starts_with_condition_is_a_field_to_fill() {
    let suite = suite();
    let case = cases(&suite)
        .into_iter()
        .find(|c| c["description"] == "POST Policy ACL matching")
        .unwrap();
    let input = &case["policyInput"];
    let form = signer(&suite, input)
        .sign_with(
            &policy(input),
            &SignOptions::default().key(text(input, "object")),
            timestamp(input),
        )
        .unwrap();
    assert_eq!(form.fields_to_fill, ["acl"]);
}

fn hmac_signer() -> GcsSigner {
    let credentials = GcsCredentials::hmac(
        "GOOG1EXAMPLEACCESSID",
        "bGFrZS1zZWNyZXQtZm9yLWEtdGVzdC1vbmx5LTEyMzQ=",
    )
    .unwrap();
    GcsSigner::new(credentials, "uploads-bucket").unwrap()
}

#[test]
fn hmac_keys_sign_as_the_v4_process_says() {
    let policy = Policy::parse(
        "expires in 10m
         content-type starts-with image/
         content-length 1..1MiB
         success_action_status = 201",
    )
    .unwrap();
    let now = DateTime::parse_from_rfc3339("2026-03-04T05:06:07.890Z")
        .unwrap()
        .with_timezone(&Utc);
    let form = hmac_signer()
        .sign_with(
            &policy,
            &SignOptions::default().key("user/7/${filename}"),
            now,
        )
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(form.field("policy").unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        concat!(
            r#"{"conditions":[["starts-with","$content-type","image/"],"#,
            r#"["content-length-range",1,1048576],{"success_action_status":"201"},"#,
            r#"{"bucket":"uploads-bucket"},["starts-with","$key","user/7/"],"#,
            r#"{"x-goog-date":"20260304T050607Z"},"#,
            r#"{"x-goog-credential":"GOOG1EXAMPLEACCESSID/20260304/auto/storage/goog4_request"},"#,
            r#"{"x-goog-algorithm":"GOOG4-HMAC-SHA256"}],"#,
            r#""expiration":"2026-03-04T05:16:07Z"}"#
        )
    );
    assert_eq!(form.field("x-goog-algorithm"), Some("GOOG4-HMAC-SHA256"));
    assert_eq!(form.field("key"), Some("user/7/${filename}"));
    assert_eq!(form.fields_to_fill, ["content-type"]);
    // Computed with Python's hmac module along the documented key chain:
    // "GOOG4" + secret -> 20260304 -> auto -> storage -> goog4_request, then
    // HMAC-SHA256 of the base64 policy, lower-case hex.
    assert_eq!(
        form.field("x-goog-signature"),
        Some(HMAC_SIGNATURE),
        "policy {}",
        form.field("policy").unwrap()
    );
}

const HMAC_SIGNATURE: &str = "5b917d926912429cb31d13774db3d1f10ffa0db0b545b7ed27aa4212cd18886b";

#[test]
fn what_gcs_cannot_express_is_refused() {
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let signer = hmac_signer();
    let one_of = Policy::parse("key starts-with u/\ncontent-type in [image/png]").unwrap();
    let err = signer.sign(&one_of, now).unwrap_err();
    assert_eq!(
        err,
        SignatureError::UnsupportedCondition {
            index: 1,
            operator: "in",
            dialect: "GCS"
        }
    );
    assert!(err.to_string().contains("GCS does not support"), "{err}");
    let callback = SignOptions::default().callback("e30=", []);
    let err = signer
        .sign_with(&Policy::parse("key = a").unwrap(), &callback, now)
        .unwrap_err();
    assert!(err.to_string().contains("not supported by GCS"), "{err}");
    let long = Policy::parse("expires in 8d\nkey = a").unwrap();
    let err = signer.sign(&long, now).unwrap_err();
    assert!(err.to_string().contains("7 days"), "{err}");
    let week = Policy::parse("expires in 7d\nkey = a").unwrap();
    assert!(signer.sign(&week, now).is_ok());
    let other_bucket = Policy::parse("bucket = other-bucket\nkey = a").unwrap();
    let err = signer.sign(&other_bucket, now).unwrap_err();
    assert!(err.to_string().contains("uploads-bucket"), "{err}");
}

#[test]
fn no_secret_in_debug_or_errors() {
    let suite = suite();
    let pem = text(&suite["service_account"], "private_key");
    let signer = GcsSigner::new(key(&suite).into(), "a-bucket").unwrap();
    let debug = format!("{signer:?}");
    let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for line in &body {
        assert!(!debug.contains(line), "{debug}");
    }
    let hmac = format!("{:?}", hmac_signer());
    assert!(!hmac.contains("bGFrZS1zZWNyZXQ"), "{hmac}");
    // A key that fails to parse is not echoed in the error.
    let mut broken = suite["service_account"].clone();
    broken["private_key"] = Value::String(pem.replace(body[3], &body[3][..40]));
    let err = ServiceAccountKey::from_value(&broken)
        .unwrap_err()
        .to_string();
    for line in &body {
        assert!(!err.contains(&line[..20]), "{err}");
    }
}
