//! The DSL's tokens that carry a value: sizes, durations, quoted strings, bare
//! words and timestamps, plus the character classes the parser and printer
//! share.
//!
//! Every function here is a nom parser over `&str` with [`DslError`]; none can
//! panic or wrap around: a number too large for `u64` is an error.
//!
//! Strings and bare words are read into a [`Template`]: their literal text
//! and, apart, the `{name}` placeholders found in it. The parser fills those in
//! only after the whole statement has been read, so what a parameter holds is
//! never read as syntax.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use nom::{Err, IResult};

use super::error::DslError;

type Res<'a, T> = IResult<&'a str, T, DslError<'a>>;

pub(crate) const EXPECTED_SIZE: &str = "size";
pub(crate) const EXPECTED_SIZE_UNIT: &str = "size unit (B, KB, MB, GB, KiB, MiB, GiB)";
pub(crate) const EXPECTED_WHOLE_SIZE: &str = "whole number of bytes";
pub(crate) const EXPECTED_SIZE_MAX: &str = "size of at most 18446744073709551615 bytes";
pub(crate) const EXPECTED_DURATION: &str = "duration (e.g. 1h30m)";
pub(crate) const EXPECTED_DURATION_UNIT: &str = "duration unit (d, h, m, s)";
pub(crate) const EXPECTED_DURATION_END: &str = "end of duration";
pub(crate) const EXPECTED_DURATION_MAX: &str = "duration of at most 18446744073709551615 seconds";
pub(crate) const EXPECTED_CLOSING_QUOTE: &str = "closing '\"'";
pub(crate) const EXPECTED_ESCAPE: &str = "escape (\\\", \\\\, \\n, \\t or \\u{…})";
pub(crate) const EXPECTED_UNICODE_ESCAPE: &str = "unicode escape \\u{…} with 1 to 6 hex digits";
pub(crate) const EXPECTED_SCALAR: &str = "unicode scalar value (at most 10FFFF, not a surrogate)";
pub(crate) const EXPECTED_TIMESTAMP: &str = "UTC timestamp like 2026-12-01T00:00:00Z";
pub(crate) const EXPECTED_REAL_TIME: &str = "existing date and time";
pub(crate) const EXPECTED_PLACEHOLDER: &str = "placeholder {name} (letters, digits and '_', not starting with a digit) or '{{' for a literal '{'";
pub(crate) const EXPECTED_DOUBLED_CLOSE: &str = "'}}' for a literal '}'";
pub(crate) const EXPECTED_WHOLE_PLACEHOLDER: &str =
    "quotes around a value with a placeholder inside it";

/// A string or bare word as written: its literal text, with the placeholders
/// to fill in kept apart (each at a byte index of `text`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Template<'a> {
    pub(crate) text: String,
    /// Where each placeholder goes in `text`, and the `{name}` as written (a
    /// slice of the source, so that errors can point at it).
    pub(crate) holes: Vec<(usize, &'a str)>,
}

impl<'a> Template<'a> {
    fn literal(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            holes: Vec::new(),
        }
    }

    fn push_hole(&mut self, placeholder: &'a str) {
        self.holes.push((self.text.len(), placeholder));
    }
}

/// A parameter name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_param_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The length in bytes of the `{name}` placeholder at the start of `s`.
pub(crate) fn placeholder_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('{')?;
    let name = take_while_str(rest, |c| c.is_ascii_alphanumeric() || c == '_');
    (is_param_name(name) && after(rest, name.len()).starts_with('}')).then_some(name.len() + 2)
}

/// The name inside a `{name}` placeholder as written.
pub(crate) fn placeholder_name(placeholder: &str) -> &str {
    placeholder
        .get(1..placeholder.len().saturating_sub(1))
        .unwrap_or_default()
}

/// `word` when it is exactly one placeholder.
pub(crate) fn whole_placeholder(word: &str) -> Option<&str> {
    (placeholder_len(word) == Some(word.len())).then_some(word)
}

/// How an error names a token: `placeholder {name}` for a placeholder where
/// none may be, else the token in double quotes.
pub(crate) fn show_token(word: &str) -> String {
    match whole_placeholder(word) {
        Some(placeholder) => format!("placeholder {placeholder}"),
        None => show(word),
    }
}

/// What a `$`, `{` or `}` at the start of some text means (outside `${…}`).
enum Brace<'a> {
    /// `{{` or `}}`: one literal brace, from two bytes.
    Literal(char),
    /// `${`: a service variable such as `${filename}`, literal text up to and
    /// including its `}`.
    Variable,
    /// `{name}`.
    Placeholder(&'a str),
}

