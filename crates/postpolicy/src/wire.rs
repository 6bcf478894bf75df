//! The policy JSON the services read, both ways, and its base64 form field.
//!
//! Output is the compact form ali-oss and the browser SDKs send (insertion
//! order, `,`/`:` without spaces, raw UTF-8, `/` unescaped). Input accepts every
//! serialisation seen in official code (docs/oss.md#policy-json): pretty-printed, Python's
//! `", "` separators and `\uXXXX` escapes with surrogate pairs, Go's sorted keys
//! and `\u003c`, Java's `\/`. Rejections use OSS's `InvalidPolicyDocument`
//! vocabulary so the verifier can answer exactly as the service does.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde_json::Value;

use std::borrow::Cow;

use crate::error::PolicyError;
use crate::policy::{ByteRange, Condition, Field, Policy};
use crate::policy_view::{ConditionView, PolicyView};
use crate::time::TimeRangeError;

mod scan;

/// Serialises `policy` as compact policy JSON; a relative or missing expiration
/// is resolved against `now` (an error when it cannot be stated).
pub fn to_json(policy: &Policy, now: DateTime<Utc>) -> Result<String, TimeRangeError> {
    let expires_at = policy.expires_at(now)?;
    let mut out = String::with_capacity(512);
    write_json(&mut out, expires_at, &[], policy.conditions.iter());
    Ok(out)
}

/// Writes compact policy JSON from an expiration instant and conditions in
/// order (signers chain their own conditions with the user's without copying).
pub(crate) fn write_json<'a>(
    out: &mut String,
    expires_at: DateTime<Utc>,
    exact: &[(&str, &str)],
    conditions: impl Iterator<Item = &'a Condition>,
) {
    out.reserve(512);
    out.push_str("{\"expiration\":\"");
    push_timestamp(out, expires_at);
    out.push_str("\",\"conditions\":[");
    for (i, (name, value)) in exact.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_exact(out, name, value);
    }
    for (i, condition) in conditions.enumerate() {
        if i > 0 || !exact.is_empty() {
            out.push(',');
        }
        push_condition(out, condition, ",");
    }
    out.push_str("]}");
}

/// base64 of the UTF-8 policy text, as sent in the `policy` form field.
///
/// Policy base64 is on both hot paths (every signature, every verification),
/// so it goes through a SIMD codec; it is exactly as strict as the `base64`
/// crate's standard engine (padding required, no stray trailing bits).
pub fn to_base64(policy_json: &str) -> String {
    base64_simd::STANDARD.encode_to_string(policy_json.as_bytes())
}

/// Parses policy JSON, accepting everything the services accept.
pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
    view_json(text).map(PolicyView::into_policy)
}

/// Parses policy JSON into a view that borrows its strings from `text`.
pub(crate) fn view_json(text: &str) -> Result<PolicyView<'_>, PolicyError> {
    // Documents in the usual shape are read in one pass; anything else goes
    // through the tree-based parser below, which is the authority on what is
    // accepted and on the wording of every rejection.
    match scan::scan(text) {
        Some(view) => Ok(view),
        None => from_json_tree(text),
    }
}

/// What the single-pass scanner (`None` when it leaves the text to the tree
/// parser) and the tree parser make of `text`, so a fuzz target can check that
/// the scanner never accepts a document the tree parser reads otherwise.
/// Only in `--cfg fuzzing` builds.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn scan_and_tree(text: &str) -> (Option<Policy>, Result<Policy, PolicyError>) {
    (
        scan::scan(text).map(PolicyView::into_policy),
        from_json_tree(text).map(PolicyView::into_policy),
    )
}

fn from_json_tree(text: &str) -> Result<PolicyView<'static>, PolicyError> {
    let value: Value = serde_json::from_str(text).map_err(|e| json_syntax_error(text, &e))?;
    let Value::Object(document) = value else {
        return Err(invalid(
            "Invalid Policy: Policy must be a JSON object.",
            "the policy document is not a JSON object",
        ));
    };
    if document.is_empty() {
        return Err(invalid(
            "Invalid Policy: Policy is empty.",
            "the policy document is empty: it needs `expiration` and `conditions`",
        ));
    }
    let expiration = match document.get("expiration") {
        None => {
            return Err(invalid(
                "Invalid Policy: Policy missing expiration.",
                "the policy has no `expiration`",
            ));
        }
        Some(Value::String(s)) => parse_expiration(s)?,
        Some(other) => {
            return Err(invalid(
                "Invalid Policy: Invalid expiration: expiration must be a string.",
                format!("`expiration` must be a string, found {}", kind_of(other)),
            ));
        }
    };
    let items = match document.get("conditions") {
        None => {
            return Err(invalid(
                "Invalid Policy: Policy missing conditions.",
                "the policy has no `conditions`",
            ));
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(invalid(
                "Invalid Policy: Invalid conditions: conditions must be a list.",
                format!("`conditions` must be a list, found {}", kind_of(other)),
            ));
        }
    };
    let conditions = items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_condition(i, item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PolicyView {
        expires_at: expiration,
        conditions,
    })
}

