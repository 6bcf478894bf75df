//! S3's verification rules, where they differ from OSS's, through forms signed
//! by our own `S3Signer`: uncovered fields, `${filename}` expanded before the
//! key is checked, comma-separated Content-Type under `starts-with`,
//! intersecting size ranges, case-insensitive names, S3's error codes.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::{
    Credentials, Error, FileInfo, Policy, Rejected, S3Signer, S3Verifier, SignOptions,
    SignatureError, Submission,
};

const KEY_ID: &str = "GK31c2f218a2e44f485b94239e";
const SECRET: &str = "b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f9d769d67f16c3835";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn signer(token: Option<&str>) -> S3Signer {
    let credentials = Credentials::new(KEY_ID, SECRET, token.map(str::to_owned)).unwrap();
    S3Signer::new(credentials, "garage", "uploads")
        .unwrap()
        .with_endpoint("http://127.0.0.1:3900")
        .unwrap()
}

fn verifier() -> S3Verifier {
    let keys: HashMap<String, String> = HashMap::from([(KEY_ID.to_owned(), SECRET.to_owned())]);
    S3Verifier::new("uploads", "garage", keys)
}

/// Signs `dsl` (key template `key`) and builds the browser's submission:
/// the signed fields, then `fill` (fields the page fills), then the file.
fn submission(dsl: &str, key: &str, fill: &[(&str, &str)], size: u64) -> Submission {
    let policy = Policy::parse(dsl).unwrap();
    let form = signer(None)
        .sign_with(&policy, &SignOptions::default().key(key), now())
        .unwrap();
    let mut fields = form.fields.to_vec();
    fields.extend(fill.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
    Submission {
        fields,
        fields_after_file: Vec::new(),
        file: Some(FileInfo {
            filename: "cat.png".to_owned(),
            content_type: Some("image/png".to_owned()),
            size: Some(size),
        }),
    }
}

fn reject(sub: &Submission) -> Rejected {
    verifier().verify(sub, now()).unwrap_err()
}

fn set(sub: &mut Submission, name: &str, value: &str) {
    match sub
        .fields
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some((_, v)) => *v = value.to_owned(),
        None => sub.fields.push((name.to_owned(), value.to_owned())),
    }
}

#[test]
fn signed_form_is_accepted_with_its_outcome() {
    let sub = submission(
        "content-type = image/png\ncontent-length 1..1000\nsuccess_action_status = 201\nx-amz-meta-owner = 42",
        "user/7/${filename}",
        &[],
        10,
    );
    let ok = verifier().verify(&sub, now()).unwrap();
    assert_eq!(ok.key, "user/7/cat.png");
    assert_eq!(ok.status, 201);
    assert_eq!(ok.content_type.as_deref(), Some("image/png"));
    assert_eq!(ok.metadata, [("x-amz-meta-owner".into(), "42".into())]);
    assert_eq!(ok.size_limit.max, 1000);
    assert_eq!(ok.access_key_id.as_deref(), Some(KEY_ID));
}

#[test]
fn every_field_must_be_covered() {
    let mut sub = submission("content-length 1..1000", "a/${filename}", &[], 10);
    set(&mut sub, "x-amz-meta-extra", "1");
    let r = reject(&sub);
    assert_eq!((r.status, r.service_code), (403, "AccessDenied"));
    assert_eq!(
        r.message,
        "Invalid according to Policy: Extra input fields: x-amz-meta-extra"
    );
    assert_eq!(r.condition_index, None);
    assert!(r.reason.contains("`x-amz-meta-extra`"), "{}", r.reason);

    // x-ignore-* names, and fields after the file, are exempt.
    let mut sub = submission("content-length 1..1000", "a/${filename}", &[], 10);
    set(&mut sub, "X-Ignore-Tracking", "1");
    sub.fields_after_file.push(("whatever".into(), "1".into()));
    assert!(verifier().verify(&sub, now()).is_ok());
}

#[test]
fn filename_is_expanded_before_the_key_is_checked() {
    // S3 order: `${filename}` expands first, so the expanded key must match.
    let mut sub = submission("content-length 1..1000", "user/7/${filename}", &[], 10);
    sub.file.as_mut().unwrap().filename = "../x".into();
    assert!(verifier().verify(&sub, now()).is_ok());

    // An exact key condition on the template itself cannot hold after
    // expansion (OSS, which checks before expanding, would accept this).
    let policy = Policy::parse("key = user/7/${filename}").unwrap();
    let form = signer(None).sign(&policy, now()).unwrap();
    assert_eq!(form.field("key"), Some("user/7/${filename}"));
    let templated = Submission {
        fields: form.fields.to_vec(),
        fields_after_file: Vec::new(),
        file: sub.file.clone(),
    };
    let r = reject(&templated);
    assert_eq!(r.service_code, "AccessDenied");
    assert!(
        r.reason.contains("after ${filename} expansion"),
        "{}",
        r.reason
    );
}

