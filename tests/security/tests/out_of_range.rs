//! No time a caller passes can crash the host or print a wrong year (issue
//! 12, item 6): out-of-range instants, lifetimes, skews and ages are typed
//! errors naming the input; every date sum the core makes is checked.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::TimeRangeError;
use postpolicy::{
    Credentials, Expiration, FileInfo, OssSigner, OssVersion, Policy, S3Signer, S3Verifier,
    SignatureError, Submission, Verifier,
};
use proptest::prelude::*;

const ID: &str = "LTAI5tSecurityKeyId";
const SECRET: &str = "SecuritySecretKZo149BD9GLPNiDIEmdQ7";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    at(1_800_000_000)
}

/// Node's `new Date(8210266876799000)`: in chrono's range, year 262142.
fn year_262142() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(8_210_266_876_799_000).unwrap()
}

fn keys() -> HashMap<String, String> {
    [(ID.to_owned(), SECRET.to_owned())].into()
}

/// A V4 form signed at `signed_at`, as the browser posts it.
fn v4_submission(signed_at: DateTime<Utc>) -> Submission {
    let signer = OssSigner::new(
        Credentials::new(ID, SECRET, None).unwrap(),
        "cn-hangzhou",
        "examplebucket",
    )
    .unwrap()
    .with_version(OssVersion::V4);
    let policy = Policy::parse("key starts-with \"u/\"").unwrap();
    let form = signer.sign(&policy, signed_at).unwrap();
    let mut fields = vec![("key".to_owned(), "u/a.txt".to_owned())];
    fields.extend(form.fields.to_vec());
    Submission {
        fields,
        fields_after_file: vec![],
        file: Some(FileInfo {
            filename: "a.txt".into(),
            content_type: None,
            size: Some(1),
        }),
    }
}

/// True when `text` holds a run of five or more digits starting a timestamp
/// (`NNNNN-MM-…`): a year past 9999.
fn prints_a_five_digit_year(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| {
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        digits >= 5 && bytes.get(i + digits) == Some(&b'-')
    })
}

