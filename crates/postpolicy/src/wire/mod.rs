//! The policy JSON the services read, both ways, and its base64 form field.
//!
//! Output is the compact form ali-oss and the browser SDKs send (insertion
//! order, `,`/`:` without spaces, raw UTF-8, `/` unescaped). Input accepts every
//! serialisation seen in official code (docs/oss.md#policy-json): pretty-printed, Python's
//! `", "` separators and `\uXXXX` escapes with surrogate pairs, Go's sorted keys
//! and `\u003c`, Java's `\/`. Rejections use OSS's `InvalidPolicyDocument`
//! vocabulary so the verifier can answer exactly as the service does.
//!
//! - `writer.rs`: compact JSON out (what the signers sign), the echo of a
//!   failing condition, timestamps;
//! - `tree.rs`: JSON in through serde_json, the authority on what is
//!   accepted and on the wording of every rejection;
//! - `scan.rs`: a single pass over documents of the usual shape, borrowing
//!   their strings, for the verifiers' hot path;
//! - `view.rs`: the borrowed policy both readers produce.

use std::borrow::Cow;

use bumpalo::Bump;
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::error::PolicyError;
use crate::policy::Policy;
use crate::time::TimeRangeError;

mod scan;
mod tree;
mod view;
mod writer;

pub(crate) use view::{ConditionView, PolicyView};
pub(crate) use writer::{
    echo_condition, push_string, push_u64, put_digits, write_conditions, write_json,
    write_json_after,
};
pub use writer::{format_timestamp, push_timestamp};

/// Serialises `policy` as compact policy JSON; a relative or missing expiration
/// is resolved against `now` (an error when it cannot be stated).
pub fn to_json(policy: &Policy, now: DateTime<Utc>) -> Result<String, TimeRangeError> {
    let expires_at = policy.expires_at(now)?;
    let mut out = String::with_capacity(512);
    write_json(&mut out, expires_at, &[], policy.conditions.iter());
    Ok(out)
}

/// base64 of the UTF-8 policy text, as sent in the `policy` form field.
///
/// Policy base64 is on both hot paths (every signature, every verification),
/// so it goes through a SIMD codec; it is exactly as strict as the `base64`
/// crate's standard engine (padding required, no stray trailing bits).
pub fn to_base64(policy_json: &str) -> String {
    base64_simd::STANDARD.encode_to_string(policy_json.as_bytes())
}

/// [`to_base64`], appended to `out` (a form's fields, written in place).
pub(crate) fn append_base64(out: &mut String, policy_json: &str) {
    base64_simd::STANDARD.encode_append(policy_json.as_bytes(), out);
}

/// Parses policy JSON, accepting everything the services accept.
pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
    view_json(text, &Bump::new()).map(PolicyView::into_policy)
}

/// Parses policy JSON into a view that borrows its strings from `text`, or
/// from `arena` for the strings that differ from their text.
pub(crate) fn view_json<'a>(text: &'a str, arena: &'a Bump) -> Result<PolicyView<'a>, PolicyError> {
    // Documents in the usual shape are read in one pass; anything else goes
    // through the tree-based parser below, which is the authority on what is
    // accepted and on the wording of every rejection.
    match scan::scan(text, arena) {
        Some(view) => Ok(view),
        None => tree::from_json_tree(text, arena),
    }
}

/// What the single-pass scanner (`None` when it leaves the text to the tree
/// parser) and the tree parser make of `text`, so a fuzz target can check that
/// the scanner never accepts a document the tree parser reads otherwise.
/// Only in `--cfg fuzzing` builds.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn scan_and_tree(text: &str) -> (Option<Policy>, Result<Policy, PolicyError>) {
    let arena = Bump::new();
    (
        scan::scan(text, &arena).map(PolicyView::into_policy),
        tree::from_json_tree(text, &arena).map(PolicyView::into_policy),
    )
}

/// Decodes the `policy` form field to its JSON text (no re-serialisation).
pub fn decode_base64(policy_b64: &str) -> Result<String, PolicyError> {
    let bytes = base64_simd::STANDARD
        .decode_to_vec(policy_b64.trim().as_bytes())
        .map_err(|_| not_base64(policy_b64))?;
    String::from_utf8(bytes).map_err(|e| not_utf8(e.utf8_error()))
}

