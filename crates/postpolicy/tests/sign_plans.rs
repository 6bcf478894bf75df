//! A sign plan is only a way of doing less work: for every policy, options
//! and signer, `sign_planned` gives exactly the form (or the error) that
//! `sign_with` gives, also with a plan made by another kind of signer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use postpolicy::{
    Condition, Credentials, OssSigner, OssVersion, Policy, S3Signer, SignOptions, SignatureError,
    SignedForm,
};
use proptest::prelude::*;

const BUCKET: &str = "examplebucket";

fn oss(version: OssVersion, token: bool) -> OssSigner {
    let token = token.then(|| "STS.token/value".to_owned());
    let credentials = Credentials::new("LTAI5tPlanKeyId", "PlanSecret", token).unwrap();
    OssSigner::new(credentials, "cn-hangzhou", BUCKET)
        .unwrap()
        .with_version(version)
}

fn s3() -> S3Signer {
    let credentials = Credentials::new("AKIAPLANKEYID", "PlanSecret", None).unwrap();
    S3Signer::new(credentials, "us-east-1", BUCKET).unwrap()
}

/// Conditions a policy may hold, including ones on the signer's own fields
/// (pinned, or in conflict), repeated names, and names the page fills.
fn condition() -> impl Strategy<Value = Condition> {
    let field = prop_oneof![
        Just("key"),
        Just("Content-Type"),
        Just("content-type"),
        Just("bucket"),
        Just("x-oss-date"),
        Just("x-amz-date"),
        Just("x-oss-signature-version"),
        Just("success_action_status"),
        Just("x-oss-meta-owner"),
        Just("callback"),
    ];
    let value = prop_oneof![
        Just(BUCKET.to_owned()),
        Just("OSS4-HMAC-SHA256".to_owned()),
        "[a-z0-9/\"\\\\]{0,8}",
    ];
    prop_oneof![
        (field.clone(), value.clone()).prop_map(|(f, v)| Condition::eq(f, v)),
        (field.clone(), value.clone()).prop_map(|(f, v)| Condition::starts_with(f, v)),
        (field.clone(), prop::collection::vec(value.clone(), 1..3))
            .prop_map(|(f, v)| Condition::one_of(f, v)),
        (0u64..100, 0u64..100).prop_map(|(a, b)| Condition::content_length(a, b)),
    ]
}

fn options() -> impl Strategy<Value = SignOptions> {
    (
        prop::option::of(prop_oneof![
            Just("user/42/${filename}".to_owned()),
            Just("user/42/cat.png".to_owned()),
            "[a-z/]{0,6}",
        ]),
        prop::option::of("[A-Za-z0-9]{4,12}"),
        any::<bool>(),
    )
        .prop_map(|(key, callback, pin)| {
            let mut options = SignOptions::default().pin_callback(pin);
            if let Some(key) = key {
                options = options.key(key);
            }
            if let Some(callback) = callback {
                options = options.callback(callback, [("x:user".to_owned(), "42".to_owned())]);
            }
            options
        })
}

fn same(
    planned: Result<SignedForm, SignatureError>,
    plain: Result<SignedForm, SignatureError>,
) -> Result<(), TestCaseError> {
    match (planned, plain) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
        (a, b) => prop_assert!(false, "planned {a:?}, plain {b:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_plan_signs_exactly_as_without(
        conditions in prop::collection::vec(condition(), 0..7),
        options in options(),
        seconds in 1_600_000_000i64..2_000_000_000,
        which in 0usize..4,
        maker in 0usize..4,
    ) {
        let policy = Policy::new(None, conditions);
        let now: DateTime<Utc> = DateTime::from_timestamp(seconds, 0).unwrap();
        let signers = [
            oss(OssVersion::V4, false),
            oss(OssVersion::V4, true),
            oss(OssVersion::V1, false),
        ];
        let s3 = s3();
        // A plan made by one signer (or by S3), used by another.
        let plan = match maker {
            3 => s3.plan(&policy),
            i => signers[i].plan(&policy),
        };
        let Ok(plan) = plan else {
            // A plan fails only where signing fails for every signer.
            for signer in &signers {
                prop_assert!(signer.sign_with(&policy, &options, now).is_err());
            }
            return Ok(());
        };
        match which {
            3 => same(s3.sign_planned(&plan, &options, now), s3.sign_with(&policy, &options, now))?,
            i => same(
                signers[i].sign_planned(&plan, &options, now),
                signers[i].sign_with(&policy, &options, now),
            )?,
        }
    }
}

#[test]
fn a_plan_keeps_its_policy() {
    let policy = Policy::parse("content-length 1..10MiB\nsuccess_action_status = 201").unwrap();
    let plan = oss(OssVersion::V4, false).plan(&policy).unwrap();
    assert_eq!(plan.policy(), &policy);
}
