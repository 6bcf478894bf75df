//! Properties tying the signer and the verifier together: what we sign for a
//! matching upload is accepted, and any change to a signed byte is rejected.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::{
    Condition, Credentials, Expiration, FileInfo, OssSigner, OssVersion, Policy, Submission,
    Verifier,
};
use proptest::prelude::*;

const ID: &str = "LTAI5tPropKeyId";
const SECRET: &str = "PropSecretKZo149BD9GLPNiDIEmdQ7d";

#[derive(Debug, Clone)]
struct Case {
    version: OssVersion,
    prefix: String,
    filename: String,
    types: Vec<String>,
    pick: usize,
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
        prop_oneof![Just(OssVersion::V1), Just(OssVersion::V4)],
        "[a-z0-9]{1,8}/([a-z0-9]{1,8}/)?",
        "[a-zA-Z0-9 ._()-]{1,20}",
        prop::collection::vec("[a-z]{2,8}/[a-z0-9.+-]{1,12}", 1..4),
        any::<prop::sample::Index>(),
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
                version,
                prefix,
                filename,
                types,
                pick,
                meta,
                (min, span, off),
                (lifetime, el),
                status,
                token,
            )| {
                Case {
                    pick: pick.index(types.len()),
                    version,
                    prefix,
                    filename,
                    types,
                    meta,
                    min,
                    span,
                    offset: off.index(usize::try_from(span).unwrap_or(usize::MAX).max(1)) as u64,
                    lifetime,
                    elapsed: el.index(usize::try_from(lifetime).unwrap_or(1)) as u64,
                    status,
                    token,
                }
            },
        )
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap()
}

/// Signs the case's policy and builds the matching submission.
fn signed(case: &Case) -> (Verifier, Submission) {
    let credentials = Credentials::new(ID, SECRET, case.token.clone()).unwrap();
    let signer = OssSigner::new(credentials, "cn-hangzhou", "examplebucket")
        .unwrap()
        .with_version(case.version);
    let max = case
        .min
        .saturating_add(case.span)
        .min(postpolicy::MAX_FORM_UPLOAD_BYTES);
    let min = case.min.min(max);
    let mut conditions = vec![
        Condition::starts_with("key", case.prefix.clone()),
        Condition::one_of("content-type", case.types.clone()),
        Condition::eq("x-oss-meta-note", case.meta.clone()),
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
    let form = signer.sign(&policy, now()).unwrap();
    let mut fields = vec![("key".to_owned(), format!("{}${{filename}}", case.prefix))];
    fields.extend(form.fields.to_vec());
    fields.push(("Content-Type".to_owned(), case.types[case.pick].clone()));
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
        Verifier::new("examplebucket", "cn-hangzhou", keys),
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
    fn any_changed_signed_byte_is_rejected(case in case(), which in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(), replacement in "[A-Za-z0-9+/]") {
        let (verifier, mut submission) = signed(&case);
        let signed_names = ["policy", "Signature", "x-oss-signature", "x-oss-credential", "x-oss-date", "OSSAccessKeyId"];
        let candidates: Vec<usize> = submission
            .fields
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| signed_names.contains(&n.as_str()))
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
}
