//! Validation before signing: contradictions the service would reject or that
//! can never be satisfied are errors; risky but valid choices are warnings.
//!
//! The codes are the lint vocabulary: rule names such as
//! `range-min-above-max`, stable (tools match on them) and listed in
//! [`CODES`]. They are not error codes: errors use the upper-case codes of
//! [`crate::Error::code`]. Messages are for people.

use chrono::{DateTime, TimeDelta, Utc};

use crate::diagnostic::{Diagnostic, Severity};
use crate::policy::{Condition, Expiration, Field, MAX_FORM_UPLOAD_BYTES, Policy};
use crate::wire;

/// Every code [`lint`] can emit, with its severity.
pub const CODES: &[(&str, Severity)] = &[
    ("range-min-above-max", Severity::Error),
    ("range-above-5gb", Severity::Error),
    ("eq-contradicts-starts-with", Severity::Error),
    ("eq-contradicts-in", Severity::Error),
    ("conflicting-eq", Severity::Error),
    ("empty-in", Severity::Error),
    ("expired", Severity::Error),
    ("expiration-out-of-range", Severity::Error),
    ("no-key-condition", Severity::Warning),
    ("key-unrestricted", Severity::Warning),
    ("no-size-limit", Severity::Warning),
    ("long-expiration", Severity::Warning),
    ("secret-in-policy", Severity::Warning),
    ("content-type-overridable", Severity::Warning),
    ("range-bounds-as-strings", Severity::Warning),
];

/// How far ahead an expiration may be before it is worth a warning.
pub const LONG_EXPIRATION: TimeDelta = TimeDelta::days(7);

/// Lints `policy` as if it were signed at `now`.
pub fn lint(policy: &Policy, now: DateTime<Utc>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut report = |code: &'static str, message: String, index: Option<usize>| {
        let severity = CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(Severity::Error, |(_, s)| *s);
        out.push(Diagnostic {
            code,
            severity,
            message,
            condition_index: index,
            span: index.and_then(|i| policy.origin(i)),
        });
    };

    for (i, condition) in policy.conditions.iter().enumerate() {
        match condition {
            Condition::ContentLengthRange(range) => {
                if range.is_empty() {
                    report(
                        "range-min-above-max",
                        format!(
                            "content-length-range minimum {} is above its maximum {}: no file can match",
                            range.min, range.max
                        ),
                        Some(i),
                    );
                }
                if range.max > MAX_FORM_UPLOAD_BYTES {
                    report(
                        "range-above-5gb",
                        format!(
                            "content-length-range maximum {} is above the 5 GB ({MAX_FORM_UPLOAD_BYTES} bytes) form-upload limit",
                            range.max
                        ),
                        Some(i),
                    );
                }
            }
            Condition::In { field, values } if values.is_empty() => report(
                "empty-in",
                format!("`{} in []` can never hold: the list is empty", field.name()),
                Some(i),
            ),
            Condition::Eq { field, value } => {
                for (j, other) in policy.conditions.iter().enumerate().skip(i + 1) {
                    contradiction(field, value, other)
                        .into_iter()
                        .for_each(|(code, message)| {
                            report(code, message, Some(j));
                        });
                }
                for (j, earlier) in policy.conditions.iter().enumerate().take(i) {
                    if !matches!(earlier, Condition::Eq { .. }) {
                        contradiction(field, value, earlier)
                            .into_iter()
                            .for_each(|(code, message)| report(code, message, Some(j)));
                    }
                }
                if looks_like_secret(field, value) {
                    report(
                        "secret-in-policy",
                        format!(
                            "the value of `{}` looks like an access-key secret; policies are readable by anyone who sees the form",
                            field.name()
                        ),
                        Some(i),
                    );
                }
            }
            _ => {}
        }
    }

    if let Some(expiration) = policy.expiration {
        // `now` prints in the messages: it must be in range too.
        match crate::time::check_instant(now, "`now`").and_then(|now| expiration.resolve(now)) {
            Err(e) => report("expiration-out-of-range", e.to_string(), None),
            Ok(at) => lint_expiration(expiration, at, now, &mut report),
        }
    }

    let key_conditions: Vec<(usize, &Condition)> = policy
        .conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| c.field().is_some_and(|f| f.is("key")))
        .collect();
    if key_conditions.is_empty() {
        report(
            "no-key-condition",
            "no condition on `key`: anyone holding this form may overwrite any object in the bucket".to_owned(),
            None,
        );
    } else {
        for (i, c) in key_conditions {
            if matches!(c, Condition::StartsWith { prefix, .. } if prefix.is_empty()) {
                report(
                    "key-unrestricted",
                    "`key starts-with \"\"` allows every key: anyone holding this form may overwrite any object".to_owned(),
                    Some(i),
                );
            }
        }
    }
    // OSS stores `x-oss-content-type`, else the file part's Content-Type,
    // else the Content-Type field: a condition on the field alone does not
    // bind the stored type (a form may add `x-oss-content-type: text/html`).
    let restricts = |name: &str| {
        policy
            .conditions
            .iter()
            .position(|c| c.field().is_some_and(|f| f.is(name)))
    };
    if let (Some(i), None) = (restricts("content-type"), restricts("x-oss-content-type")) {
        report(
            "content-type-overridable",
            "`content-type` is restricted but `x-oss-content-type` is not: OSS stores `x-oss-content-type` (then the file part's own Content-Type) ahead of the Content-Type field, so an OSS form can still store any type, text/html included; restrict `x-oss-content-type` the same way".to_owned(),
            Some(i),
        );
    }
    if !policy
        .conditions
        .iter()
        .any(|c| matches!(c, Condition::ContentLengthRange(_)))
    {
        report(
            "no-size-limit",
            "no content-length-range: uploads of any size up to 5 GB are allowed".to_owned(),
            None,
        );
    }
    out
}