#[test]
fn a_lifetime_past_year_9999_fails_to_json_instead_of_printing_year_2142() {
    let policy = Policy::parse("expires in 99999999999d").unwrap();
    let error = policy.to_json(now()).unwrap_err();
    assert!(
        matches!(error, TimeRangeError::Lifetime { .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), "TIME_OUT_OF_RANGE");
    let message = error.to_string();
    assert!(message.contains("expires in 99999999999d"), "{message}");
    assert!(message.contains("9999-12-31T23:59:59.999Z"), "{message}");
    assert!(!prints_a_five_digit_year(&message), "{message}");
    assert!(policy.expires_at(now()).is_err());
    // The largest lifetime the DSL takes, and one that just fits.
    let max = Policy::parse("expires in 18446744073709551615s").unwrap();
    assert!(max.to_json(now()).is_err());
    let fits = TimeRangeError::latest()
        .signed_duration_since(now())
        .num_seconds();
    let seconds = u64::try_from(fits).unwrap();
    let ok = Policy::builder()
        .expires_in(std::time::Duration::from_secs(seconds))
        .build()
        .unwrap();
    assert!(ok.to_json(now()).unwrap().contains("\"9999-12-31T23:59:"));
}

#[test]
fn signing_a_lifetime_past_year_9999_is_a_typed_error() {
    let policy = Policy::parse("expires in 99999999999d").unwrap();
    let oss = || {
        OssSigner::new(
            Credentials::new(ID, SECRET, None).unwrap(),
            "cn-hangzhou",
            "examplebucket",
        )
        .unwrap()
    };
    for version in [OssVersion::V1, OssVersion::V4] {
        let error = oss().with_version(version).sign(&policy, now());
        assert!(
            matches!(
                error,
                Err(SignatureError::Time(TimeRangeError::Lifetime { .. }))
            ),
            "{error:?}"
        );
        let error = postpolicy::Error::from(error.unwrap_err());
        assert_eq!(error.code(), "TIME_OUT_OF_RANGE");
    }
    let s3 = S3Signer::new(
        Credentials::new(ID, SECRET, None).unwrap(),
        "us-east-1",
        "examplebucket",
    )
    .unwrap();
    assert!(matches!(
        s3.sign(&policy, now()),
        Err(SignatureError::Time(_))
    ));
    // `sign_json` resolves the expiration too; a fixed one past 9999 is not
    // JSON the core reads, so only `now` can be out of range there.
    let json = r#"{"expiration":"2030-01-01T00:00:00.000Z","conditions":[]}"#;
    assert!(matches!(
        oss().sign_json(json, year_262142()),
        Err(SignatureError::Time(TimeRangeError::Instant {
            after: true,
            ..
        }))
    ));
}

#[test]
fn signing_at_a_now_past_year_9999_is_a_typed_error() {
    let policy = Policy::parse("key starts-with \"u/\"").unwrap();
    let oss = OssSigner::new(
        Credentials::new(ID, SECRET, None).unwrap(),
        "cn-hangzhou",
        "examplebucket",
    )
    .unwrap();
    for when in [
        TimeRangeError::latest() + TimeDelta::milliseconds(1),
        year_262142(),
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC,
    ] {
        let error = oss.sign(&policy, when).unwrap_err();
        assert!(
            matches!(error, SignatureError::Time(TimeRangeError::Instant { .. })),
            "{when:?}: {error:?}"
        );
        assert!(error.to_string().contains("`now`"), "{error}");
        assert!(!prints_a_five_digit_year(&error.to_string()), "{error}");
    }
    // With an hour's default lifetime, signing at the very end fails too.
    assert!(oss.sign(&policy, TimeRangeError::latest()).is_err());
}

#[test]
fn a_fixed_expiration_past_year_9999_is_a_typed_error() {
    let policy = Policy::new(
        Some(Expiration::At(
            TimeRangeError::latest() + TimeDelta::days(1),
        )),
        vec![],
    );
    let error = policy.to_json(now()).unwrap_err();
    assert_eq!(
        error,
        TimeRangeError::Instant {
            input: "the expiration",
            after: true
        }
    );
}

#[test]
fn a_huge_clock_skew_is_a_typed_error_at_configuration() {
    for skew in [
        TimeDelta::seconds(9_007_199_254_740_991),
        TimeDelta::days(999_999_999),
        TimeDelta::MAX,
        Verifier::MAX_CLOCK_SKEW + TimeDelta::seconds(1),
    ] {
        let error = Verifier::new("examplebucket", "cn-hangzhou", keys())
            .with_clock_skew(skew)
            .unwrap_err();
        assert!(matches!(error, TimeRangeError::TooLong { .. }), "{error:?}");
        assert!(error.to_string().contains("the clock skew"), "{error}");
    }
    assert!(
        Verifier::new("examplebucket", "cn-hangzhou", keys())
            .with_clock_skew(Verifier::MAX_CLOCK_SKEW)
            .is_ok()
    );
}

#[test]
fn a_negative_clock_skew_is_a_typed_error() {
    for skew in [TimeDelta::seconds(-1), TimeDelta::MIN] {
        let error = Verifier::new("examplebucket", "cn-hangzhou", keys())
            .with_clock_skew(skew)
            .unwrap_err();
        assert_eq!(
            error,
            TimeRangeError::Negative {
                input: "the clock skew"
            }
        );
    }
}

#[test]
fn a_huge_or_negative_s3_max_date_age_is_a_typed_error() {
    for age in [
        TimeDelta::days(999_999_999),
        TimeDelta::MAX,
        S3Verifier::MAX_DATE_AGE + TimeDelta::seconds(1),
        TimeDelta::seconds(-1),
    ] {
        let error = S3Verifier::new("examplebucket", "us-east-1", keys())
            .with_max_date_age(Some(age))
            .unwrap_err();
        assert!(
            error.to_string().contains("the maximum date age"),
            "{error}"
        );
    }
}

#[test]
fn verifying_at_a_now_past_year_9999_answers_instead_of_panicking() {
    let submission = v4_submission(now());
    let verifier = Verifier::new("examplebucket", "cn-hangzhou", keys())
        .with_clock_skew(Verifier::MAX_CLOCK_SKEW)
        .unwrap();
    for when in [
        year_262142(),
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC,
    ] {
        let rejected = verifier.verify(&submission, when).unwrap_err();
        assert_eq!(
            (rejected.status, rejected.service_code),
            (500, "InternalError")
        );
        assert!(rejected.reason.contains("`now`"), "{}", rejected.reason);
        assert!(
            !prints_a_five_digit_year(&rejected.reason),
            "{}",
            rejected.reason
        );
        let all = Verifier::for_any_bucket("cn-hangzhou", HashMap::<String, String>::new())
            .explain(&Policy::default(), &submission, when);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].status, 500);
    }
    // At the last instant, with the largest skew: no overflow either way.
    let late = v4_submission(TimeRangeError::latest() - TimeDelta::days(1));
    let outcome = verifier.verify(&late, TimeRangeError::latest());
    assert!(outcome.is_err(), "the policy expired an hour after signing");
}