/// Reads the brace syntax at the start of `s`: `None` when `s` starts with
/// none of it (a `$` not followed by `{`, or any other character).
fn brace(s: &str) -> Result<Option<Brace<'_>>, Err<DslError<'_>>> {
    if s.starts_with("${") {
        return Ok(Some(Brace::Variable));
    }
    if s.starts_with("{{") {
        return Ok(Some(Brace::Literal('{')));
    }
    if s.starts_with("}}") {
        return Ok(Some(Brace::Literal('}')));
    }
    if s.starts_with('}') {
        return Err(Err::Failure(DslError::found(
            s,
            EXPECTED_DOUBLED_CLOSE,
            "'}'".to_owned(),
            1,
        )));
    }
    if !s.starts_with('{') {
        return Ok(None);
    }
    if let Some(len) = placeholder_len(s) {
        return Ok(Some(Brace::Placeholder(s.get(..len).unwrap_or_default())));
    }
    // What was written: up to the closing brace when there is one nearby.
    let inner = take_while_str(after(s, 1), |c| {
        !matches!(c, '{' | '}' | '"' | '\\') && is_bare_char(c)
    });
    let len = 1 + inner.len() + usize::from(after(s, 1 + inner.len()).starts_with('}'));
    let found = match len {
        1 => "'{'".to_owned(),
        _ => show(s.get(..len).unwrap_or_default()),
    };
    Err(Err::Failure(DslError::found(
        s,
        EXPECTED_PLACEHOLDER,
        found,
        len,
    )))
}

/// Whitespace inside a line (everything `char::is_whitespace` but `\n`).
pub(crate) fn is_inline_space(c: char) -> bool {
    c != '\n' && c.is_whitespace()
}

/// Characters that end a bare word and mean something on their own.
pub(crate) fn is_delimiter(c: char) -> bool {
    matches!(c, ',' | ';' | '#' | '[' | ']' | '"')
}

/// A character of a bare word: no whitespace, no control, no delimiter.
/// (Braces are bare characters; what they mean is read by [`bare`].)
pub(crate) fn is_bare_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !is_delimiter(c)
}

/// A character of an unquoted field name.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

/// Characters that are invisible or reorder text (format characters,
/// private-use characters and noncharacters): the printer writes them as
/// `\u{…}` so a printed policy shows what it contains (control characters are
/// escaped too, see [`escape_char`]).
pub(crate) fn is_invisible(c: char) -> bool {
    let noncharacter =
        matches!(u32::from(c) & 0xFFFE, 0xFFFE) || matches!(c, '\u{FDD0}'..='\u{FDEF}');
    noncharacter
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}' | '\u{E000}'..='\u{F8FF}'
            | '\u{F0000}'..='\u{10FFFF}' | '\u{E0000}'..='\u{E007F}')
}

/// Writes `c` as it appears inside a quoted string.
pub(crate) fn escape_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || is_invisible(c) => {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
        c => out.push(c),
    }
}

/// `"text"` for error messages: short, with control characters escaped.
pub(crate) fn show(text: &str) -> String {
    const MAX_CHARS: usize = 32;
    let mut out = String::from("\"");
    for (n, c) in text.chars().enumerate() {
        if n == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// What the input at `at` is, for `found …`, and how many bytes it spans.
pub(crate) fn describe(at: &str) -> (String, usize) {
    let mut chars = at.chars();
    match chars.next() {
        None => ("end of input".to_owned(), 0),
        Some('\n') => ("end of line".to_owned(), 0),
        Some('\r') if chars.next() == Some('\n') => ("end of line".to_owned(), 0),
        Some('#') => ("comment".to_owned(), at.find('\n').unwrap_or(at.len())),
        Some(c) if is_delimiter(c) || c == '=' => (format!("'{c}'"), c.len_utf8()),
        Some(c) if c.is_whitespace() => ("whitespace".to_owned(), c.len_utf8()),
        Some(c) if c.is_control() => (format!("'\\u{{{:x}}}'", u32::from(c)), c.len_utf8()),
        Some('{') if placeholder_len(at).is_some() => {
            let len = placeholder_len(at).unwrap_or(1);
            (show_token(at.get(..len).unwrap_or_default()), len)
        }
        Some(_) => {
            let word = take_while_str(at, is_bare_char);
            (show(word), word.len())
        }
    }
}

/// The longest prefix of `s` whose characters satisfy `pred`.
pub(crate) fn take_while_str(s: &str, pred: impl Fn(char) -> bool) -> &str {
    let end = s.find(|c: char| !pred(c)).unwrap_or(s.len());
    s.get(..end).unwrap_or_default()
}

/// `s` after its first `n` bytes (empty when out of range).
fn after(s: &str, n: usize) -> &str {
    s.get(n..).unwrap_or_default()
}

/// Parses ASCII digits as `u64`; `None` on overflow.
fn parse_u64(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)?
            .checked_add(u64::from(b.wrapping_sub(b'0')))
    })
}

/// The multiplier of a size unit.
pub(crate) fn size_unit(unit: &str) -> Option<u64> {
    Some(match unit {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    })
}