#[test]
fn starts_with_on_a_content_type_list_holds_for_every_item() {
    let dsl = "content-type starts-with image/\ncontent-length 1..1000";
    let ok = submission(
        dsl,
        "a/${filename}",
        &[("Content-Type", "image/png,image/jpeg")],
        1,
    );
    assert!(verifier().verify(&ok, now()).is_ok());
    let bad = submission(
        dsl,
        "a/${filename}",
        &[("Content-Type", "image/png,text/html")],
        1,
    );
    let r = reject(&bad);
    assert_eq!(r.condition_index, Some(4));
    assert_eq!(
        r.message,
        "Invalid according to Policy: Policy Condition failed: [\"starts-with\", \"$content-type\", \"image/\"]"
    );
    assert!(r.reason.contains("`text/html`"), "{}", r.reason);
}

#[test]
fn size_ranges_intersect() {
    let dsl = "content-length 10..1000\ncontent-length 100..5000";
    let sub = |size| submission(dsl, "a/${filename}", &[], size);
    let form = sub(500);
    let ok = verifier().verify(&form, now()).unwrap();
    assert_eq!((ok.size_limit.min, ok.size_limit.max), (100, 1000));
    let small = reject(&sub(50));
    assert_eq!((small.status, small.service_code), (400, "EntityTooSmall"));
    assert_eq!(small.condition_index, Some(5));
    let large = reject(&sub(2000));
    assert_eq!(large.service_code, "EntityTooLarge");
    assert_eq!(large.condition_index, Some(4));
}

#[test]
fn names_are_case_insensitive_and_values_exact() {
    let dsl = "content-type = image/png\ncontent-length 1..1000";
    let mut sub = submission(dsl, "a/${filename}", &[], 1);
    for (name, _) in &mut sub.fields {
        if name == "Content-Type" {
            *name = "CONTENT-TYPE".into();
        }
    }
    assert!(verifier().verify(&sub, now()).is_ok());
    set(&mut sub, "content-type", "image/PNG");
    let r = reject(&sub);
    assert!(r.reason.contains("case-sensitive"), "{}", r.reason);

    let mut twice = submission(dsl, "a/${filename}", &[], 1);
    twice
        .fields
        .push(("content-type".into(), "image/png".into()));
    assert_eq!(reject(&twice).service_code, "InvalidArgument");
}

#[test]
fn missing_field_fails_its_condition() {
    let mut sub = submission("content-type = image/png", "a/${filename}", &[], 1);
    sub.fields.retain(|(n, _)| n != "Content-Type");
    let r = reject(&sub);
    assert_eq!(r.service_code, "AccessDenied");
    assert_eq!(r.condition_index, Some(4));
    assert!(r.reason.contains("no `content-type` field"), "{}", r.reason);
}

#[test]
fn credential_date_and_signature() {
    let sub = submission("content-length 1..1000", "a/${filename}", &[], 1);

    let mut bad = sub.clone();
    let sig = bad.field("x-amz-signature").unwrap().to_owned();
    let sig = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    set(&mut bad, "x-amz-signature", &sig);
    let r = reject(&bad);
    assert_eq!((r.status, r.service_code), (403, "SignatureDoesNotMatch"));

    let keys: HashMap<String, String> = HashMap::from([(KEY_ID.to_owned(), SECRET.to_owned())]);
    let elsewhere = S3Verifier::new("uploads", "us-east-1", keys);
    let r = elsewhere.verify(&sub, now()).unwrap_err();
    assert_eq!(
        (r.status, r.service_code),
        (400, "AuthorizationHeaderMalformed")
    );
    assert_eq!(
        r.message,
        "The authorization header is malformed; the region 'garage' is wrong; expecting 'us-east-1'"
    );

    let nobody = S3Verifier::new("uploads", "garage", HashMap::new());
    let r = nobody.verify(&sub, now()).unwrap_err();
    assert_eq!((r.status, r.service_code), (403, "InvalidAccessKeyId"));

    let expired = verifier()
        .verify(&sub, now() + TimeDelta::hours(2))
        .unwrap_err();
    assert_eq!(
        expired.message,
        "Invalid according to Policy: Policy expired."
    );

    // Garage's 24-hour limit on x-amz-date, on request.
    let long = submission("expires in 3d", "a/${filename}", &[], 1);
    let later = now() + TimeDelta::hours(25);
    assert!(verifier().verify(&long, later).is_ok());
    let garage_like = verifier()
        .with_max_date_age(Some(TimeDelta::hours(24)))
        .unwrap();
    assert_eq!(
        garage_like.verify(&long, later).unwrap_err().service_code,
        "AccessDenied"
    );

    let mut no_policy = sub.clone();
    no_policy.fields.retain(|(n, _)| n != "policy");
    let r = reject(&no_policy);
    assert_eq!(r.service_code, "InvalidArgument");
    assert!(r.message.contains("'policy'"), "{}", r.message);

    let mut anonymous = sub.clone();
    anonymous
        .fields
        .retain(|(n, _)| !n.starts_with("x-amz-") && n != "policy");
    assert_eq!(reject(&anonymous).service_code, "AccessDenied");
}

