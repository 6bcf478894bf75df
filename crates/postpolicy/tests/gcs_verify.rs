//! `GcsVerifier`: Google's own conformance forms are accepted at their
//! signing time; expired, tampered, uncovered or unsigned forms are refused
//! with GCS's answers; and (property) every form our signer makes is
//! accepted, while any changed byte of it is refused.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::{
    FileInfo, GcsCredentials, GcsSigner, GcsVerifier, Policy, ServiceAccountKey, SignOptions,
    SignedForm, Submission,
};
use proptest::prelude::*;
use serde_json::Value;

fn suite() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/gcs-post-policy-v4.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn account(suite: &Value) -> ServiceAccountKey {
    ServiceAccountKey::from_value(&suite["service_account"]).unwrap()
}

fn file(size: u64) -> Option<FileInfo> {
    Some(FileInfo {
        filename: "photo.png".into(),
        content_type: Some("image/png".into()),
        size: Some(size),
    })
}

/// Google's form for a case, filled as its policy asks, with a file.
fn google_form(case: &Value) -> (Submission, DateTime<Utc>, String) {
    let input = &case["policyInput"];
    let mut fields: Vec<(String, String)> = case["policyOutput"]["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    if input["conditions"]["startsWith"].is_array() {
        let field = input["conditions"]["startsWith"][0].as_str().unwrap();
        let prefix = input["conditions"]["startsWith"][1].as_str().unwrap();
        fields.push((
            field.trim_start_matches('$').into(),
            format!("{prefix}-read"),
        ));
    }
    let size = input["conditions"]["contentLengthRange"][0]
        .as_u64()
        .map_or(100, |min| min + 1);
    let now = DateTime::parse_from_rfc3339(input["timestamp"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let submission = Submission {
        fields,
        fields_after_file: Vec::new(),
        file: file(size),
    };
    (
        submission,
        now,
        input["bucket"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn googles_forms_are_accepted_when_fresh_and_refused_when_not() {
    let suite = suite();
    let key = account(&suite);
    for case in suite["postPolicyV4Tests"].as_array().unwrap() {
        let name = case["description"].as_str().unwrap();
        let (submission, now, bucket) = google_form(case);
        let verifier = GcsVerifier::new(&bucket, HashMap::new()).with_service_account(&key);
        let accepted = verifier
            .verify(&submission, now)
            .unwrap_or_else(|r| panic!("{name}: {r}"));
        assert_eq!(accepted.key, submission.field("key").unwrap(), "{name}");
        assert_eq!(
            accepted.access_key_id.as_deref(),
            Some(key.client_email()),
            "{name}"
        );
        let status = submission
            .field("success_action_status")
            .map_or(204, |s| s.parse().unwrap());
        assert_eq!(accepted.status, status, "{name}");
        assert_eq!(
            accepted.redirect.as_deref(),
            submission.field("success_action_redirect"),
            "{name}"
        );

        let late = verifier
            .verify(&submission, now + TimeDelta::seconds(10))
            .unwrap_err();
        assert_eq!(late.service_code, "AccessDenied", "{name}: {late}");
        assert!(late.reason.contains("expired"), "{name}: {late}");

        let mut tampered = submission.clone();
        for (n, v) in &mut tampered.fields {
            if n == "x-goog-signature" {
                let last = if v.ends_with('0') { "1" } else { "0" };
                v.replace_range(v.len() - 1.., last);
            }
        }
        let bad = verifier.verify(&tampered, now).unwrap_err();
        assert_eq!(
            (bad.status, bad.service_code),
            (403, "SignatureDoesNotMatch")
        );

        let other_bucket = GcsVerifier::new("another-bucket", HashMap::new())
            .with_service_account(&key)
            .verify(&submission, now)
            .unwrap_err();
        assert!(
            other_bucket.reason.contains("another-bucket"),
            "{other_bucket}"
        );
    }
}

#[test]
fn every_field_needs_a_condition_but_the_exempt_ones() {
    let suite = suite();
    let key = account(&suite);
    let case = &suite["postPolicyV4Tests"][0];
    let (submission, now, bucket) = google_form(case);
    let verifier = GcsVerifier::new(&bucket, HashMap::new()).with_service_account(&key);

    let mut extra = submission.clone();
    extra.fields.push(("submit".into(), "Upload".into()));
    let rejected = verifier.verify(&extra, now).unwrap_err();
    assert_eq!(
        (rejected.status, rejected.service_code),
        (400, "InvalidPolicyDocument")
    );
    assert!(
        rejected
            .message
            .ends_with("Policy did not reference these fields: submit"),
        "{}",
        rejected.message
    );
    assert!(rejected.reason.contains("x-ignore-"), "{}", rejected.reason);

    let mut ignored = submission.clone();
    ignored
        .fields
        .push(("x-ignore-submit".into(), "Upload".into()));
    assert!(verifier.verify(&ignored, now).is_ok());

    let mut no_policy = submission.clone();
    no_policy.fields.retain(|(n, _)| n != "policy");
    let rejected = verifier.verify(&no_policy, now).unwrap_err();
    assert_eq!(rejected.service_code, "InvalidPolicyDocument");
    assert!(
        rejected.message.ends_with("Missing policy"),
        "{}",
        rejected.message
    );

    let unknown = GcsVerifier::new(&bucket, HashMap::new())
        .verify(&submission, now)
        .unwrap_err();
    assert_eq!(
        (unknown.status, unknown.service_code),
        (403, "InvalidAccessKeyId")
    );

    let mut unsigned = submission.clone();
    unsigned
        .fields
        .retain(|(n, _)| !n.starts_with("x-goog") && n != "policy");
    let rejected = verifier.verify(&unsigned, now).unwrap_err();
    assert_eq!(
        (rejected.status, rejected.service_code),
        (403, "AccessDenied")
    );
}

#[test]
fn sizes_keys_and_explain() {
    let credentials = GcsCredentials::hmac("GOOG1EVERIFY", "dmVyaWZ5LXNlY3JldA==").unwrap();
    let verifier = GcsVerifier::for_credentials("photos", &credentials);
    let signer = GcsSigner::new(credentials, "photos").unwrap();
    let policy =
        Policy::parse("expires in 1h\ncontent-type starts-with image/\ncontent-length 10..1KiB")
            .unwrap();
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let form = signer
        .sign_with(
            &policy,
            &SignOptions::default().key("user/7/${filename}"),
            now,
        )
        .unwrap();
    let submit = |size: u64, content_type: &str| {
        let mut fields = form.fields.to_vec();
        fields.push(("Content-Type".into(), content_type.into()));
        Submission {
            fields,
            fields_after_file: Vec::new(),
            file: file(size),
        }
    };
    let form = submit(100, "image/png");
    let accepted = verifier.verify(&form, now).unwrap();
    // `${filename}` is expanded after the check, into the stored key.
    assert_eq!(accepted.key, "user/7/photo.png");
    assert_eq!(accepted.content_type.as_deref(), Some("image/png"));
    assert_eq!(
        (accepted.size_limit.min, accepted.size_limit.max),
        (10, 1024)
    );
    let big = verifier
        .verify(&submit(2000, "image/png"), now)
        .unwrap_err();
    assert_eq!((big.status, big.service_code), (400, "EntityTooLarge"));
    let small = verifier.verify(&submit(5, "image/png"), now).unwrap_err();
    assert_eq!(small.service_code, "EntityTooSmall");
    let wrong = verifier.verify(&submit(100, "text/html"), now).unwrap_err();
    assert!(wrong.reason.contains("text/html"), "{}", wrong.reason);
    assert_eq!(wrong.condition_index, Some(0));

    let all = verifier.explain(&policy, &submit(2000, "text/html"), now);
    let codes: Vec<&str> = all.iter().map(|r| r.service_code).collect();
    assert!(codes.contains(&"EntityTooLarge"), "{codes:?}");
    assert!(
        all.iter().any(|r| r.reason.contains("text/html")),
        "{all:?}"
    );
    // The policy as written has no x-goog-* or key conditions (the signer
    // adds them): explaining against it, only those fields are uncovered.
    let only_coverage = verifier.explain(&policy, &submit(100, "image/png"), now);
    assert_eq!(only_coverage.len(), 1, "{only_coverage:?}");
    assert_eq!(only_coverage[0].service_code, "InvalidPolicyDocument");
    assert!(
        only_coverage[0].message.contains("x-goog-date"),
        "{only_coverage:?}"
    );
    assert_eq!(
        verifier.key_id(&submit(1, "image/png")),
        Some("GOOG1EVERIFY")
    );
}

const ACCESS_ID: &str = "GOOG1EPROPVERIFY";
const SECRET: &str = "cHJvcC12ZXJpZnktc2VjcmV0";

fn prop_form(
    prefix: &str,
    meta: &str,
    lifetime: u64,
    now: DateTime<Utc>,
) -> (GcsVerifier, SignedForm, Submission) {
    let credentials = GcsCredentials::hmac(ACCESS_ID, SECRET).unwrap();
    let verifier = GcsVerifier::for_credentials("prop-bucket", &credentials);
    let signer = GcsSigner::new(credentials, "prop-bucket").unwrap();
    let policy = Policy::builder()
        .expires_in_seconds(lifetime)
        .content_type_prefix("image/")
        .size(1, 1 << 20)
        .metadata("x-goog-meta-note", meta)
        .build()
        .unwrap();
    let form = signer
        .sign_with(
            &policy,
            &SignOptions::default().key(format!("{prefix}${{filename}}")),
            now,
        )
        .unwrap();
    let mut fields = form.fields.to_vec();
    fields.push(("content-type".into(), "image/png".into()));
    let submission = Submission {
        fields,
        fields_after_file: Vec::new(),
        file: file(1000),
    };
    (verifier, form, submission)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn our_forms_verify_and_any_changed_byte_is_refused(
        prefix in "[a-z0-9]{1,8}/",
        meta in "\\PC{0,16}",
        lifetime in 60u64..604_800,
        seconds in 1_600_000_000i64..2_000_000_000,
        elapsed in 0u64..60,
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let now = DateTime::from_timestamp(seconds, 0).unwrap();
        let (verifier, form, submission) = prop_form(&prefix, &meta, lifetime, now);
        let later = now + TimeDelta::seconds(elapsed as i64);
        prop_assert!(verifier.verify(&submission, later).is_ok());

        // Change one signed byte of one field: the key template is signed
        // up to `${filename}` (its prefix), every other field whole.
        let index = which.index(form.fields.len());
        let fields = form.fields.to_vec();
        let (name, value) = &fields[index];
        let mut bytes = value.clone().into_bytes();
        let signed = if name == "key" { prefix.len() } else { bytes.len() };
        if signed == 0 {
            bytes.push(b'x');
        } else {
            let i = at.index(signed);
            bytes[i] ^= flip;
        }
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(&changed != value);
        let mut tampered = submission.clone();
        tampered.fields[index].1 = changed;
        let verdict = verifier.verify(&tampered, later);
        prop_assert!(verdict.is_err(), "changing {name} was accepted");
    }
}