/// A size in bytes: digits and an optional unit (`10MiB`, `5GB`, `100`).
pub(crate) fn size(input: &str) -> Res<'_, u64> {
    let digits = take_while_str(input, |c| c.is_ascii_digit());
    if digits.is_empty() {
        return Err(Err::Error(DslError::new(input, EXPECTED_SIZE)));
    }
    let rest = after(input, digits.len());
    if let Some(fraction) = rest.strip_prefix('.')
        && fraction.starts_with(|c: char| c.is_ascii_digit())
    {
        let fraction = take_while_str(fraction, |c| c.is_ascii_alphanumeric());
        let len = digits.len() + 1 + fraction.len();
        let text = input.get(..len).unwrap_or_default();
        return Err(Err::Failure(DslError::found(
            input,
            EXPECTED_WHOLE_SIZE,
            show(text),
            len,
        )));
    }
    let unit = take_while_str(rest, |c| c.is_ascii_alphanumeric());
    let Some(multiplier) = size_unit(unit) else {
        return Err(Err::Failure(DslError::found(
            rest,
            EXPECTED_SIZE_UNIT,
            show(unit),
            unit.len(),
        )));
    };
    let len = digits.len() + unit.len();
    match parse_u64(digits).and_then(|n| n.checked_mul(multiplier)) {
        Some(bytes) => Ok((after(input, len), bytes)),
        None => Err(Err::Failure(DslError::found(
            input,
            EXPECTED_SIZE_MAX,
            show(input.get(..len).unwrap_or_default()),
            len,
        ))),
    }
}

/// Seconds per duration unit, largest first.
const DURATION_UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// What may follow the unit at `DURATION_UNITS[index]`.
fn expected_after_unit(index: usize) -> &'static str {
    match index {
        0 => "unit smaller than 'd'",
        1 => "unit smaller than 'h'",
        2 => "unit smaller than 'm'",
        _ => EXPECTED_DURATION_END,
    }
}

/// A duration in seconds: `1h30m`, `45s`, `7d`. Units `d h m s`, each at most
/// once, largest first.
pub(crate) fn duration(input: &str) -> Res<'_, u64> {
    let word = take_while_str(input, is_bare_char);
    if !word.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(Err::Error(DslError::new(input, EXPECTED_DURATION)));
    }
    let mut total: Option<u64> = Some(0);
    let mut rest = word;
    // Index into DURATION_UNITS of the last unit seen.
    let mut last: Option<usize> = None;
    // `rest` is a suffix of `word`; errors point into `input`, so that what
    // follows the word (end of line, comment, …) can be described.
    let anchor = |rest: &str| after(input, word.len().saturating_sub(rest.len()));
    while !rest.is_empty() {
        if last == Some(DURATION_UNITS.len() - 1) {
            return Err(Err::Failure(DslError::found(
                anchor(rest),
                EXPECTED_DURATION_END,
                show(rest),
                rest.len(),
            )));
        }
        let digits = take_while_str(rest, |c| c.is_ascii_digit());
        if digits.is_empty() {
            let expected = last.map_or(EXPECTED_DURATION, |_| EXPECTED_DURATION_END);
            return Err(Err::Failure(DslError::new(anchor(rest), expected)));
        }
        let at_unit = after(rest, digits.len());
        let unit = take_while_str(at_unit, |c| c.is_ascii_alphabetic());
        let index = DURATION_UNITS
            .iter()
            .position(|(u, _)| unit.len() == 1 && unit.starts_with(*u));
        let Some(index) = index else {
            return Err(Err::Failure(if unit.is_empty() {
                DslError::new(anchor(at_unit), EXPECTED_DURATION_UNIT)
            } else {
                DslError::found(
                    anchor(at_unit),
                    EXPECTED_DURATION_UNIT,
                    show(unit),
                    unit.len(),
                )
            }));
        };
        if let Some(last) = last
            && index <= last
        {
            return Err(Err::Failure(DslError::found(
                anchor(at_unit),
                expected_after_unit(last),
                show(unit),
                unit.len(),
            )));
        }
        let seconds = DURATION_UNITS.get(index).map_or(1, |(_, s)| *s);
        total = total.and_then(|t| {
            parse_u64(digits)
                .and_then(|n| n.checked_mul(seconds))
                .and_then(|s| t.checked_add(s))
        });
        last = Some(index);
        rest = after(at_unit, unit.len());
    }
    match total {
        Some(seconds) => Ok((after(input, word.len()), seconds)),
        None => Err(Err::Failure(DslError::found(
            input,
            EXPECTED_DURATION_MAX,
            show(word),
            word.len(),
        ))),
    }
}