/// The contradiction between `field = value` and `other`, if any.
fn contradiction(field: &Field, value: &str, other: &Condition) -> Option<(&'static str, String)> {
    if other.field() != Some(field) {
        return None;
    }
    let name = field.name();
    match other {
        Condition::Eq { value: v, .. } if v != value => Some((
            "conflicting-eq",
            format!("`{name}` must equal both `{value}` and `{v}`: no form can match"),
        )),
        Condition::StartsWith { prefix, .. } if !value.starts_with(prefix.as_str()) => Some((
            "eq-contradicts-starts-with",
            format!(
                "`{name}` must equal `{value}`, which does not start with `{prefix}`: no form can match"
            ),
        )),
        Condition::In { values, .. } if !values.iter().any(|v| v == value) => Some((
            "eq-contradicts-in",
            format!(
                "`{name}` must equal `{value}`, which is not in its `in` list: no form can match"
            ),
        )),
        Condition::NotIn { values, .. } if values.iter().any(|v| v == value) => Some((
            "eq-contradicts-in",
            format!(
                "`{name}` must equal `{value}`, which its `not-in` list forbids: no form can match"
            ),
        )),
        _ => None,
    }
}

/// A 30-character (OSS) or 40-character (AWS) mixed-case alphanumeric value is
/// probably a secret key pasted in the wrong place.
fn looks_like_secret(field: &Field, value: &str) -> bool {
    const SIGNER_FIELDS: [&str; 5] = [
        "x-oss-security-token",
        "x-amz-security-token",
        "callback",
        "x-oss-credential",
        "x-amz-credential",
    ];
    if SIGNER_FIELDS.iter().any(|f| field.is(f)) {
        return false;
    }
    let len_matches = matches!(value.len(), 30 | 40);
    len_matches
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && value.bytes().any(|b| b.is_ascii_uppercase())
        && value.bytes().any(|b| b.is_ascii_lowercase())
        && value.bytes().any(|b| b.is_ascii_digit())
}

/// Lints `policy` as a signer would sign it at `now` with the `key` option
/// (an object key, or a template ending in `${filename}`): the key condition
/// the signer adds is linted with the others, so a per-user key given at
/// signing counts as the key condition, and one the policy contradicts is an
/// error. Its diagnostics have the index the added condition would have (one
/// past the policy's own).
pub fn lint_with_key(policy: &Policy, key: Option<&str>, now: DateTime<Utc>) -> Vec<Diagnostic> {
    let Some(key) = key else {
        return lint(policy, now);
    };
    let condition = crate::sign::key_condition(key);
    if policy.conditions.contains(&condition) {
        return lint(policy, now);
    }
    let mut signed = policy.clone();
    signed.push(condition);
    lint(&signed, now)
}

