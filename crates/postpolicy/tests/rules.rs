//! The browser rules of a signed form say what the verifier says: for each
//! case, a page that judges the form with `SignedForm::rules` alone (as
//! `node/browser.js` does) names the same condition with the same code,
//! message and reason as `Verifier` / `S3Verifier` judging the posted form.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use postpolicy::rules::{FieldRule, FieldTest, Rule};
use postpolicy::{
    Credentials, FileInfo, OssSigner, Policy, Rejected, S3Signer, S3Verifier, SignOptions,
    SignedForm, Submission, Verifier,
};

const KEY_ID: &str = "LTAI5tRulesTestKeyId";
const SECRET: &str = "rules-test-secret";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn keys() -> HashMap<String, String> {
    HashMap::from([(KEY_ID.to_owned(), SECRET.to_owned())])
}

fn credentials() -> Credentials {
    Credentials::new(KEY_ID, SECRET, None).unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    Oss,
    S3,
}

fn sign(dialect: Dialect, dsl: &str, key: Option<&str>) -> SignedForm {
    let policy = Policy::parse(dsl).unwrap();
    let mut options = SignOptions::default();
    if let Some(key) = key {
        options = options.key(key);
    }
    match dialect {
        Dialect::Oss => OssSigner::new(credentials(), "cn-hangzhou", "bucket-1")
            .unwrap()
            .sign_with(&policy, &options, now())
            .unwrap(),
        Dialect::S3 => S3Signer::new(credentials(), "us-east-1", "bucket-1")
            .unwrap()
            .sign_with(&policy, &options, now())
            .unwrap(),
    }
}

fn verify(dialect: Dialect, submission: &Submission) -> Result<(), Rejected> {
    match dialect {
        Dialect::Oss => Verifier::new("bucket-1", "cn-hangzhou", keys())
            .verify(submission, now())
            .map(drop),
        Dialect::S3 => S3Verifier::new("bucket-1", "us-east-1", keys())
            .verify(submission, now())
            .map(drop),
    }
}

/// A field's first value, names ASCII case-insensitive (as services read).
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What a browser concludes from the rules alone: the first failing rule's
/// (index, code, message, reason), filled in from the form and the file.
fn judge(
    form: &SignedForm,
    fields: &[(String, String)],
    filename: &str,
    size: u64,
) -> Option<(Option<usize>, String, String, String)> {
    for rule in &form.rules.to_vec() {
        match rule {
            Rule::Required(rule) => {
                if field(fields, &rule.field).is_none() {
                    return Some((
                        None,
                        rule.failure.service_code.to_owned(),
                        rule.failure.message.clone(),
                        rule.failure.reason.render(&[]),
                    ));
                }
            }
            Rule::Size(rule) => {
                let failure = if size < rule.min {
                    &rule.too_small
                } else if size > rule.max {
                    &rule.too_large
                } else {
                    continue;
                };
                let size = size.to_string();
                return Some((
                    Some(rule.index),
                    failure.service_code.to_owned(),
                    failure.message.clone(),
                    failure.reason.render(&[("size", &size)]),
                ));
            }
            Rule::Field(rule) => {
                if let Some(reason) = field_failure(rule, fields, filename) {
                    return Some((
                        Some(rule.index),
                        rule.failure.service_code.to_owned(),
                        rule.failure.message.clone(),
                        reason,
                    ));
                }
            }
        }
    }
    None
}

fn field_failure(rule: &FieldRule, fields: &[(String, String)], filename: &str) -> Option<String> {
    let Some(raw) = field(fields, &rule.field) else {
        return Some(rule.missing.clone());
    };
    let sent = if rule.expand_filename {
        raw.replace("${filename}", filename)
    } else {
        raw.to_owned()
    };
    let holds = |v: &str| match &rule.test {
        FieldTest::Eq { value } => v == value,
        FieldTest::StartsWith { prefix } => v.starts_with(prefix.as_str()),
        FieldTest::In { values } => values.iter().any(|x| x == v),
        FieldTest::NotIn { values } => !values.iter().any(|x| x == v),
    };
    if let (Some(item_reason), FieldTest::StartsWith { .. }) = (&rule.item_reason, &rule.test) {
        let bad = sent.split(',').find(|item| !holds(item))?;
        if bad != sent {
            return Some(item_reason.render(&[("value", &sent), ("item", bad)]));
        }
    } else if holds(&sent) {
        return None;
    }
    let hint = match &rule.test {
        FieldTest::Eq { value } if sent.eq_ignore_ascii_case(value) => rule.hints.case.as_deref(),
        _ if rule.expand_filename && raw != sent => rule.hints.expanded.as_deref(),
        _ => None,
    };
    Some(
        rule.failure
            .reason
            .render(&[("value", &sent), ("hint", hint.unwrap_or_default())]),
    )
}