/// A double-quoted string with `\"`, `\\`, `\n`, `\t` and `\u{…}` escapes,
/// `{name}` placeholders, `{{` and `}}` for literal braces, and `${…}` (a
/// service variable such as `${filename}`) as literal text. It ends on its
/// line: a raw line break is an unterminated string.
///
/// Braces count only as written: an escape (`\u{7b}`) is always a literal
/// character, and a `$` written as `\u{24}` does not start a `${…}`.
pub(crate) fn quoted(input: &str) -> Res<'_, Template<'_>> {
    let Some(body) = input.strip_prefix('"') else {
        // Not a string: the caller's context says what was expected.
        return Err(Err::Error(nom::error::ParseError::from_error_kind(
            input,
            nom::error::ErrorKind::Char,
        )));
    };
    let mut out = Template::default();
    // Inside `${…}`, where everything up to the `}` is literal.
    let mut in_variable = false;
    let mut i = 0;
    while let Some(c) = after(body, i).chars().next() {
        let rest = after(body, i);
        match c {
            '"' => return Ok((after(body, i + 1), out)),
            '\n' => return Err(Err::Failure(DslError::new(rest, EXPECTED_CLOSING_QUOTE))),
            '\r' if rest.get(1..2) == Some("\n") => {
                return Err(Err::Failure(DslError::new(rest, EXPECTED_CLOSING_QUOTE)));
            }
            '\\' => {
                let (c, len) = unescape(rest)?;
                out.text.push(c);
                i += len;
                continue;
            }
            _ => {}
        }
        if in_variable || !matches!(c, '$' | '{' | '}') {
            in_variable = in_variable && c != '}';
            out.text.push(c);
            i += c.len_utf8();
            continue;
        }
        match brace(rest)? {
            None => {
                out.text.push(c);
                i += c.len_utf8();
            }
            Some(Brace::Literal(brace)) => {
                out.text.push(brace);
                i += 2;
            }
            Some(Brace::Variable) => {
                out.text.push_str("${");
                in_variable = true;
                i += 2;
            }
            Some(Brace::Placeholder(placeholder)) => {
                out.push_hole(placeholder);
                i += placeholder.len();
            }
        }
    }
    Err(Err::Failure(DslError::new(
        after(body, body.len()),
        EXPECTED_CLOSING_QUOTE,
    )))
}

/// A bare word (no whitespace, control characters or `,;#[]"`). A word that
/// is exactly `{name}` is that placeholder; otherwise braces read as in a
/// quoted string, except that a placeholder inside a longer word is an error
/// (a value with a placeholder in it is written in quotes).
pub(crate) fn bare(input: &str) -> Res<'_, Template<'_>> {
    let word = take_while_str(input, is_bare_char);
    if word.is_empty() {
        // The caller's context says what was expected.
        return Err(Err::Error(nom::error::ParseError::from_error_kind(
            input,
            nom::error::ErrorKind::TakeWhile1,
        )));
    }
    let rest = after(input, word.len());
    if let Some(placeholder) = whole_placeholder(word) {
        let mut out = Template::default();
        out.push_hole(placeholder);
        return Ok((rest, out));
    }
    if !word.contains(['{', '}']) {
        return Ok((rest, Template::literal(word)));
    }
    let mut text = String::with_capacity(word.len());
    let mut in_variable = false;
    let mut i = 0;
    while let Some(c) = after(word, i).chars().next() {
        if in_variable {
            in_variable = c != '}';
            text.push(c);
            i += c.len_utf8();
            continue;
        }
        match brace(after(word, i))? {
            None => {
                text.push(c);
                i += c.len_utf8();
            }
            Some(Brace::Literal(brace)) => {
                text.push(brace);
                i += 2;
            }
            Some(Brace::Variable) => {
                text.push_str("${");
                in_variable = true;
                i += 2;
            }
            Some(Brace::Placeholder(_)) => {
                return Err(Err::Failure(DslError::found(
                    input,
                    EXPECTED_WHOLE_PLACEHOLDER,
                    show(word),
                    word.len(),
                )));
            }
        }
    }
    Ok((
        rest,
        Template {
            text,
            holes: Vec::new(),
        },
    ))
}