/// Lints policy JSON as it would be signed unchanged at `now`: [`lint`] of
/// the policy it denotes, plus what only the text shows — a
/// `content-length-range` whose bounds are strings (`"1"`), which AWS S3 and
/// MinIO accept and Garage rejects. An error when the text is not a policy.
pub fn lint_json(text: &str, now: DateTime<Utc>) -> Result<Vec<Diagnostic>, crate::PolicyError> {
    let policy = wire::from_json(text)?;
    let mut out = lint(&policy, now);
    // The text parsed as a policy, so it is JSON with a conditions list.
    let tree: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let conditions = tree
        .get("conditions")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (index, condition) in conditions.iter().enumerate() {
        let Some([op, min, max]) = condition.as_array().map(Vec::as_slice) else {
            continue;
        };
        let is_range = op
            .as_str()
            .is_some_and(|op| op.eq_ignore_ascii_case("content-length-range"));
        if is_range && (min.is_string() || max.is_string()) {
            out.push(Diagnostic {
                code: "range-bounds-as-strings",
                severity: Severity::Warning,
                message: format!(
                    "content-length-range bounds are strings ({min}, {max}): AWS S3 and MinIO accept them, but Garage rejects the policy; write them as numbers"
                ),
                condition_index: Some(index),
                span: None,
            });
        }
    }
    Ok(out)
}

impl Policy {
    /// Lints this policy as if it were signed at `now` (see [`lint`]).
    pub fn lint(&self, now: DateTime<Utc>) -> Vec<Diagnostic> {
        lint(self, now)
    }

    /// Lints this policy as if it were signed at `now` with the signer's
    /// `key` option (see [`lint_with_key`]).
    pub fn lint_with_key(&self, key: Option<&str>, now: DateTime<Utc>) -> Vec<Diagnostic> {
        lint_with_key(self, key, now)
    }
}