/// Signs `dsl`, posts the form with `fill` (values the page sets: a field
/// of the form is replaced, another added) and a file of `size` bytes, and
/// checks that the rules and the verifier agree on the outcome.
fn agree(dialect: Dialect, dsl: &str, key: Option<&str>, fill: &[(&str, &str)], size: u64) {
    let form = sign(dialect, dsl, key);
    let mut fields = form.fields.to_vec();
    for (name, value) in fill {
        match fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = (*value).to_owned(),
            None => fields.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    let submission = Submission {
        fields: fields.clone(),
        fields_after_file: Vec::new(),
        file: Some(FileInfo {
            filename: "cat.png".to_owned(),
            content_type: Some("image/png".to_owned()),
            size: Some(size),
        }),
    };
    let verdict = verify(dialect, &submission).err().map(|r| {
        (
            r.condition_index,
            r.service_code.to_owned(),
            r.message,
            r.reason,
        )
    });
    let browser = judge(&form, &fields, "cat.png", size);
    assert_eq!(browser, verdict, "{dsl} / {fill:?} / {size} bytes");
}

#[test]
fn oss_sizes() {
    let dsl = "key starts-with \"u/\"\ncontent-length 1..10";
    agree(Dialect::Oss, dsl, None, &[("key", "u/a")], 5);
    agree(Dialect::Oss, dsl, None, &[("key", "u/a")], 11);
    agree(Dialect::Oss, dsl, None, &[("key", "u/a")], 0);
    // The first failure in policy order, whichever kind it is.
    agree(Dialect::Oss, dsl, None, &[("key", "x/a")], 11);
    let ranges = "content-length 5..100\nkey starts-with \"u/\"\ncontent-length 1..10";
    agree(Dialect::Oss, ranges, None, &[("key", "x/a")], 50);
    agree(Dialect::Oss, ranges, None, &[("key", "u/a")], 50);
}

#[test]
fn oss_keys() {
    let dsl = "key starts-with \"u/{{x}}/\"\ncontent-length 1..10";
    agree(Dialect::Oss, dsl, None, &[("key", "v/a.png")], 3);
    agree(Dialect::Oss, dsl, None, &[], 3);
    agree(
        Dialect::Oss,
        "content-length 1..10",
        Some("u/1/${filename}"),
        &[],
        3,
    );
    agree(
        Dialect::Oss,
        "key = \"u/a.png\"",
        None,
        &[("key", "U/A.PNG")],
        3,
    );
    agree(
        Dialect::Oss,
        "key = \"u/a.png\"",
        None,
        &[("key", "u/b.png")],
        3,
    );
    agree(Dialect::Oss, "key in [a, b]", None, &[("key", "c")], 3);
    agree(Dialect::Oss, "key not-in [a, b]", None, &[("key", "b")], 3);
}

#[test]
fn oss_content_types() {
    let dsl = "key starts-with \"u/\"\ncontent-type in [image/png, image/jpeg]\nx-oss-content-type in [image/png, image/jpeg]";
    for sent in ["image/png", "image/gif", "text/html"] {
        agree(
            Dialect::Oss,
            dsl,
            None,
            &[
                ("key", "u/a"),
                ("Content-Type", sent),
                ("x-oss-content-type", sent),
            ],
            3,
        );
    }
    agree(Dialect::Oss, dsl, None, &[("key", "u/a")], 3);
    let prefix = "key starts-with \"u/\"\ncontent-type starts-with \"image/\"";
    agree(
        Dialect::Oss,
        prefix,
        None,
        &[("key", "u/a"), ("Content-Type", "video/mp4")],
        3,
    );
    let not_in = "key starts-with \"u/\"\ncontent-type not-in [text/html]";
    agree(
        Dialect::Oss,
        not_in,
        None,
        &[("key", "u/a"), ("Content-Type", "text/html")],
        3,
    );
    let exact = "key starts-with \"u/\"\ncontent-type = \"image/png\"";
    let form = sign(Dialect::Oss, exact, None);
    assert_eq!(form.field("Content-Type"), Some("image/png"), "pinned");
    agree(Dialect::Oss, exact, None, &[("key", "u/a")], 3);
}

#[test]
fn s3_keys_are_expanded_and_sizes_come_last() {
    let dsl = "content-length 1..10\ncontent-type starts-with \"image/\"";
    agree(
        Dialect::S3,
        dsl,
        Some("u/${filename}"),
        &[("Content-Type", "image/png")],
        50,
    );
    agree(
        Dialect::S3,
        dsl,
        Some("u/${filename}"),
        &[("Content-Type", "text/plain")],
        50,
    );
    agree(
        Dialect::S3,
        dsl,
        Some("u/${filename}"),
        &[("Content-Type", "image/png,text/html")],
        5,
    );
    agree(
        Dialect::S3,
        "key = \"u/cat.png\"\ncontent-length 1..10",
        None,
        &[("key", "u/${filename}")],
        5,
    );
    agree(
        Dialect::S3,
        "key = \"u/dog.png\"\ncontent-length 1..10",
        None,
        &[("key", "u/${filename}")],
        5,
    );
    agree(
        Dialect::S3,
        "key starts-with \"v/\"\ncontent-length 1..10",
        None,
        &[("key", "u/${filename}")],
        5,
    );
}

#[test]
fn rules_point_at_the_signed_policy() {
    let form = sign(
        Dialect::Oss,
        "content-length 1..10MiB\nx-oss-meta-owner = \"42\"",
        Some("u/${filename}"),
    );
    let token: serde_json::Value = serde_json::from_str(&form.to_json()).unwrap();
    let rules = token["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3, "{rules:?}");
    assert_eq!(rules[0]["op"], "required");
    // bucket and the three V4 fields come first in the signed policy.
    assert_eq!(rules[1]["index"], 4);
    assert_eq!(rules[1]["op"], "content-length-range");
    assert_eq!(
        rules[1]["condition"],
        "[\"content-length-range\", 1, 10485760]"
    );
    assert_eq!(rules[2]["index"], 6);
    assert_eq!(rules[2]["field"], "key");
    assert_eq!(rules[2]["prefix"], "u/");
    let decoded = Policy::from_base64(form.field("policy").unwrap()).unwrap();
    assert_eq!(
        decoded.conditions[6],
        postpolicy::Condition::starts_with("key", "u/")
    );
}
