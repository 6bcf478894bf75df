//! Policy injection through request data (issue "safe by construction").
//!
//! Observed: the README built policy text with a user id from a header, and
//! the id `"#` turned `key starts-with "user/…/"` into `key starts-with user/`
//! (any user's files), while `42/"; expires at 2099-01-01T00:00:00Z #` made a
//! V1 form valid for decades. With parameters, a value is filled in after its
//! statement has been read, so it is data whatever it holds:
//!
//! - for any template and any parameter strings, the parsed policy has exactly
//!   the template's conditions, with the parameter strings as values (and the
//!   template's expiration);
//! - the two payloads, signed, give a form whose policy holds them literally
//!   and which the verifier judges by that literal value.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use postpolicy::{
    Condition, Credentials, Expiration, Field, FileInfo, OssSigner, OssVersion, Policy, Submission,
    Verifier, dsl,
};
use proptest::prelude::*;

/// The issue's payloads, and more of the same kind.
const PAYLOADS: &[&str] = &[
    "\"#",
    "42/\"; expires at 2099-01-01T00:00:00Z #",
    "42/\"\nexpires at 2099-01-01T00:00:00Z\nkey starts-with \"",
    "42/\"\r\nkey starts-with \"",
    "42/\"\u{2028}key starts-with \"",
    "42/\"\u{85}x = \"",
    "\\",
    "\\\"",
    "42\\\"; key starts-with \"",
    "]; key starts-with \"",
    "\"]\nkey in [\"",
    "{user}",
    "{{",
    "}",
    "${filename}",
    "$",
    "\u{0}",
    "\u{0}\"; expires at 2099-01-01T00:00:00Z",
    "#",
    ";",
    "",
    " ",
    "\u{feff}expires at 2099-01-01T00:00:00Z",
    "\u{202e}gnp.exe",
    "\u{1b}[2J",
    "42/\" ; content-length 0..99999999999 ; x = \"",
];

/// Characters that mean something in the DSL or in a line of text.
const TRICKY: &[char] = &[
    '"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1b}', '\u{7f}', '\u{85}', '\u{2028}', '\u{2029}',
    '\u{feff}', '\u{202e}', '#', ';', ',', '[', ']', '{', '}', '$', '=', ' ', '.', 'a', '0', 'u',
    'é', '日', '😀',
];

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY), 0..24).prop_map(String::from_iter)
}

/// Any parameter value: arbitrary text, DSL-shaped text, or a known payload.
fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        tricky_string(),
        prop::sample::select(PAYLOADS).prop_map(str::to_owned),
        (
            prop::sample::select(PAYLOADS),
            prop::sample::select(PAYLOADS)
        )
            .prop_map(|(a, b)| format!("{a}{b}")),
        // Large values: 10 KB and more.
        (prop::sample::select(PAYLOADS), 300usize..700).prop_map(|(p, n)| p.repeat(n)),
    ]
}

/// One piece of a value in the template: literal text or a parameter.
#[derive(Clone, Debug)]
enum Piece {
    Text(String),
    Param(usize),
}

/// A value of the template: a lone parameter written bare, or quoted pieces.
#[derive(Clone, Debug)]
enum TemplateValue {
    Bare(usize),
    Quoted(Vec<Piece>),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Eq,
    StartsWith,
    In,
    NotIn,
}

#[derive(Clone, Debug)]
enum Statement {
    Field {
        name: &'static str,
        op: Op,
        values: Vec<TemplateValue>,
    },
    Range(u64, u64),
    Comment(usize),
}

const FIELDS: &[&str] = &[
    "key",
    "content-type",
    "bucket",
    "success_action_status",
    "x-oss-meta-owner",
    "x:user",
];

const PARAMS: usize = 4;

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[a-z0-9/._-]{0,6}".prop_map(Piece::Text),
        tricky_string().prop_map(Piece::Text),
        (0..PARAMS).prop_map(Piece::Param),
    ]
}

fn template_value() -> impl Strategy<Value = TemplateValue> {
    prop_oneof![
        (0..PARAMS).prop_map(TemplateValue::Bare),
        prop::collection::vec(piece(), 0..5).prop_map(TemplateValue::Quoted),
    ]
}

