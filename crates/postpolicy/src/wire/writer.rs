//! Writing policy JSON: the compact form the signers sign, the echo of a
//! failing condition, and timestamps. Every signature writes one document,
//! so strings are escaped with a word-at-a-time scan and numbers and dates
//! are formatted on the stack.

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::policy::{ByteRange, Condition, Field};

/// Writes compact policy JSON from an expiration instant and conditions in
/// order (signers chain their own conditions with the user's without copying).
pub(crate) fn write_json<'a>(
    out: &mut String,
    expires_at: DateTime<Utc>,
    exact: &[(&'static str, &str)],
    conditions: impl Iterator<Item = &'a Condition>,
) {
    write_json_after(out, expires_at, exact, "", conditions);
}

/// [`write_json`] where some conditions after `exact` are already written
/// (`written`, by [`write_conditions`]: a sign plan keeps its policy's).
pub(crate) fn write_json_after<'a>(
    out: &mut String,
    expires_at: DateTime<Utc>,
    exact: &[(&'static str, &str)],
    written: &str,
    conditions: impl Iterator<Item = &'a Condition>,
) {
    out.reserve(512 + written.len());
    out.push_str("{\"expiration\":\"");
    push_timestamp(out, expires_at);
    out.push_str("\",\"conditions\":[");
    for (i, (name, value)) in exact.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // The signer's own names are plain ASCII: written as they are.
        out.push_str("{\"");
        push_plain(out, name);
        out.push_str("\":");
        push_string(out, value);
        out.push('}');
    }
    let mut empty = exact.is_empty();
    if !written.is_empty() {
        if !empty {
            out.push(',');
        }
        out.push_str(written);
        empty = false;
    }
    for condition in conditions {
        if !std::mem::take(&mut empty) {
            out.push(',');
        }
        push_condition(out, condition, ",");
    }
    out.push_str("]}");
}

/// Conditions as the comma-separated JSON [`write_json_after`] takes.
pub(crate) fn write_conditions<'a>(
    out: &mut String,
    conditions: impl Iterator<Item = &'a Condition>,
) {
    for (i, condition) in conditions.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_condition(out, condition, ",");
    }
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
    // The naive date and time, read once: each field read through the
    // `DateTime` converts to local time again.
    let at = at
        .clamp(crate::time::earliest(), crate::time::latest())
        .naive_utc();
    let (date, time) = (at.date(), at.time());
    let mut text = *b"0000-00-00T00:00:00.000Z";
    put_digits(&mut text, 0, 4, u32::try_from(date.year()).unwrap_or(0));
    put_digits(&mut text, 5, 2, date.month());
    put_digits(&mut text, 8, 2, date.day());
    put_digits(&mut text, 11, 2, time.hour());
    put_digits(&mut text, 14, 2, time.minute());
    put_digits(&mut text, 17, 2, time.second());
    put_digits(&mut text, 20, 3, (time.nanosecond() / 1_000_000).min(999));
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

/// Appends `value` in decimal, without an allocation (itoa writes two
/// digits per step; the loop it replaces cost ~250 instructions a signature).
pub(crate) fn push_u64(out: &mut String, value: u64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Writes `s` as a JSON string the way JSON.stringify and serde_json do: raw
/// UTF-8, `"` and `\\` escaped, control characters as short or `\\u00xx` escapes.
pub(crate) fn push_string(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// A string of ours (an operator, a signer's field name) that holds nothing
/// JSON escapes: copied without the scan.
fn push_plain(out: &mut String, s: &'static str) {
    debug_assert_eq!(first_to_escape(s.as_bytes()), None, "{s:?}");
    out.push_str(s);
}

fn push_escaped(out: &mut String, s: &str) {
    // Most values need no escaping, and those that do (a rule's message
    // quoting a condition) have long plain runs between escapes: the
    // word-at-a-time scan finds each next byte to escape, and the runs are
    // copied whole.
    let mut rest = s;
    while let Some(at) = first_to_escape(rest.as_bytes()) {
        out.push_str(rest.get(..at).unwrap_or_default());
        let byte = rest.as_bytes().get(at).copied().unwrap_or(b' ');
        push_escape(out, byte);
        rest = rest.get(at + 1..).unwrap_or_default();
    }
    out.push_str(rest);
}

/// The JSON escape of a byte [`first_to_escape`] stopped at: `"`, `\\` or
/// a control character (short escapes where JSON has them, else `\u00xx`).
fn push_escape(out: &mut String, byte: u8) {
    let short = match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0c => "\\f",
        _ => "",
    };
    if short.is_empty() {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push_str("\\u00");
        out.push(char::from(
            HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0'),
        ));
        out.push(char::from(
            HEX.get(usize::from(byte & 0xf)).copied().unwrap_or(b'0'),
        ));
    } else {
        out.push_str(short);
    }
}

/// The index of the first byte JSON must escape (`"`, `\\`, below 0x20),
/// eight bytes at a time (SWAR: a zero byte in `x ^ pattern`, or a byte below
/// 0x20, sets that byte's high bit in the mask; the lowest set bit is exact,
/// only bits above it can be false alarms). The last partial word is padded
/// with spaces, which never need escaping.
#[inline]
pub(super) fn first_to_escape(bytes: &[u8]) -> Option<usize> {
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
    if chunks.remainder().is_empty() {
        return None;
    }
    // The tail: a string of eight bytes or more reads its last eight again
    // (the bytes read twice were clean, so they set no bit and borrow
    // nothing); a shorter one goes byte by byte. Assembling a padded word
    // instead stalls the load on the bytes just stored, which measured as a
    // seventh of a whole signing (perf).
    match bytes.len().checked_sub(8) {
        Some(start) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes.get(start..)?);
            let mask = hits(word);
            (mask != 0).then(|| first(start, mask))
        }
        None => bytes
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\'),
    }
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
    out.push_str("[\"");
    push_plain(out, condition.operator());
    out.push('"');
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