/// Decodes the `policy` form field to its JSON text (no re-serialisation).
pub fn decode_base64(policy_b64: &str) -> Result<String, PolicyError> {
    let bytes = base64_simd::STANDARD
        .decode_to_vec(policy_b64.trim().as_bytes())
        .map_err(|_| {
            invalid(
                "Invalid Policy: Policy is not base64 encoded.",
                format!(
                    "the policy field is not valid base64 ({})",
                    base64_flaw(policy_b64.trim())
                ),
            )
        })?;
    String::from_utf8(bytes).map_err(|e| {
        invalid(
            "Invalid Policy: Policy is not UTF-8.",
            format!(
                "the decoded policy is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
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

/// The condition as a JSON array with `", "` separators and raw UTF-8, the way
/// OSS echoes a failing condition (`["eq", "$key", "user/1"]`); map conditions
/// are echoed in their `eq` form.
pub fn echo_condition(condition: &Condition) -> String {
    let mut out = String::new();
    push_condition_list(&mut out, condition, ", ");
    out
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form every SDK writes and policies state
/// their expiration in. Public because the CLI, the dev server and the
/// bindings print instants (a form's `expires_at`, an upload's time) the
/// same way; an instant outside years 0000–9999 is written as the nearest
/// one inside.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(24);
    push_timestamp(&mut out, at);
    out
}

/// Writes `at` as `YYYY-MM-DDTHH:MM:SS.mmmZ`. Callers check the range first
/// (`crate::time`); an instant outside years 0000–9999 that still gets here
/// (a hand-made `SignedForm`) is written as the nearest one inside, never
/// with wrapped digits.
pub(crate) fn push_timestamp(out: &mut String, at: DateTime<Utc>) {
    let at = at.clamp(crate::time::earliest(), crate::time::latest());
    let mut text = *b"0000-00-00T00:00:00.000Z";
    put_digits(&mut text, 0, 4, u32::try_from(at.year()).unwrap_or(0));
    put_digits(&mut text, 5, 2, at.month());
    put_digits(&mut text, 8, 2, at.day());
    put_digits(&mut text, 11, 2, at.hour());
    put_digits(&mut text, 14, 2, at.minute());
    put_digits(&mut text, 17, 2, at.second());
    put_digits(&mut text, 20, 3, at.timestamp_subsec_millis().min(999));
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// Writes `value` as exactly `width` zero-padded decimal digits at `at` (higher
/// digits beyond `width` are dropped, which the callers' ranges exclude).
/// Timestamps are formatted on the stack this way on every signature.
pub(crate) fn put_digits(buffer: &mut [u8], at: usize, width: usize, value: u32) {
    let mut rest = value;
    for i in (at..at + width).rev() {
        if let Some(slot) = buffer.get_mut(i) {
            *slot = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
    }
}

/// Appends `value` in decimal without an intermediate allocation.
fn push_u64(out: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let mut n = value;
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(slot) = digits.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in digits.get(i..).unwrap_or_default() {
        out.push(char::from(*d));
    }
}

/// Writes `s` as a JSON string the way JSON.stringify and serde_json do: raw
/// UTF-8, `"` and `\\` escaped, control characters as short or `\\u00xx` escapes.
pub(crate) fn push_string(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

fn push_escaped(out: &mut String, s: &str) {
    // Most values need no escaping: find that out with a tight scan first.
    let Some(first) = first_to_escape(s.as_bytes()) else {
        out.push_str(s);
        return;
    };
    out.push_str(s.get(..first).unwrap_or_default());
    let s = s.get(first..).unwrap_or_default();
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(
                HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
            ));
            out.push(char::from(
                HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'),
            ));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

/// The index of the first byte JSON must escape (`"`, `\\`, below 0x20),
/// eight bytes at a time (SWAR: a zero byte in `x ^ pattern`, or a byte below
/// 0x20, sets that byte's high bit in the mask; the lowest set bit is exact,
/// only bits above it can be false alarms). The last partial word is padded
/// with spaces, which never need escaping.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_less = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS;
    let hits = |word: [u8; 8]| {
        let x = u64::from_le_bytes(word);
        has_less(x, 0x20) | has_less(x ^ (ONES * 0x22), 1) | has_less(x ^ (ONES * 0x5c), 1)
    };
    let first = |offset: usize, mask: u64| offset + (mask.trailing_zeros() / 8) as usize;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mask = hits(word);
        if mask != 0 {
            return Some(first(offset, mask));
        }
        offset += 8;
    }
    let rest = chunks.remainder();
    let mut word = [b' '; 8];
    word.get_mut(..rest.len())?.copy_from_slice(rest);
    let mask = hits(word);
    (mask != 0).then(|| first(offset, mask))
}

fn push_field(out: &mut String, field: &Field) {
    out.push_str("\"$");
    push_escaped(out, field.written());
    out.push('"');
}

/// `{"name":"value"}`, the map form of an exact condition.
fn push_exact(out: &mut String, name: &str, value: &str) {
    out.push('{');
    push_string(out, name);
    out.push(':');
    push_string(out, value);
    out.push('}');
}

fn push_condition(out: &mut String, condition: &Condition, sep: &str) {
    match condition {
        // A map key loses one leading `$` when read, so a name that itself
        // starts with `$` is written in the list form, where the `$` is explicit.
        Condition::Eq { field, value } if !field.written().starts_with('$') => {
            push_exact(out, field.written(), value)
        }
        _ => push_condition_list(out, condition, sep),
    }
}

fn push_condition_list(out: &mut String, condition: &Condition, sep: &str) {
    out.push('[');
    push_string(out, condition.operator());
    out.push_str(sep);
    match condition {
        Condition::Eq { field, value } => {
            push_field(out, field);
            out.push_str(sep);
            push_string(out, value);
        }
        Condition::StartsWith { field, prefix } => {
            push_field(out, field);
            out.push_str(sep);
            push_string(out, prefix);
        }
        Condition::In { field, values } | Condition::NotIn { field, values } => {
            push_field(out, field);
            out.push_str(sep);
            out.push('[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                push_string(out, v);
            }
            out.push(']');
        }
        Condition::ContentLengthRange(ByteRange { min, max }) => {
            push_u64(out, *min);
            out.push_str(sep);
            push_u64(out, *max);
        }
    }
    out.push(']');
}

fn invalid(service_message: impl Into<String>, reason: impl Into<String>) -> PolicyError {
    PolicyError::new(service_message, reason)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Maps a JSON syntax error to OSS's parser wording (`unknown char e`,
/// `, or ] expected`), keeping serde's position in the reason.
fn json_syntax_error(text: &str, error: &serde_json::Error) -> PolicyError {
    let detail = error.to_string();
    let service = if detail.contains("expected `,` or `]`") {
        ", or ] expected".to_owned()
    } else if detail.contains("expected `,` or `}`") {
        ", or } expected".to_owned()
    } else if detail.contains("EOF") {
        "unexpected end of input".to_owned()
    } else {
        match char_at(text, error.line(), error.column()) {
            Some(c) => format!("unknown char {c}"),
            None => "unexpected end of input".to_owned(),
        }
    };
    invalid(
        format!("Invalid Policy: Invalid JSON: {service}"),
        format!("the policy is not valid JSON: {detail}"),
    )
}

/// The character serde_json stopped at (1-based line, 1-based column of the
/// last byte it read).
fn char_at(text: &str, line: usize, column: usize) -> Option<char> {
    let line_text = text.lines().nth(line.checked_sub(1)?)?;
    let byte = column.checked_sub(1)?;
    let mut start = byte.min(line_text.len());
    while !line_text.is_char_boundary(start) {
        start -= 1;
    }
    line_text.get(start..)?.chars().next()
}

fn parse_expiration(text: &str) -> Result<DateTime<Utc>, PolicyError> {
    if text.is_empty() {
        return Err(invalid(
            "Invalid Policy: Invalid expiration: expiration is empty.",
            "`expiration` is empty",
        ));
    }
    parse_iso_utc(text).ok_or_else(|| {
        invalid(
            format!("Invalid Policy: Invalid expiration: {text}."),
            format!(
                "`expiration` `{text}` is not an ISO 8601 UTC time such as 2026-01-01T00:00:00.000Z"
            ),
        )
    })
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

fn parse_condition(index: usize, item: &Value) -> Result<ConditionView<'static>, PolicyError> {
    match item {
        Value::Object(map) => {
            let mut entries = map.iter();
            match (entries.next(), entries.next()) {
                (Some((name, value)), None) => Ok(ConditionView::Eq {
                    field: field_name(name),
                    value: string_value(index, value)?,
                }),
                _ => Err(invalid(
                    "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
                    format!(
                        "condition {index} is an object with {} properties; an exact-match condition has exactly one",
                        map.len()
                    ),
                )),
            }
        }
        Value::Array(parts) => parse_list_condition(index, parts),
        other => Err(invalid(
            "Invalid Policy: Invalid Condition: condition must be a list or a map.",
            format!(
                "condition {index} is {}; conditions are objects or lists",
                kind_of(other)
            ),
        )),
    }
}

fn parse_list_condition(
    index: usize,
    parts: &[Value],
) -> Result<ConditionView<'static>, PolicyError> {
    let Some(Value::String(op)) = parts.first() else {
        return Err(invalid(
            "Invalid Policy: Invalid Condition: missing match mode.",
            format!("condition {index} does not start with an operator such as \"eq\""),
        ));
    };
    let op = op.to_ascii_lowercase();
    if !matches!(
        op.as_str(),
        "eq" | "starts-with" | "in" | "not-in" | "content-length-range"
    ) {
        return Err(invalid(
            format!("Invalid Policy: Invalid Condition: unknown match mode {op}."),
            format!(
                "condition {index} uses the unknown operator `{op}`; expected eq, starts-with, in, not-in or content-length-range"
            ),
        ));
    }
    if parts.len() != 3 {
        return Err(invalid(
            format!("Invalid Policy: Invalid Condition: {op} needs 3 elements."),
            format!(
                "condition {index} (`{op}`) has {} elements; expected 3",
                parts.len()
            ),
        ));
    }
    let (second, third) = match (parts.get(1), parts.get(2)) {
        (Some(a), Some(b)) => (a, b),
        _ => unreachable_arity(index)?,
    };
    if op == "content-length-range" {
        let min = size_value(index, second)?;
        let max = size_value(index, third)?;
        if max < min {
            return Err(invalid(
                "Invalid Policy: Invalid content-length-range: max must not be less than min.",
                format!(
                    "condition {index}: content-length-range maximum {max} is below minimum {min}"
                ),
            ));
        }
        return Ok(ConditionView::ContentLengthRange(ByteRange { min, max }));
    }
    let Value::String(name) = second else {
        return Err(invalid(
            "Invalid Policy: Invalid Condition: field name must be a string.",
            format!(
                "condition {index}: the field name is {}, expected a string like \"$key\"",
                kind_of(second)
            ),
        ));
    };
    let field = field_name(name);
    match op.as_str() {
        "eq" => Ok(ConditionView::Eq {
            field,
            value: string_value(index, third)?,
        }),
        "starts-with" => Ok(ConditionView::StartsWith {
            field,
            prefix: string_value(index, third)?,
        }),
        _ => {
            let Value::Array(items) = third else {
                return Err(invalid(
                    format!("Invalid Policy: Invalid Condition: {op} value must be a list."),
                    format!(
                        "condition {index}: `{op}` takes a list of values, found {}",
                        kind_of(third)
                    ),
                ));
            };
            let values = items
                .iter()
                .map(|v| string_value(index, v))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "in" {
                ConditionView::In { field, values }
            } else {
                ConditionView::NotIn { field, values }
            })
        }
    }
}

fn unreachable_arity<T>(index: usize) -> Result<T, PolicyError> {
    Err(invalid(
        "Invalid Policy: Invalid Condition: wrong number of elements.",
        format!("condition {index} has the wrong number of elements"),
    ))
}

/// A field name without its `$`, owned (the tree it came from is dropped).
fn field_name(name: &str) -> Cow<'static, str> {
    Cow::Owned(name.strip_prefix('$').unwrap_or(name).to_owned())
}

fn string_value(index: usize, value: &Value) -> Result<Cow<'static, str>, PolicyError> {
    match value {
        Value::String(s) => Ok(Cow::Owned(s.clone())),
        other => Err(invalid(
            "Invalid Policy: Invalid Condition: value must be a string.",
            format!(
                "condition {index}: the value is {}, expected a string",
                kind_of(other)
            ),
        )),
    }
}

fn size_value(index: usize, value: &Value) -> Result<u64, PolicyError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        invalid(
            "Invalid Policy: Invalid content-length-range: bounds must be non-negative integers.",
            format!(
                "condition {index}: content-length-range bound `{value}` is not a non-negative integer"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