#[test]
fn lint_reports_an_expiration_past_year_9999() {
    let policy = Policy::parse("expires in 99999999999d\nkey starts-with \"u/\"").unwrap();
    let found = policy.lint(now());
    let diagnostic = found
        .iter()
        .find(|d| d.code == "expiration-out-of-range")
        .expect("a diagnostic");
    assert_eq!(diagnostic.severity, postpolicy::Severity::Error);
    assert!(!prints_a_five_digit_year(&diagnostic.message));
    // And at a `now` past 9999 the fixed expiration is not printed as 2142.
    let fixed = Policy::parse("expires at 2030-01-01T00:00:00Z").unwrap();
    let found = fixed.lint(year_262142());
    assert!(found.iter().any(|d| d.code == "expiration-out-of-range"));
    assert!(found.iter().all(|d| !prints_a_five_digit_year(&d.message)));
}

#[test]
fn s3_verification_with_the_largest_age_at_any_now_does_not_panic() {
    let verifier = S3Verifier::new("examplebucket", "us-east-1", keys())
        .with_max_date_age(Some(S3Verifier::MAX_DATE_AGE))
        .unwrap();
    let signer = S3Signer::new(
        Credentials::new(ID, SECRET, None).unwrap(),
        "us-east-1",
        "examplebucket",
    )
    .unwrap();
    let form = signer
        .sign(&Policy::parse("key starts-with \"u/\"").unwrap(), now())
        .unwrap();
    let mut fields = vec![("key".to_owned(), "u/a.txt".to_owned())];
    fields.extend(form.fields.to_vec());
    let submission = Submission {
        fields,
        fields_after_file: vec![],
        file: Some(FileInfo {
            filename: "a.txt".into(),
            content_type: None,
            size: Some(1),
        }),
    };
    assert!(verifier.verify(&submission, now()).is_ok());
    for when in [
        TimeRangeError::latest(),
        year_262142(),
        DateTime::<Utc>::MAX_UTC,
    ] {
        assert!(verifier.verify(&submission, when).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any instant chrono can hold, any skew: verification answers.
    #[test]
    fn verifying_at_any_instant_with_any_skew_answers(
        millis in DateTime::<Utc>::MIN_UTC.timestamp_millis()..=DateTime::<Utc>::MAX_UTC.timestamp_millis(),
        skew_seconds in any::<i64>(),
    ) {
        let when = DateTime::from_timestamp_millis(millis).unwrap();
        let skew = TimeDelta::try_seconds(skew_seconds).unwrap_or(TimeDelta::MAX);
        let verifier = Verifier::new("examplebucket", "cn-hangzhou", keys());
        let verifier = verifier.with_clock_skew(skew).unwrap_or_else(|_| {
            Verifier::new("examplebucket", "cn-hangzhou", keys())
        });
        let submission = v4_submission(now());
        let outcome = verifier.verify(&submission, when);
        if let Err(rejected) = outcome {
            prop_assert!(!prints_a_five_digit_year(&rejected.reason), "{}", rejected.reason);
        }
    }

    /// Any lifetime at any instant: `to_json` prints a four-digit year or fails.
    #[test]
    fn to_json_never_prints_a_year_past_9999(
        seconds in any::<u64>(),
        millis in DateTime::<Utc>::MIN_UTC.timestamp_millis()..=DateTime::<Utc>::MAX_UTC.timestamp_millis(),
    ) {
        let when = DateTime::from_timestamp_millis(millis).unwrap();
        let policy = Policy::new(Some(Expiration::In { seconds }), vec![]);
        match policy.to_json(when) {
            Ok(json) => prop_assert!(!prints_a_five_digit_year(&json), "{json}"),
            Err(e) => prop_assert!(!prints_a_five_digit_year(&e.to_string()), "{e}"),
        }
    }
}