fn statement() -> impl Strategy<Value = Statement> {
    let op = prop::sample::select(vec![Op::Eq, Op::StartsWith, Op::In, Op::NotIn]);
    prop_oneof![
        6 => (prop::sample::select(FIELDS), op, prop::collection::vec(template_value(), 1..4))
            .prop_map(|(name, op, values)| Statement::Field { name, op, values }),
        1 => (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Statement::Range(a, b)),
        1 => (0..PARAMS).prop_map(Statement::Comment),
    ]
}

fn expiration() -> impl Strategy<Value = Option<Expiration>> {
    prop_oneof![
        Just(None),
        (0u64..1_000_000).prop_map(|seconds| Some(Expiration::In { seconds })),
        (0i64..4_000_000_000)
            .prop_map(|s| Some(Expiration::At(DateTime::from_timestamp(s, 0).unwrap()))),
    ]
}

/// Literal text as the DSL writes it in quotes, written independently of the
/// crate's printer: letters, digits and `/._-` as they are, braces doubled,
/// anything else as an escape (which is always a literal character, so an
/// escaped `$` never opens a `${…}`).
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '{' => "{{".to_owned(),
            '}' => "}}".to_owned(),
            c if c.is_ascii_alphanumeric() || "/._-".contains(c) => c.to_string(),
            c => format!("\\u{{{:x}}}", u32::from(c)),
        })
        .collect()
}

/// The template's text, and the policy it must give with `params`.
fn render(
    expiration: Option<Expiration>,
    statements: &[Statement],
    params: &[String],
) -> (String, Policy) {
    let mut text = String::new();
    match expiration {
        Some(Expiration::In { seconds }) => text.push_str(&format!("expires in {seconds}s\n")),
        Some(Expiration::At(at)) => text.push_str(&format!(
            "expires at {}\n",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )),
        None => {}
    }
    let mut conditions = Vec::new();
    for statement in statements {
        match statement {
            Statement::Comment(i) => text.push_str(&format!("# {{p{i}}}\n")),
            Statement::Range(a, b) => {
                text.push_str(&format!("content-length {a}..{b}\n"));
                conditions.push(Condition::content_length(*a, *b));
            }
            Statement::Field { name, op, values } => {
                let mut written = Vec::new();
                let mut filled = Vec::new();
                for value in values {
                    match value {
                        TemplateValue::Bare(i) => {
                            written.push(format!("{{p{i}}}"));
                            filled.push(params[*i].clone());
                        }
                        TemplateValue::Quoted(pieces) => {
                            let mut w = String::from("\"");
                            let mut f = String::new();
                            for piece in pieces {
                                match piece {
                                    Piece::Text(t) => {
                                        w.push_str(&escape(t));
                                        f.push_str(t);
                                    }
                                    Piece::Param(i) => {
                                        w.push_str(&format!("{{p{i}}}"));
                                        f.push_str(&params[*i]);
                                    }
                                }
                            }
                            w.push('"');
                            written.push(w);
                            filled.push(f);
                        }
                    }
                }
                let field = Field::new(name);
                let (op_text, value_text, condition) = match op {
                    Op::Eq => (
                        "=",
                        written[0].clone(),
                        Condition::Eq {
                            field,
                            value: filled[0].clone(),
                        },
                    ),
                    Op::StartsWith => (
                        "starts-with",
                        written[0].clone(),
                        Condition::StartsWith {
                            field,
                            prefix: filled[0].clone(),
                        },
                    ),
                    Op::In => (
                        "in",
                        format!("[{}]", written.join(", ")),
                        Condition::In {
                            field,
                            values: filled,
                        },
                    ),
                    Op::NotIn => (
                        "not-in",
                        format!("[{}]", written.join(",")),
                        Condition::NotIn {
                            field,
                            values: filled,
                        },
                    ),
                };
                text.push_str(&format!("{name} {op_text} {value_text}\n"));
                conditions.push(condition);
            }
        }
    }
    (text, Policy::new(expiration, conditions))
}

