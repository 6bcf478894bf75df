//! The canonical DSL: one statement per line, `expires` first, then the
//! conditions in order. See `tests/dsl/README.md` for the rules; parsing the
//! output gives an equal policy back.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::lexical::{escape_char, is_bare_char, is_invisible, is_name_char};
use crate::policy::{Condition, Expiration, Field, Policy};

/// Prints `policy` as canonical DSL (every line ends in `\n`).
pub(crate) fn print(policy: &Policy) -> String {
    let mut out = String::new();
    match policy.expiration {
        Some(Expiration::In { seconds }) => {
            out.push_str("expires in ");
            out.push_str(&format_duration(seconds));
            out.push('\n');
        }
        Some(Expiration::At(at)) => {
            out.push_str("expires at ");
            out.push_str(&format_timestamp(at));
            out.push('\n');
        }
        None => {}
    }
    for condition in &policy.conditions {
        push_condition(&mut out, condition);
        out.push('\n');
    }
    out
}

fn push_condition(out: &mut String, condition: &Condition) {
    match condition {
        Condition::Eq { field, value } => {
            push_field(out, field);
            out.push_str(" = ");
            push_value(out, value);
        }
        Condition::StartsWith { field, prefix } => {
            push_field(out, field);
            out.push_str(" starts-with ");
            push_value(out, prefix);
        }
        Condition::In { field, values } => {
            push_field(out, field);
            out.push_str(" in ");
            push_list(out, values);
        }
        Condition::NotIn { field, values } => {
            push_field(out, field);
            out.push_str(" not-in ");
            push_list(out, values);
        }
        Condition::ContentLengthRange(range) => {
            out.push_str("content-length ");
            out.push_str(&format_size(range.min));
            out.push_str("..");
            out.push_str(&format_size(range.max));
        }
    }
}

/// The lower-case name without `$`; quoted when it is a statement keyword or
/// has characters a bare name cannot have.
fn push_field(out: &mut String, field: &Field) {
    let name = field.name();
    let plain = !name.is_empty()
        && name.chars().all(is_name_char)
        && !["expires", "content-length", "content-length-range"]
            .iter()
            .any(|keyword| name.eq_ignore_ascii_case(keyword));
    if plain {
        out.push_str(name);
    } else {
        push_quoted(out, name);
    }
}

/// Bare when the value is a bare word that reads unambiguously (no `\`, no
/// braces, no invisible characters), quoted otherwise.
fn push_value(out: &mut String, value: &str) {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| is_bare_char(c) && !matches!(c, '\\' | '{' | '}') && !is_invisible(c));
    if bare {
        out.push_str(value);
    } else {
        push_quoted(out, value);
    }
}

/// `text` in quotes, escaped, with its braces doubled so that none reads as a
/// placeholder, except in a `${…}` (up to its first `}`, or the end), which
/// the parser reads as literal text as it stands.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    let mut in_variable = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_variable {
            in_variable = c != '}';
            escape_char(out, c);
            continue;
        }
        match c {
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push_str("${");
                in_variable = true;
            }
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            c => escape_char(out, c),
        }
    }
    out.push('"');
}

fn push_list(out: &mut String, values: &[String]) {
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_value(out, value);
    }
    out.push(']');
}

/// Bytes in the largest binary unit that divides them exactly (`10MiB`),
/// plain bytes otherwise; zero is `0`.
pub(crate) fn format_size(bytes: u64) -> String {
    if bytes != 0 {
        for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
            if bytes.is_multiple_of(1u64 << shift) {
                return format!("{}{unit}", bytes >> shift);
            }
        }
    }
    bytes.to_string()
}

/// `1d2h3m4s` without zero parts; `0s` for zero.
pub(crate) fn format_duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut rest = seconds;
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        let count = rest / size;
        rest %= size;
        if count > 0 {
            let _ = write!(out, "{count}{unit}");
        }
    }
    out
}

/// RFC 3339 in UTC with `Z`; fractional seconds (3, 6 or 9 digits) only when
/// not zero.
pub(crate) fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sizes() {
        assert_eq!(format_size(0), "0");
        assert_eq!(format_size(1), "1");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(format_size(1024), "1KiB");
        assert_eq!(format_size(1536), "1536");
        assert_eq!(format_size(3 << 19), "1536KiB");
        assert_eq!(format_size(10 << 20), "10MiB");
        assert_eq!(format_size(5 << 30), "5GiB");
        assert_eq!(format_size(1 << 40), "1024GiB");
        assert_eq!(format_size(u64::MAX), "18446744073709551615");
        assert_eq!(format_size(u64::MAX - (1 << 30) + 1), "17179869183GiB");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(59), "59s");
        assert_eq!(format_duration(60), "1m");
        assert_eq!(format_duration(5_400), "1h30m");
        assert_eq!(format_duration(86_400), "1d");
        assert_eq!(format_duration(90_061), "1d1h1m1s");
        assert_eq!(format_duration(u64::MAX), "213503982334601d7h15s");
    }

    #[test]
    fn timestamps() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(format_timestamp(at), "2026-12-01T00:00:00Z");
        let at = at + chrono::TimeDelta::milliseconds(250);
        assert_eq!(format_timestamp(at), "2026-12-01T00:00:00.250Z");
        let at = at + chrono::TimeDelta::nanoseconds(1);
        assert_eq!(format_timestamp(at), "2026-12-01T00:00:00.250000001Z");
    }

    #[test]
    fn values_and_names() {
        let mut out = String::new();
        push_value(&mut out, "image/png");
        out.push(' ');
        push_value(&mut out, "");
        out.push(' ');
        push_value(&mut out, "a b\"c\\d\ne\tf\u{1}\u{200b}é");
        assert_eq!(
            out,
            "image/png \"\" \"a b\\\"c\\\\d\\ne\\tf\\u{1}\\u{200b}é\""
        );
        let mut out = String::new();
        for name in ["Key", "$x-oss-meta-A", "expires", "a b", "$$x", "x:var"] {
            push_field(&mut out, &Field::new(name));
            out.push(' ');
        }
        assert_eq!(out, "key x-oss-meta-a \"expires\" \"a b\" \"$x\" x:var ");
    }
}