/// One escape sequence at the start of `escape` (which starts with `\`): the
/// character it denotes and its length in bytes.
fn unescape(escape: &str) -> Result<(char, usize), Err<DslError<'_>>> {
    let rest = after(escape, 1);
    let Some(c) = rest.chars().next() else {
        return Err(Err::Failure(DslError::new(rest, EXPECTED_ESCAPE)));
    };
    let simple = match c {
        '"' => Some('"'),
        '\\' => Some('\\'),
        'n' => Some('\n'),
        't' => Some('\t'),
        _ => None,
    };
    if let Some(simple) = simple {
        return Ok((simple, 2));
    }
    if c == '\n' || (c == '\r' && rest.get(1..2) == Some("\n")) {
        return Err(Err::Failure(DslError::new(rest, EXPECTED_ESCAPE)));
    }
    if c != 'u' {
        let len = 1 + c.len_utf8();
        let text = escape.get(..len).unwrap_or_default();
        return Err(Err::Failure(DslError::found(
            escape,
            EXPECTED_ESCAPE,
            show(text),
            len,
        )));
    }
    // `\u{…}`: what was written runs to the closing brace or the end of the
    // token, for the error message.
    let tail = after(escape, 2);
    let inner = take_while_str(tail, |c| c != '}' && c != '\\' && is_bare_char(c));
    let written_len = 2 + inner.len() + usize::from(after(tail, inner.len()).starts_with('}'));
    let written = escape.get(..written_len).unwrap_or_default();
    let malformed = || {
        Err::Failure(DslError::found(
            escape,
            EXPECTED_UNICODE_ESCAPE,
            show(written),
            written_len,
        ))
    };
    let hex = tail
        .strip_prefix('{')
        .map(|t| take_while_str(t, |c| c.is_ascii_hexdigit()))
        .ok_or_else(malformed)?;
    if hex.is_empty() || hex.len() > 6 || tail.get(1 + hex.len()..2 + hex.len()) != Some("}") {
        return Err(malformed());
    }
    let len = 2 + 1 + hex.len() + 1;
    u32::from_str_radix(hex, 16)
        .ok()
        .and_then(char::from_u32)
        .map(|c| (c, len))
        .ok_or_else(|| {
            Err::Failure(DslError::found(
                escape,
                EXPECTED_SCALAR,
                show(written),
                written_len,
            ))
        })
}