/// The parameters a template's values use (a comment does not use one).
fn used(statements: &[Statement]) -> Vec<usize> {
    let mut used = Vec::new();
    for statement in statements {
        if let Statement::Field { op, values, .. } = statement {
            let take = if matches!(op, Op::Eq | Op::StartsWith) {
                1
            } else {
                values.len()
            };
            for value in values.iter().take(take) {
                match value {
                    TemplateValue::Bare(i) => used.push(*i),
                    TemplateValue::Quoted(pieces) => {
                        used.extend(pieces.iter().filter_map(|p| match p {
                            Piece::Param(i) => Some(*i),
                            Piece::Text(_) => None,
                        }))
                    }
                }
            }
        }
    }
    used.sort_unstable();
    used.dedup();
    used
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any template, any parameter strings: exactly the template's
    /// conditions, the parameter strings as values, the template's expiry.
    #[test]
    fn parameters_are_values_never_syntax(
        expiration in expiration(),
        statements in prop::collection::vec(statement(), 0..8),
        params in prop::collection::vec(param_value(), PARAMS),
    ) {
        let (text, expected) = render(expiration, &statements, &params);
        let given: BTreeMap<String, &str> = used(&statements)
            .into_iter()
            .map(|i| (format!("p{i}"), params[i].as_str()))
            .collect();
        let parsed = Policy::parse_with(&text, &given);
        prop_assert_eq!(parsed.as_ref(), Ok(&expected), "template:\n{}", text);
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.expiration, expiration);
        prop_assert_eq!(parsed.conditions.len(), expected.conditions.len());
        // The canonical text holds the values literally: no placeholder is
        // left in it, and it parses back (with no parameters) to the same policy.
        let reparsed = Policy::parse(&parsed.to_dsl());
        prop_assert_eq!(reparsed.as_ref(), Ok(&parsed));
    }

    /// A parameter no value uses is an error, even when the text mentions it
    /// in a comment.
    #[test]
    fn unused_parameters_are_refused(
        statements in prop::collection::vec(statement(), 0..6),
        params in prop::collection::vec(param_value(), PARAMS),
    ) {
        let (text, _) = render(None, &statements, &params);
        let used = used(&statements);
        let all: BTreeMap<String, &str> = (0..PARAMS)
            .map(|i| (format!("p{i}"), params[i].as_str()))
            .collect();
        let result = Policy::parse_with(&text, &all);
        if used.len() == PARAMS {
            prop_assert!(result.is_ok(), "{:?}", result);
        } else {
            let errors = result.unwrap_err();
            let unused = (0..PARAMS).filter(|i| !used.contains(i)).count();
            prop_assert_eq!(errors.len(), unused);
            for error in errors.iter() {
                prop_assert!(error.expected().contains("the parameter is given but not used"));
                prop_assert_eq!(error.span().start, text.len());
            }
        }
    }

    /// Arbitrary text with arbitrary parameters never panics, and every
    /// error points inside the text.
    #[test]
    fn parse_with_never_panics(
        source in prop_oneof![any::<String>(), "[a-z{}\"$ =\\n;#\\[\\]-]{0,40}"],
        params in prop::collection::btree_map("[a-z_{}-]{0,3}", param_value(), 0..4),
    ) {
        if let Err(errors) = dsl::parse_with(&source, &params) {
            for error in errors.iter() {
                let span = error.span();
                prop_assert!(span.start <= span.end && span.end <= source.len());
                prop_assert!(source.is_char_boundary(span.start) && source.is_char_boundary(span.end));
            }
        }
    }
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap()
}

fn verifier() -> Verifier {
    let keys = |id: &str| (id == "LTAI5tExampleKeyId").then(|| "ExampleSecret".to_owned());
    Verifier::new("examplebucket", "cn-hangzhou", keys)
}

fn signer(version: OssVersion) -> OssSigner {
    let credentials = Credentials::new("LTAI5tExampleKeyId", "ExampleSecret", None).unwrap();
    OssSigner::new(credentials, "cn-hangzhou", "examplebucket")
        .unwrap()
        .with_version(version)
}

fn upload(form: &postpolicy::SignedForm, key: &str) -> Submission {
    let mut fields = vec![("key".to_owned(), key.to_owned())];
    fields.extend(form.fields.clone());
    Submission {
        fields,
        fields_after_file: vec![],
        file: Some(FileInfo {
            filename: "avatar.png".into(),
            content_type: None,
            size: Some(100),
        }),
    }
}

/// The `conditions` of a signed form's policy, as JSON.
fn signed_conditions(form: &postpolicy::SignedForm) -> (String, Vec<serde_json::Value>) {
    let json = postpolicy::Policy::json_from_base64(form.field("policy").unwrap()).unwrap();
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    (
        document["expiration"].as_str().unwrap().to_owned(),
        document["conditions"].as_array().unwrap().clone(),
    )
}

