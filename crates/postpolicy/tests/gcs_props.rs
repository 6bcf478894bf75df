//! Properties of the GCS signer over arbitrary policies: the document is pure
//! ASCII JSON that reads back as the policy's conditions followed by the five
//! the signer adds, and the HMAC signature is the one a plain reading of the
//! V4 signing process gives.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use postpolicy::{
    Condition, Expiration, GcsCredentials, GcsSigner, Policy, SignOptions, SignedForm,
};
use proptest::prelude::*;
use sha2::Sha256;

const ACCESS_ID: &str = "GOOG1EPROPERTYEXAMPLE";
const SECRET: &str = "cHJvcGVydHktc2VjcmV0LWZvci10ZXN0cy1vbmx5";
const BUCKET: &str = "prop-bucket";

fn signer() -> GcsSigner {
    GcsSigner::new(GcsCredentials::hmac(ACCESS_ID, SECRET).unwrap(), BUCKET).unwrap()
}

/// A field name a policy may constrain (not one the signer owns).
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Content-Type".to_owned()),
        Just("acl".to_owned()),
        Just("success_action_redirect".to_owned()),
        "x-goog-meta-[a-z0-9-]{1,12}",
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        (field(), "\\PC{0,16}").prop_map(|(f, v)| Condition::eq(&f, v)),
        (field(), "\\PC{0,16}").prop_map(|(f, v)| Condition::starts_with(&f, v)),
        (0u64..1 << 40, 0u64..1 << 20)
            .prop_map(|(min, span)| Condition::content_length(min, min + span)),
    ]
}

fn decoded(form: &SignedForm) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(form.field("policy").unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

/// HMAC-SHA256 as the V4 signing process describes it, written out plainly.
fn reference_signature(policy_b64: &str, date: &str) -> String {
    let step = |key: &[u8], data: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    let mut key = format!("GOOG4{SECRET}").into_bytes();
    for part in [date, "auto", "storage", "goog4_request"] {
        key = step(&key, part);
    }
    step(&key, policy_b64)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn documents_read_back_as_signed(
        conditions in prop::collection::vec(condition(), 0..6),
        key in prop_oneof!["\\PC{1,20}", "[a-z0-9/]{0,12}".prop_map(|p| format!("{p}${{filename}}"))],
        seconds in 1_500_000_000i64..2_000_000_000,
        millis in 0u32..1000,
        lifetime in 1u64..=604_800,
    ) {
        let now = DateTime::from_timestamp(seconds, millis * 1_000_000).unwrap();
        let policy = Policy::new(Some(Expiration::In { seconds: lifetime }), conditions.clone());
        let form = match signer().sign_with(&policy, &SignOptions::default().key(key.clone()), now) {
            Ok(form) => form,
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let json = decoded(&form);
        prop_assert!(json.is_ascii(), "{json}");
        prop_assert!(json.starts_with("{\"conditions\":["), "{json}");
        let read = Policy::from_json(&json).unwrap();
        let whole = |at: DateTime<Utc>| at - TimeDelta::nanoseconds(i64::from(at.timestamp_subsec_nanos()));
        prop_assert_eq!(read.expiration, Some(Expiration::At(whole(now) + TimeDelta::seconds(lifetime as i64))));
        prop_assert_eq!(form.expires_at, whole(now) + TimeDelta::seconds(lifetime as i64));
        let stamp = whole(now).format("%Y%m%dT%H%M%SZ").to_string();
        let date = &stamp[..8];
        let mut expected = conditions;
        expected.push(Condition::eq("bucket", BUCKET));
        expected.push(match key.strip_suffix("${filename}") {
            Some(prefix) => Condition::starts_with("key", prefix),
            None => Condition::eq("key", key.clone()),
        });
        expected.push(Condition::eq("x-goog-date", stamp.clone()));
        expected.push(Condition::eq(
            "x-goog-credential",
            format!("{ACCESS_ID}/{date}/auto/storage/goog4_request"),
        ));
        expected.push(Condition::eq("x-goog-algorithm", "GOOG4-HMAC-SHA256"));
        prop_assert_eq!(read.conditions, expected);
        prop_assert_eq!(form.field("x-goog-date"), Some(stamp.as_str()));
        prop_assert_eq!(form.field("key"), Some(key.as_str()));
        let signature = reference_signature(form.field("policy").unwrap(), date);
        prop_assert_eq!(form.field("x-goog-signature"), Some(signature.as_str()));
    }
}