/// An RFC 3339 instant in UTC: `2026-12-01T00:00:00Z`, optionally with up to
/// nine fractional digits (`…:00.250Z`); `:60` is a leap second.
pub(crate) fn timestamp(input: &str) -> Res<'_, DateTime<Utc>> {
    let word = take_while_str(input, is_bare_char);
    if word.is_empty() {
        return Err(Err::Error(DslError::new(input, EXPECTED_TIMESTAMP)));
    }
    let bad = |expected| {
        Err::Failure(DslError::found(
            input,
            expected,
            show_token(word),
            word.len(),
        ))
    };
    let fields = split_timestamp(word).ok_or_else(|| bad(EXPECTED_TIMESTAMP))?;
    let [year, month, day, hour, minute, second, nanos] = fields;
    let (second, nanos) = if second == 60 {
        (59, nanos.saturating_add(1_000_000_000))
    } else {
        (second, nanos)
    };
    let date = i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day));
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos);
    match (date, time) {
        (Some(date), Some(time)) => Ok((
            after(input, word.len()),
            NaiveDateTime::new(date, time).and_utc(),
        )),
        _ => Err(bad(EXPECTED_REAL_TIME)),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z` into its numbers (nanoseconds last).
fn split_timestamp(word: &str) -> Option<[u32; 7]> {
    fn number(s: &str, len: usize) -> Option<(u32, &str)> {
        let digits = s.get(..len)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((digits.parse().ok()?, s.get(len..)?))
    }
    let (year, s) = number(word, 4)?;
    let (month, s) = number(s.strip_prefix('-')?, 2)?;
    let (day, s) = number(s.strip_prefix('-')?, 2)?;
    let (hour, s) = number(s.strip_prefix('T')?, 2)?;
    let (minute, s) = number(s.strip_prefix(':')?, 2)?;
    let (second, s) = number(s.strip_prefix(':')?, 2)?;
    let (nanos, s) = match s.strip_prefix('.') {
        Some(fraction) => {
            let digits = take_while_str(fraction, |c| c.is_ascii_digit());
            if digits.is_empty() || digits.len() > 9 {
                return None;
            }
            let (value, _) = number(digits, digits.len())?;
            let scale = 10u32.pow(9 - u32::try_from(digits.len()).ok()?);
            (value.checked_mul(scale)?, fraction.get(digits.len()..)?)
        }
        None => (0, s),
    };
    (s == "Z").then_some([year, month, day, hour, minute, second, nanos])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    impl From<&str> for Template<'_> {
        fn from(text: &str) -> Self {
            Template::literal(text)
        }
    }

    /// The text of a template, with its placeholders as `<name>`.
    fn written(template: &Template<'_>) -> String {
        let mut out = String::new();
        let mut last = 0;
        for (at, placeholder) in &template.holes {
            out.push_str(&template.text[last..*at]);
            out.push_str(&format!("<{}>", placeholder_name(placeholder)));
            last = *at;
        }
        out.push_str(&template.text[last..]);
        out
    }

    /// The expected and found of a failed parse, and the byte offset of the error.
    fn failure<T: std::fmt::Debug>(input: &str, result: Res<'_, T>) -> (String, String, usize) {
        match result {
            Err(Err::Error(e) | Err::Failure(e)) => {
                let offset = input.len() - e.at().len();
                let syntax = e.into_syntax(input);
                (
                    syntax.expected().to_owned(),
                    syntax.found().to_owned(),
                    offset,
                )
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn sizes_in_every_unit() {
        assert_eq!(size("0"), Ok(("", 0)));
        assert_eq!(size("100"), Ok(("", 100)));
        assert_eq!(size("100B"), Ok(("", 100)));
        assert_eq!(size("2KB"), Ok(("", 2_000)));
        assert_eq!(size("3MB"), Ok(("", 3_000_000)));
        assert_eq!(size("5GB"), Ok(("", 5_000_000_000)));
        assert_eq!(size("2KiB"), Ok(("", 2_048)));
        assert_eq!(size("10MiB..x"), Ok(("..x", 10 << 20)));
        assert_eq!(size("5GiB rest"), Ok((" rest", 5 << 30)));
        assert_eq!(size("007"), Ok(("", 7)));
    }

    #[test]
    fn size_limits() {
        assert_eq!(size("18446744073709551615"), Ok(("", u64::MAX)));
        assert_eq!(size("17179869183GiB"), Ok(("", 17_179_869_183 << 30)));
        for overflow in [
            "18446744073709551616",
            "17179869184GiB",
            "99999999999999999999999999GB",
        ] {
            let (expected, found, at) = failure(overflow, size(overflow));
            assert_eq!(expected, EXPECTED_SIZE_MAX);
            assert_eq!(found, show(overflow));
            assert_eq!(at, 0);
        }
    }

    #[test]
    fn size_errors() {
        assert_eq!(
            failure("", size("")),
            (EXPECTED_SIZE.into(), "end of input".into(), 0)
        );
        assert_eq!(
            failure("MiB", size("MiB")),
            (EXPECTED_SIZE.into(), "\"MiB\"".into(), 0)
        );
        assert_eq!(
            failure("-1", size("-1")),
            (EXPECTED_SIZE.into(), "\"-1\"".into(), 0)
        );
        assert_eq!(
            failure("10XB", size("10XB")),
            (EXPECTED_SIZE_UNIT.into(), "\"XB\"".into(), 2)
        );
        assert_eq!(
            failure("10mib", size("10mib")),
            (EXPECTED_SIZE_UNIT.into(), "\"mib\"".into(), 2)
        );
        assert_eq!(
            failure("1MiB10", size("1MiB10")),
            (EXPECTED_SIZE_UNIT.into(), "\"MiB10\"".into(), 1)
        );
        assert_eq!(
            failure("1.5MiB", size("1.5MiB")),
            (EXPECTED_WHOLE_SIZE.into(), "\"1.5MiB\"".into(), 0)
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration("0s"), Ok(("", 0)));
        assert_eq!(duration("45s"), Ok(("", 45)));
        assert_eq!(duration("1h30m"), Ok(("", 5_400)));
        assert_eq!(duration("1d1h1m1s"), Ok(("", 90_061)));
        assert_eq!(duration("2d30s # x"), Ok((" # x", 172_830)));
        assert_eq!(duration("90m;"), Ok((";", 5_400)));
        assert_eq!(duration("18446744073709551615s"), Ok(("", u64::MAX)));
        assert_eq!(
            duration("213503982334601d7h"),
            Ok(("", 213_503_982_334_601 * 86_400 + 7 * 3_600))
        );
    }

    #[test]
    fn duration_errors() {
        let cases: [(&str, &str, &str, usize); 12] = [
            ("", EXPECTED_DURATION, "end of input", 0),
            ("h", EXPECTED_DURATION, "\"h\"", 0),
            ("-1h", EXPECTED_DURATION, "\"-1h\"", 0),
            ("3600", EXPECTED_DURATION_UNIT, "end of input", 4),
            ("1h30", EXPECTED_DURATION_UNIT, "end of input", 4),
            ("1x", EXPECTED_DURATION_UNIT, "\"x\"", 1),
            ("2hours", EXPECTED_DURATION_UNIT, "\"hours\"", 1),
            ("1H", EXPECTED_DURATION_UNIT, "\"H\"", 1),
            ("30m1h", "unit smaller than 'm'", "\"h\"", 4),
            ("1h2h", "unit smaller than 'h'", "\"h\"", 3),
            ("1s5s", EXPECTED_DURATION_END, "\"5s\"", 2),
            ("1h-", EXPECTED_DURATION_END, "\"-\"", 2),
        ];
        for (input, expected, found, at) in cases {
            assert_eq!(
                failure(input, duration(input)),
                (expected.to_owned(), found.to_owned(), at),
                "{input:?}"
            );
        }
        assert_eq!(duration("213503982334601d7h15s"), Ok(("", u64::MAX)));
        for overflow in [
            "18446744073709551616s",
            "213503982334602d",
            "213503982334601d7h16s",
            "99999999999999999999999d",
        ] {
            assert_eq!(
                failure(overflow, duration(overflow)),
                (EXPECTED_DURATION_MAX.to_owned(), show(overflow), 0),
                "{overflow}"
            );
        }
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted(r#""" rest"#), Ok((" rest", Template::default())));
        assert_eq!(quoted(r#""a b;c#d,[e]""#), Ok(("", "a b;c#d,[e]".into())));
        assert_eq!(quoted(r#""q\"b\\n\nt\t""#), Ok(("", "q\"b\\n\nt\t".into())));
        assert_eq!(
            quoted(r#""\u{41}\u{e9}\u{1F600}\u{10FFFF}\u{0}""#),
            Ok(("", "Aé😀\u{10FFFF}\u{0}".into()))
        );
        assert_eq!(
            quoted("\"日本語\u{2028}\"x"),
            Ok(("x", "日本語\u{2028}".into()))
        );
        assert_eq!(quoted("\"tab\there\""), Ok(("", "tab\there".into())));
    }

    #[test]
    fn braces_in_quoted_strings() {
        let read =
            |input: &'static str| quoted(input).map(|(rest, t)| (rest.to_owned(), written(&t)));
        let cases: [(&str, &str); 14] = [
            (r#""user/{id}/""#, "user/<id>/"),
            (r#""{a}{_b2}{C}""#, "<a><_b2><C>"),
            (r#""{{id}}""#, "{id}"),
            (r#""{{{id}}}""#, "{<id>}"),
            (r#""a}}b{{c""#, "a}b{c"),
            (r#""user/${filename}""#, "user/${filename}"),
            (r#""${a}}}""#, "${a}}"),
            (r#""${a{b}{c}""#, "${a{b}<c>"),
            (r#""${ no close""#, "${ no close"),
            (r#""$x{y}""#, "$x<y>"),
            (r#""\u{24}{y}""#, "$<y>"),
            (r#""\u{7b}x\u{7d}""#, "{x}"),
            (r#""${\"}""#, "${\"}"),
            (r#""${\u{7d}}{x}""#, "${}}<x>"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                read(input),
                Ok((String::new(), expected.to_owned())),
                "{input}"
            );
        }
    }

    #[test]
    fn brace_errors() {
        let cases: [(&str, &str, &str, usize); 8] = [
            (r#""{""#, EXPECTED_PLACEHOLDER, "'{'", 1),
            (r#""a{1x}""#, EXPECTED_PLACEHOLDER, "\"{1x}\"", 2),
            (r#""a{user-id}b""#, EXPECTED_PLACEHOLDER, "\"{user-id}\"", 2),
            (r#""{}""#, EXPECTED_PLACEHOLDER, "\"{}\"", 1),
            (r#""{ x }""#, EXPECTED_PLACEHOLDER, "'{'", 1),
            (r#""a}""#, EXPECTED_DOUBLED_CLOSE, "'}'", 2),
            (r#""${a}}""#, EXPECTED_DOUBLED_CLOSE, "'}'", 5),
            (r#""{{}""#, EXPECTED_DOUBLED_CLOSE, "'}'", 3),
        ];
        for (input, expected, found, at) in cases {
            assert_eq!(
                failure(input, quoted(input)),
                (expected.to_owned(), found.to_owned(), at),
                "{input:?}"
            );
        }
    }

    #[test]
    fn bare_words() {
        let read =
            |input: &'static str| bare(input).map(|(rest, t)| (rest.to_owned(), written(&t)));
        assert_eq!(read("{id} x"), Ok((" x".into(), "<id>".into())));
        assert_eq!(read("image/png,"), Ok((",".into(), "image/png".into())));
        assert_eq!(
            read("user/${filename}"),
            Ok(("".into(), "user/${filename}".into()))
        );
        assert_eq!(read("{{id}}"), Ok(("".into(), "{id}".into())));
        assert_eq!(read("a}}"), Ok(("".into(), "a}".into())));
        assert_eq!(
            failure("user/{id}/", bare("user/{id}/")),
            (
                EXPECTED_WHOLE_PLACEHOLDER.into(),
                "\"user/{id}/\"".into(),
                0
            )
        );
        assert_eq!(
            failure("a{", bare("a{")),
            (EXPECTED_PLACEHOLDER.into(), "'{'".into(), 1)
        );
        assert_eq!(
            failure("a}b", bare("a}b")),
            (EXPECTED_DOUBLED_CLOSE.into(), "'}'".into(), 1)
        );
    }

    #[test]
    fn placeholders() {
        for name in ["a", "_", "user_id", "A9", "_0"] {
            assert!(is_param_name(name), "{name}");
            let placeholder = format!("{{{name}}}");
            assert_eq!(placeholder_len(&placeholder), Some(placeholder.len()));
            assert_eq!(placeholder_name(&placeholder), name);
        }
        for name in ["", "9a", "a-b", "a b", "é", "a.b"] {
            assert!(!is_param_name(name), "{name}");
            assert_eq!(placeholder_len(&format!("{{{name}}}")), None);
        }
        assert_eq!(describe("{id} rest"), ("placeholder {id}".into(), 4));
        assert_eq!(describe("{id"), ("\"{id\"".into(), 3));
        assert_eq!(show_token("{x}"), "placeholder {x}");
        assert_eq!(show_token("{x}y"), "\"{x}y\"");
    }

    #[test]
    fn quoted_errors() {
        let cases: [(&str, &str, &str, usize); 14] = [
            ("\"abc", EXPECTED_CLOSING_QUOTE, "end of input", 4),
            ("\"abc\nx\"", EXPECTED_CLOSING_QUOTE, "end of line", 4),
            ("\"abc\r\nx\"", EXPECTED_CLOSING_QUOTE, "end of line", 4),
            ("\"a\\q\"", EXPECTED_ESCAPE, "\"\\q\"", 2),
            ("\"a\\", EXPECTED_ESCAPE, "end of input", 3),
            ("\"a\\\nb\"", EXPECTED_ESCAPE, "end of line", 3),
            ("\"\\é\"", EXPECTED_ESCAPE, "\"\\é\"", 1),
            ("\"\\u41\"", EXPECTED_UNICODE_ESCAPE, "\"\\u41\"", 1),
            ("\"\\u{}\"", EXPECTED_UNICODE_ESCAPE, "\"\\u{}\"", 1),
            ("\"\\u{zz}\"", EXPECTED_UNICODE_ESCAPE, "\"\\u{zz}\"", 1),
            (
                "\"\\u{1234567}\"",
                EXPECTED_UNICODE_ESCAPE,
                "\"\\u{1234567}\"",
                1,
            ),
            ("\"\\u{41\"", EXPECTED_UNICODE_ESCAPE, "\"\\u{41\"", 1),
            ("\"\\u{D800}\"", EXPECTED_SCALAR, "\"\\u{D800}\"", 1),
            ("\"\\u{110000}\"", EXPECTED_SCALAR, "\"\\u{110000}\"", 1),
        ];
        for (input, expected, found, at) in cases {
            assert_eq!(
                failure(input, quoted(input)),
                (expected.to_owned(), found.to_owned(), at),
                "{input:?}"
            );
        }
    }

    #[test]
    fn timestamps() {
        let at = |s| timestamp(s).map(|(_, t)| t);
        assert_eq!(
            at("2026-12-01T00:00:00Z"),
            Ok(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            at("0000-01-01T00:00:00.5Z").map(|t| t.timestamp_subsec_nanos()),
            Ok(500_000_000)
        );
        assert_eq!(
            at("9999-12-31T23:59:59.123456789Z").map(|t| t.timestamp_subsec_nanos()),
            Ok(123_456_789)
        );
        assert_eq!(
            at("2016-12-31T23:59:60Z").map(|t| t.timestamp_subsec_nanos()),
            Ok(1_000_000_000)
        );
    }

    #[test]
    fn timestamp_errors() {
        for bad in [
            "2026-12-01",
            "2026-12-01T00:00:00",
            "2026-12-01T00:00:00+08:00",
            "2026-12-01t00:00:00z",
            "2026-12-01T00:00:00.Z",
            "2026-12-01T00:00:00.1234567890Z",
            "26-12-01T00:00:00Z",
            "+2026-12-01T00:00:00Z",
            "2026-12-01T00:00:00ZZ",
        ] {
            assert_eq!(
                failure(bad, timestamp(bad)),
                (EXPECTED_TIMESTAMP.to_owned(), show(bad), 0),
                "{bad}"
            );
        }
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T12:60:00Z",
            "2026-12-01T12:00:61Z",
        ] {
            assert_eq!(
                failure(bad, timestamp(bad)),
                (EXPECTED_REAL_TIME.to_owned(), show(bad), 0),
                "{bad}"
            );
        }
        assert_eq!(
            failure("", timestamp("")),
            (EXPECTED_TIMESTAMP.to_owned(), "end of input".to_owned(), 0)
        );
    }

    #[test]
    fn describes_what_was_found() {
        assert_eq!(describe(""), ("end of input".into(), 0));
        assert_eq!(describe("\nx"), ("end of line".into(), 0));
        assert_eq!(describe("\r\nx"), ("end of line".into(), 0));
        assert_eq!(describe("# note\nx"), ("comment".into(), 6));
        assert_eq!(describe("]"), ("']'".into(), 1));
        assert_eq!(describe("="), ("'='".into(), 1));
        assert_eq!(describe("foo bar"), ("\"foo\"".into(), 3));
        assert_eq!(describe("\u{1}"), ("'\\u{1}'".into(), 1));
        let long = "abcdefghijklmnopqrstuvwxyz0123456789";
        assert_eq!(
            describe(long),
            ("\"abcdefghijklmnopqrstuvwxyz012345…\"".into(), 36)
        );
    }
}
