//! Properties tying `S3Signer` and `S3Verifier` together: a form we sign, filled
//! in as the policy allows, is accepted (so every field it carries is covered
//! by a condition); any change to a signed byte, or any uncovered extra field,
//! is rejected.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::{
    Condition, Credentials, Expiration, FileInfo, Policy, S3Signer, S3Verifier, SignOptions,
    Submission,
};
use proptest::prelude::*;

const ID: &str = "AKIAPROPEXAMPLE";
const SECRET: &str = "PropSecret/K7MDENG/bPxRfiCYEXAMPLEKEY";

#[derive(Debug, Clone)]
struct Case {
    prefix: String,
    filename: String,
    type_prefix: String,
    type_items: Vec<String>,
    meta: String,
    min: u64,
    span: u64,
    offset: u64,
    lifetime: u64,
    elapsed: u64,
    status: Option<u16>,
    token: Option<String>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        "[a-z0-9]{1,8}/([a-z0-9]{1,8}/)?",
        "[a-zA-Z0-9 ._()-]{1,20}",
        "[a-z]{2,8}/",
        prop::collection::vec("[a-z0-9.+-]{1,12}", 1..4),
        "\\PC{0,24}",
        (
            0u64..10_000_000_000,
            0u64..1_000_000,
            any::<prop::sample::Index>(),
        ),
        (60u64..86_400, any::<prop::sample::Index>()),
        prop::option::of(prop_oneof![Just(200u16), Just(201), Just(204)]),
        prop::option::of("[A-Za-z0-9+/=]{16,64}"),
    )
        .prop_map(
            |(
                prefix,
                filename,
                type_prefix,
                type_items,
                meta,
                (min, span, off),
                (lifetime, el),
                status,
                token,
            )| Case {
                prefix,
                filename,
                type_prefix,
                type_items,
                meta,
                min,
                span,
                offset: off.index(usize::try_from(span).unwrap_or(usize::MAX).max(1)) as u64,
                lifetime,
                elapsed: el.index(usize::try_from(lifetime).unwrap_or(1)) as u64,
                status,
                token,
            },
        )
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap()
}

/// Signs the case's policy and builds the matching submission.
fn signed(case: &Case) -> (S3Verifier, Submission) {
    let credentials = Credentials::new(ID, SECRET, case.token.clone()).unwrap();
    let signer = S3Signer::new(credentials, "eu-west-1", "examplebucket").unwrap();
    let max = case
        .min
        .saturating_add(case.span)
        .min(postpolicy::MAX_FORM_UPLOAD_BYTES);
    let min = case.min.min(max);
    let mut conditions = vec![
        Condition::starts_with("Content-Type", case.type_prefix.clone()),
        Condition::eq("x-amz-meta-note", case.meta.clone()),
        Condition::content_length(min, max),
    ];
    if let Some(status) = case.status {
        conditions.push(Condition::eq("success_action_status", status.to_string()));
    }
    let policy = Policy::new(
        Some(Expiration::In {
            seconds: case.lifetime,
        }),
        conditions,
    );
    let options = SignOptions::default().key(format!("{}${{filename}}", case.prefix));
    let form = signer.sign_with(&policy, &options, now()).unwrap();
    let mut fields = form.fields.to_vec();
    // A comma-separated list of types, every one under the prefix.
    let types: Vec<String> = case
        .type_items
        .iter()
        .map(|t| format!("{}{t}", case.type_prefix))
        .collect();
    fields.push(("Content-Type".to_owned(), types.join(",")));
    let size = (min + case.offset).min(max);
    let submission = Submission {
        fields,
        fields_after_file: vec![],
        file: Some(FileInfo {
            filename: case.filename.clone(),
            content_type: Some("application/octet-stream".into()),
            size: Some(size),
        }),
    };
    let keys: HashMap<String, String> = [(ID.to_owned(), SECRET.to_owned())].into();
    (
        S3Verifier::new("examplebucket", "eu-west-1", keys),
        submission,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn our_forms_are_accepted(case in case()) {
        let (verifier, submission) = signed(&case);
        let at = now() + TimeDelta::seconds(i64::try_from(case.elapsed).unwrap());
        let accepted = verifier.verify(&submission, at);
        prop_assert!(accepted.is_ok(), "{:?}", accepted.err());
        let accepted = accepted.unwrap();
        prop_assert_eq!(accepted.key, format!("{}{}", case.prefix, case.filename));
        prop_assert_eq!(accepted.status, case.status.unwrap_or(204));
    }

    #[test]
    fn any_changed_signed_byte_is_rejected(
        case in case(),
        which in any::<prop::sample::Index>(),
        pos in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9+/]",
    ) {
        let (verifier, mut submission) = signed(&case);
        let signed_names = ["policy", "x-amz-signature", "x-amz-credential", "x-amz-date", "x-amz-security-token", "x-amz-meta-note"];
        let candidates: Vec<usize> = submission
            .fields
            .iter()
            .enumerate()
            .filter(|(_, (n, v))| signed_names.contains(&n.as_str()) && !v.is_empty())
            .map(|(i, _)| i)
            .collect();
        let field = candidates[which.index(candidates.len())];
        let value = &mut submission.fields[field].1;
        let chars: Vec<char> = value.chars().collect();
        let at = pos.index(chars.len());
        let replacement = replacement.chars().next().unwrap();
        prop_assume!(chars[at] != replacement);
        *value = chars.iter().enumerate().map(|(i, c)| if i == at { replacement } else { *c }).collect();
        prop_assert!(verifier.verify(&submission, now()).is_err());
    }

    #[test]
    fn an_uncovered_field_is_rejected(case in case(), name in "x-amz-meta-[a-z]{1,8}") {
        prop_assume!(name != "x-amz-meta-note");
        let (verifier, mut submission) = signed(&case);
        submission.fields.insert(0, (name.clone(), "1".to_owned()));
        let r = verifier.verify(&submission, now()).unwrap_err();
        prop_assert_eq!(
            r.message,
            format!("Invalid according to Policy: Extra input fields: {name}")
        );
    }
}