/// `expired` and `long-expiration` of an expiration that resolved to `at`.
fn lint_expiration(
    expiration: Expiration,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    report: &mut impl FnMut(&'static str, String, Option<usize>),
) {
    if at <= now {
        report(
            "expired",
            format!(
                "the policy expires at {}, which is not after now ({})",
                wire::format_timestamp(at),
                wire::format_timestamp(now)
            ),
            None,
        );
    } else if at - now > LONG_EXPIRATION {
        let days = match expiration {
            Expiration::In { seconds } => seconds / 86_400,
            Expiration::At(_) => u64::try_from((at - now).num_days()).unwrap_or(u64::MAX),
        };
        report(
            "long-expiration",
            format!(
                "the policy stays valid for about {days} days; a form should live minutes or hours (V4 forms are refused after 7 days anyway)"
            ),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn codes(p: &Policy) -> Vec<&'static str> {
        lint(p, now()).into_iter().map(|d| d.code).collect()
    }

    fn hour() -> Option<Expiration> {
        Some(Expiration::In { seconds: 3600 })
    }

    #[test]
    fn clean_policy_has_no_findings() {
        let p = Policy::new(
            hour(),
            vec![
                Condition::starts_with("key", "user/42/"),
                Condition::content_length(1, 10),
            ],
        );
        assert_eq!(codes(&p), Vec::<&str>::new());
    }

    #[test]
    fn every_error_is_found_with_its_index() {
        let p = Policy::new(
            Some(Expiration::At(now())),
            vec![
                Condition::content_length(10, 1),
                Condition::eq("key", "a/x"),
                Condition::starts_with("key", "b/"),
                Condition::eq("key", "a/y"),
                Condition::one_of("cache-control", Vec::<String>::new()),
                Condition::content_length(0, MAX_FORM_UPLOAD_BYTES + 1),
            ],
        );
        let found = lint(&p, now());
        let has = |code: &str, index: Option<usize>| {
            found
                .iter()
                .any(|d| d.code == code && d.condition_index == index)
        };
        assert!(has("range-min-above-max", Some(0)), "{found:?}");
        assert!(has("eq-contradicts-starts-with", Some(2)), "{found:?}");
        assert!(has("conflicting-eq", Some(3)), "{found:?}");
        assert!(has("empty-in", Some(4)), "{found:?}");
        assert!(has("range-above-5gb", Some(5)), "{found:?}");
        assert!(has("expired", None), "{found:?}");
        assert!(
            found.iter().all(|d| d.severity == Severity::Error),
            "{found:?}"
        );
    }

    #[test]
    fn every_warning_is_found() {
        let p = Policy::new(
            Some(Expiration::In {
                seconds: 8 * 86_400,
            }),
            vec![Condition::eq(
                "x-oss-meta-note",
                "KZo149BD9GLPNiDIEmdQ7dyNKGexam",
            )],
        );
        let c = codes(&p);
        for code in [
            "long-expiration",
            "secret-in-policy",
            "no-key-condition",
            "no-size-limit",
        ] {
            assert!(c.contains(&code), "{code} missing from {c:?}");
        }
        let open = Policy::new(
            hour(),
            vec![
                Condition::starts_with("key", ""),
                Condition::content_length(0, 1),
            ],
        );
        assert_eq!(codes(&open), vec!["key-unrestricted"]);
    }

    #[test]
    fn the_key_option_is_linted_as_the_signer_adds_it() {
        let codes = |policy: &Policy, key: Option<&str>| -> Vec<&'static str> {
            lint_with_key(policy, key, now())
                .iter()
                .map(|d| d.code)
                .collect()
        };
        let sized = Policy::parse("content-length 1..10MiB").unwrap();
        assert_eq!(codes(&sized, None), ["no-key-condition"]);
        assert!(codes(&sized, Some("user/42/${filename}")).is_empty());
        assert!(codes(&sized, Some("user/42/a.png")).is_empty());
        // A template that is all `${filename}` lets the browser pick any key.
        assert_eq!(codes(&sized, Some("${filename}")), ["key-unrestricted"]);
        // A key the policy contradicts can never be uploaded.
        let prefixed = Policy::parse("key starts-with \"user/42/\"\ncontent-length 1..2").unwrap();
        let found = lint_with_key(&prefixed, Some("user/43/a.png"), now());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "eq-contradicts-starts-with");
        assert_eq!(found[0].condition_index, Some(0));
        // The same condition already in the policy is not added twice.
        let exact = Policy::parse("key = a.png\ncontent-length 1..2").unwrap();
        assert_eq!(
            lint_with_key(&exact, Some("a.png"), now()),
            lint(&exact, now())
        );
        assert_eq!(exact.lint_with_key(None, now()), exact.lint(now()));
    }

    #[test]
    fn content_type_alone_does_not_bind_the_stored_type() {
        let base = || {
            vec![
                Condition::starts_with("key", "user/42/"),
                Condition::content_length(1, 10),
            ]
        };
        let mut only_field = base();
        only_field.push(Condition::one_of(
            "Content-Type",
            ["image/png", "image/jpeg"],
        ));
        let found = lint(&Policy::new(hour(), only_field), now());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "content-type-overridable");
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(found[0].condition_index, Some(2));
        assert!(found[0].message.contains("x-oss-content-type"));

        let mut both = base();
        both.push(Condition::starts_with("content-type", "image/"));
        both.push(Condition::starts_with("x-oss-content-type", "image/"));
        assert_eq!(codes(&Policy::new(hour(), both)), Vec::<&str>::new());
        let mut stored_only = base();
        stored_only.push(Condition::eq("x-oss-content-type", "image/png"));
        assert_eq!(codes(&Policy::new(hour(), stored_only)), Vec::<&str>::new());
    }

    #[test]
    fn every_code_is_listed_once() {
        let mut names: Vec<&str> = CODES.iter().map(|(c, _)| *c).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CODES.len());
        assert!(names.contains(&"content-type-overridable"));
    }

    #[test]
    fn string_range_bounds_in_json_are_a_warning() {
        let text = r#"{"expiration":"2027-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],["content-length-range","1",10]]}"#;
        let found = lint_json(text, now()).unwrap();
        let strings: Vec<_> = found
            .iter()
            .filter(|d| d.code == "range-bounds-as-strings")
            .collect();
        assert_eq!(strings.len(), 1, "{found:?}");
        assert_eq!(strings[0].condition_index, Some(2));
        assert_eq!(strings[0].severity, Severity::Warning);
        assert!(
            strings[0].message.contains("(\"1\", 10)"),
            "{}",
            strings[0].message
        );
        assert!(strings[0].message.contains("Garage"));

        let numbers = text.replace("\"1\"", "1");
        let found = lint_json(&numbers, now()).unwrap();
        assert!(
            found.iter().all(|d| d.code != "range-bounds-as-strings"),
            "{found:?}"
        );
        assert_eq!(
            found.len(),
            lint(&Policy::from_json(&numbers).unwrap(), now()).len()
        );
        assert!(lint_json("{", now()).is_err());
    }
}