const TEMPLATE: &str = "expires in 10m\nkey starts-with \"user/{user}/\"\ncontent-length 1..10MiB";

#[test]
fn a_quote_and_a_comment_stay_in_the_key_prefix() {
    for version in [OssVersion::V1, OssVersion::V4] {
        let policy = Policy::parse_with(TEMPLATE, [("user", "\"#")]).unwrap();
        assert_eq!(
            policy.to_dsl().lines().nth(1),
            Some(r##"key starts-with "user/\"#/""##)
        );
        let form = signer(version).sign(&policy, now()).unwrap();
        let (_, conditions) = signed_conditions(&form);
        assert!(
            conditions.contains(&serde_json::json!(["starts-with", "$key", "user/\"#/"])),
            "{conditions:?}"
        );
        // Another user's key is refused; only the literal prefix passes.
        let rejected = verifier()
            .verify(&upload(&form, "user/42/avatar.png"), now())
            .unwrap_err();
        assert_eq!(rejected.service_code, "AccessDenied");
        verifier()
            .verify(&upload(&form, "user/\"#/avatar.png"), now())
            .unwrap();
    }
}

#[test]
fn an_expires_statement_in_a_value_does_not_move_the_expiry() {
    let payload = "42/\"; expires at 2099-01-01T00:00:00Z #";
    for version in [OssVersion::V1, OssVersion::V4] {
        let policy = Policy::parse_with(TEMPLATE, [("user", payload)]).unwrap();
        assert_eq!(policy.expiration, Some(Expiration::In { seconds: 600 }));
        let form = signer(version).sign(&policy, now()).unwrap();
        let (expiration, conditions) = signed_conditions(&form);
        assert_eq!(
            expiration,
            postpolicy::format_timestamp(now() + TimeDelta::minutes(10))
        );
        assert!(
            conditions.contains(&serde_json::json!([
                "starts-with",
                "$key",
                format!("user/{payload}/")
            ])),
            "{conditions:?}"
        );
        let key = format!("user/{payload}/avatar.png");
        verifier()
            .verify(&upload(&form, &key), now() + TimeDelta::minutes(5))
            .unwrap();
        // A year later the form is expired, not valid until 2099.
        let rejected = verifier()
            .verify(&upload(&form, &key), now() + TimeDelta::days(365))
            .unwrap_err();
        assert_eq!(rejected.service_code, "AccessDenied");
        assert!(rejected.message.contains("expired"), "{rejected:?}");
    }
}

#[test]
fn every_payload_is_one_literal_value_in_every_value_position() {
    let template = "expires in 10m\n\
        key starts-with \"user/{v}/\"\n\
        x-oss-meta-a = {v}\n\
        x-oss-meta-b = \"<{v}>\"\n\
        content-type in [{v}, \"image/{v}\"]\n\
        x-oss-meta-c not-in [{v}]\n\
        content-length 1..10MiB";
    for payload in PAYLOADS.iter().copied().chain([
        "x".repeat(10 * 1024).as_str(),
        "\"#\n".repeat(4096).as_str(),
    ]) {
        let policy = Policy::parse_with(template, [("v", payload)]).unwrap();
        assert_eq!(policy.expiration, Some(Expiration::In { seconds: 600 }));
        assert_eq!(
            policy.conditions,
            [
                Condition::starts_with("key", format!("user/{payload}/")),
                Condition::eq("x-oss-meta-a", payload),
                Condition::eq("x-oss-meta-b", format!("<{payload}>")),
                Condition::one_of(
                    "content-type",
                    [payload.to_owned(), format!("image/{payload}")]
                ),
                Condition::none_of("x-oss-meta-c", [payload]),
                Condition::content_length(1, 10 << 20),
            ],
            "{payload:?}"
        );
    }
}

#[test]
fn the_builder_takes_the_payloads_as_values_too() {
    for payload in PAYLOADS {
        let policy = Policy::builder()
            .expires_in_seconds(600)
            .key_prefix(format!("user/{payload}/"))
            .metadata("x-oss-meta-owner", *payload)
            .size(1, 10 << 20)
            .build()
            .unwrap();
        assert_eq!(
            policy,
            Policy::parse_with(
                "expires in 10m\nkey starts-with \"user/{p}/\"\nx-oss-meta-owner = {p}\ncontent-length 1..10MiB",
                [("p", *payload)]
            )
            .unwrap()
        );
    }
}