/// Room on the stack for the JSON of a policy up to this size (the usual
/// ones are a few hundred bytes): a verifier decodes one on every upload, and
/// a heap buffer for it cost an allocation and a free each time.
pub(crate) const POLICY_ON_STACK: usize = 2048;

/// [`decode_base64`] into `buf` when the text fits, else onto the heap; the
/// same answers and errors.
pub(crate) fn decode_base64_in<'b>(
    policy_b64: &str,
    buf: &'b mut [std::mem::MaybeUninit<u8>; POLICY_ON_STACK],
) -> Result<Cow<'b, str>, PolicyError> {
    let text = policy_b64.trim().as_bytes();
    let fits = base64_simd::STANDARD
        .decoded_length(text)
        .is_ok_and(|len| len <= POLICY_ON_STACK);
    if !fits {
        return decode_base64(policy_b64).map(Cow::Owned);
    }
    let bytes = base64_simd::STANDARD
        .decode(text, base64_simd::Out::from_uninit_slice(buf))
        .map_err(|_| not_base64(policy_b64))?;
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(not_utf8)
}

fn not_base64(policy_b64: &str) -> PolicyError {
    invalid(
        "Invalid Policy: Policy is not base64 encoded.",
        format!(
            "the policy field is not valid base64 ({})",
            base64_flaw(policy_b64.trim())
        ),
    )
}

fn not_utf8(e: std::str::Utf8Error) -> PolicyError {
    invalid(
        "Invalid Policy: Policy is not UTF-8.",
        format!(
            "the decoded policy is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ),
    )
}

/// What is wrong with text the SIMD decoder refused, in the words of the
/// `base64` crate (`Invalid symbol 32, offset 3.`); only on the error path.
fn base64_flaw(text: &str) -> String {
    use base64::Engine as _;
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Err(e) => e.to_string(),
        Ok(_) => "malformed padding".to_owned(),
    }
}

/// Decodes and parses the `policy` form field.
pub fn from_base64(policy_b64: &str) -> Result<Policy, PolicyError> {
    from_json(&decode_base64(policy_b64)?)
}