#[test]
fn sts_token_is_pinned() {
    let policy = Policy::parse("content-length 1..1000").unwrap();
    let form = signer(Some("TOKEN/123"))
        .sign_with(&policy, &SignOptions::default().key("k"), now())
        .unwrap();
    assert_eq!(form.field("x-amz-security-token"), Some("TOKEN/123"));
    let decoded = Policy::from_base64(form.field("policy").unwrap()).unwrap();
    assert!(
        decoded
            .to_json(now())
            .unwrap()
            .contains(r#"{"x-amz-security-token":"TOKEN/123"}"#)
    );
    let mut sub = Submission {
        fields: form.fields.to_vec(),
        fields_after_file: Vec::new(),
        file: Some(FileInfo {
            filename: "f".into(),
            content_type: None,
            size: Some(1),
        }),
    };
    assert!(verifier().verify(&sub, now()).is_ok());
    set(&mut sub, "x-amz-security-token", "TOKEN/456");
    assert_eq!(reject(&sub).service_code, "AccessDenied");
}

#[test]
fn fields_and_conditions_never_drift_apart() {
    let policy = Policy::parse(
        "content-type = image/png\nsuccess_action_status = 201\nx-amz-meta-owner = \"42\"\ncache-control = no-cache\nkey starts-with u/",
    )
    .unwrap();
    let form = signer(None).sign(&policy, now()).unwrap();
    let decoded = Policy::from_base64(form.field("policy").unwrap()).unwrap();
    // Every exact condition (bucket aside) yields its field, with its value.
    for condition in &decoded.conditions {
        if let postpolicy::Condition::Eq { field, value } = condition
            && !field.is("bucket")
        {
            assert_eq!(form.field(field.name()), Some(value.as_str()), "{field}");
        }
    }
    // Every fixed field (policy and signature aside) is an exact condition.
    for (name, value) in &form.fields {
        if name == "policy" || name == "x-amz-signature" {
            continue;
        }
        assert!(
            decoded.conditions.iter().any(|c| matches!(c,
                postpolicy::Condition::Eq { field, value: v } if field.is(name) && v == value)),
            "{name}"
        );
    }
    assert_eq!(form.fields_to_fill, ["key"]);
}

#[test]
fn oss_only_conditions_and_callbacks_are_refused() {
    let policy = Policy::parse("content-type not-in [text/html]").unwrap();
    let err = signer(None).sign(&policy, now()).unwrap_err();
    assert!(matches!(
        err,
        SignatureError::UnsupportedCondition {
            index: 0,
            operator: "not-in",
            dialect: "S3"
        }
    ));
    assert_eq!(Error::from(err).code(), "SIGNING_INVALID");

    let options = SignOptions::default().callback("e30=", Vec::new());
    let err = signer(None)
        .sign_with(&Policy::default(), &options, now())
        .unwrap_err();
    assert_eq!(err.to_string(), "upload callbacks are not supported by S3");
}

#[test]
fn explain_lists_every_failure() {
    let policy =
        Policy::parse("key starts-with a/\ncontent-type = image/png\ncontent-length 10..20")
            .unwrap();
    let sub = Submission {
        fields: vec![
            ("key".into(), "b/x".into()),
            ("x-amz-meta-z".into(), "1".into()),
        ],
        fields_after_file: Vec::new(),
        file: Some(FileInfo {
            filename: "x".into(),
            content_type: None,
            size: Some(5),
        }),
    };
    let failures = verifier().explain(&policy, &sub, now());
    let codes: Vec<_> = failures
        .iter()
        .map(|r| (r.service_code, r.condition_index))
        .collect();
    assert_eq!(
        codes,
        [
            ("AccessDenied", Some(0)),
            ("AccessDenied", Some(1)),
            ("AccessDenied", None),
            ("EntityTooSmall", Some(2)),
        ]
    );
}

#[test]
fn signature_version_2_forms_are_refused() {
    let sub = Submission {
        fields: vec![
            ("key".into(), "a".into()),
            ("AWSAccessKeyId".into(), KEY_ID.into()),
            ("policy".into(), "e30=".into()),
            ("signature".into(), "abc=".into()),
        ],
        fields_after_file: Vec::new(),
        file: Some(FileInfo::default()),
    };
    let r = reject(&sub);
    assert_eq!(r.service_code, "InvalidArgument");
    assert!(r.reason.contains("Signature Version 2"), "{}", r.reason);
}