fn invalid(service_message: impl Into<String>, reason: impl Into<String>) -> PolicyError {
    PolicyError::new(service_message, reason)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, by hand: this runs on every verification.
pub(crate) fn parse_iso_utc(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let punct = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.len() < 20 || punct.iter().any(|&(i, c)| b.get(i) != Some(&c)) || b.last() != Some(&b'Z') {
        return None;
    }
    let fraction = b.get(19..b.len() - 1)?;
    let nanos = match fraction.split_first() {
        None => 0,
        Some((b'.', digits)) if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            let mut n = 0u32;
            for i in 0..9 {
                n = n * 10 + digits.get(i).map_or(0, |d| u32::from(d - b'0'));
            }
            n
        }
        _ => return None,
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    let time =
        chrono::NaiveTime::from_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?;
    Some(NaiveDateTime::new(date, time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::writer::{echo_condition, first_to_escape, format_timestamp, push_string};
    use super::*;
    use crate::policy::Condition;

    #[test]
    fn oss_message_for_unquoted_keys() {
        let err = from_json("{expiration: \"2026-01-01T00:00:00Z\"}").err();
        assert_eq!(
            err.map(|e| e.service_message().to_owned()).as_deref(),
            Some("Invalid Policy: Invalid JSON: unknown char e")
        );
    }

    #[test]
    fn accepts_every_serialisation_style() {
        let styles = [
            r#"{"expiration":"2026-01-01T00:00:00.000Z","conditions":[["starts-with","$key","a\/b"]]}"#,
            r#"{"conditions": [["starts-with", "$key", "a/b"]], "expiration": "2026-01-01T00:00:00Z"}"#,
            "{\n  \"expiration\": \"2026-01-01T00:00:00.000Z\",\n  \"conditions\": [\n    [\"starts-with\", \"$key\", \"a\\u002fb\"]\n  ]\n}",
        ];
        let parsed: Vec<Policy> = styles.iter().filter_map(|s| from_json(s).ok()).collect();
        assert_eq!(parsed.len(), 3);
        assert!(parsed.windows(2).all(|w| w.first() == w.get(1)));
    }

    #[test]
    fn escaping_finds_every_special_byte_at_every_position() {
        for len in 0..20 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
                    let s: String = (0..len)
                        .map(|i| if i == at { special } else { 'a' })
                        .collect();
                    assert_eq!(first_to_escape(s.as_bytes()), Some(at), "{s:?}");
                    let mut out = String::new();
                    push_string(&mut out, &s);
                    assert_eq!(serde_json::from_str::<String>(&out).ok(), Some(s.clone()));
                    assert_eq!(out, serde_json::to_string(&s).unwrap_or_default());
                }
            }
            let plain: String = "é€😀 ~\u{7f}".chars().cycle().take(len).collect();
            assert_eq!(first_to_escape(plain.as_bytes()), None, "{plain:?}");
        }
    }

    #[test]
    fn surrogate_pairs_decode() {
        let p = from_json(
            r#"{"expiration":"2026-01-01T00:00:00Z","conditions":[{"x-oss-meta-e":"\ud83d\ude00"}]}"#,
        );
        assert_eq!(
            p.ok().and_then(|p| p.conditions.first().cloned()),
            Some(Condition::eq("x-oss-meta-e", "😀"))
        );
    }

    #[test]
    fn echo_uses_python_separators() {
        let c = Condition::one_of("x-oss-meta-category", ["photo", "video"]);
        assert_eq!(
            echo_condition(&c),
            r#"["in", "$x-oss-meta-category", ["photo", "video"]]"#
        );
    }

    /// Found by fuzzing (dsl): `expires in 18446744073709551615s` saturated at
    /// chrono's last date (year 262142), written as `2142-12-31…`. A lifetime
    /// past year 9999 is now an error, and a timestamp is never wrapped.
    #[test]
    fn lifetimes_past_year_9999_are_errors_and_never_wrapped() {
        let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        for seconds in [u64::MAX, 1 << 40, 300_000 * 365 * 86_400] {
            let policy = Policy::new(Some(crate::Expiration::In { seconds }), vec![]);
            assert!(policy.expires_at(now).is_err(), "{seconds}");
            assert!(to_json(&policy, now).is_err(), "{seconds}");
        }
        let minimized = Policy::parse("expires in 18446744073709551615s").unwrap();
        let error = to_json(&minimized, now).unwrap_err().to_string();
        assert!(!error.contains("2142"), "{error}");
        let far = DateTime::from_timestamp(400_000_000_000, 0).unwrap();
        assert_eq!(format_timestamp(far), "9999-12-31T23:59:59.999Z");
        assert_eq!(
            format_timestamp(DateTime::<Utc>::MIN_UTC),
            "0000-01-01T00:00:00.000Z"
        );
    }

    /// Found by fuzzing (policy_json): `["eq","$$x","v"]` was written back as
    /// `{"$x":"v"}`, which reads as the field `x`.
    #[test]
    fn a_field_name_starting_with_dollar_survives_reserialisation() {
        let text = r#"{"expiration":"2027-01-01T00:00:00.000Z","conditions":[["eq","$$success_action_status","200"],{"$$k":"v"}]}"#;
        let policy = from_json(text).unwrap();
        assert_eq!(
            policy.conditions[0].field().unwrap().written(),
            "$success_action_status"
        );
        let json = to_json(&policy, DateTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            json,
            r#"{"expiration":"2027-01-01T00:00:00.000Z","conditions":[["eq","$$success_action_status","200"],["eq","$$k","v"]]}"#
        );
        assert_eq!(from_json(&json).unwrap(), policy);
    }

    #[test]
    fn compact_output_round_trips() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let p = Policy::new(
            Some(crate::Expiration::In { seconds: 60 }),
            vec![
                Condition::eq("bucket", "b"),
                Condition::starts_with("key", "user/"),
                Condition::content_length(1, 6_000_000_000),
            ],
        );
        let json = to_json(&p, now).unwrap();
        assert_eq!(
            json,
            r#"{"expiration":"2023-11-14T22:14:20.000Z","conditions":[{"bucket":"b"},["starts-with","$key","user/"],["content-length-range",1,6000000000]]}"#
        );
        let back = from_json(&json).map(|b| b.conditions);
        assert_eq!(back.ok(), Some(p.conditions));
    }
}
