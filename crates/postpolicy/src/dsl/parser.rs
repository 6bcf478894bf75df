//! The DSL grammar (nom 8). One function per statement kind; [`statement`]
//! reads the statement's head (a field name or keyword) and `cut`s, so an error
//! after it points at the bad value instead of backtracking. [`parse_all`]
//! recovers at the end of a bad statement (newline or `;` outside quotes) and
//! returns every error. No semantics here: contradictions are lint's job.
//!
//! Values are read as [`Template`]s and filled in from the parameters only
//! once their statement has been read whole ([`Params::fill`]): a parameter is
//! data, whatever it holds, never syntax.
//!
//! ```text
//! policy     = { statement? (";" | "\n") }
//! statement  = "expires" ("in" duration | "at" timestamp)
//!            | "content-length" size ".." size
//!            | "content-length-range" size size
//!            | field ("=" | "eq" | "starts-with") value
//!            | field ("in" | "not-in") "[" [value {"," value}] "]"
//! field      = ["$"] name | ["$"] quoted        (name: A-Z a-z 0-9 - _ : .)
//! value      = bare-word | quoted | "{" param "}"
//! ```

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::{cut, eof, map, map_opt, opt, value as to};
use nom::error::context;
use nom::sequence::preceded;
use nom::{Err, IResult, Parser};

use super::error::{DslError, SyntaxError, SyntaxErrors, offset_in};
use super::lexical::{
    Template, bare, duration, is_bare_char, is_inline_space, is_name_char, quoted, show_token,
    size, timestamp,
};
use super::params::Params;
use crate::diagnostic::{LineCol, Span};
use crate::policy::{ByteRange, Condition, Expiration, Field, Policy};

type Res<'a, T> = IResult<&'a str, T, DslError<'a>>;

const EXPECTED_FIELD: &str = "field name";
const EXPECTED_NAME_CHARS: &str = "field name (letters, digits, '-', '_', ':', '.')";
const EXPECTED_OPERATOR: &str = "operator (=, starts-with, in, not-in)";
const EXPECTED_IN_OR_AT: &str = "'in' or 'at'";
const EXPECTED_VALUE: &str = "value";
const EXPECTED_END: &str = "end of statement";

/// What one statement says, its values not yet filled in.
#[derive(Debug)]
enum Statement<'a> {
    Expires(Expiration),
    Condition(Condition),
    Field {
        field: Field,
        operator: Operator,
        values: Values<'a>,
    },
}

/// The value of `=` / `starts-with`, or the list of `in` / `not-in`.
#[derive(Debug)]
enum Values<'a> {
    One(Template<'a>),
    List(Vec<Template<'a>>),
}

/// How a statement starts.
#[derive(Debug)]
enum Head {
    Expires,
    ContentLength,
    ContentLengthRange,
    Field(Field),
}

#[derive(Clone, Copy, Debug)]
enum Operator {
    Eq,
    StartsWith,
    In,
    NotIn,
}

/// Parses a whole policy with its placeholders filled from `params`,
/// reporting every syntax error.
pub(crate) fn parse_all(source: &str, params: &mut Params<'_>) -> Result<Policy, SyntaxErrors> {
    let mut rest = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut errors = Vec::new();
    let mut expiration: Option<(Expiration, usize)> = None;
    let mut conditions = Vec::new();
    let mut spans = Vec::new();
    loop {
        rest = skip_trivia(rest);
        if rest.is_empty() {
            break;
        }
        let start = rest;
        match statement(rest) {
            Ok((after, (parsed, end))) => {
                let span = Span::new(offset_in(source, start), offset_in(source, end));
                match parsed {
                    Statement::Condition(condition) => {
                        conditions.push(condition);
                        spans.push(span);
                    }
                    Statement::Field {
                        field,
                        operator,
                        values,
                    } => {
                        if let Some(condition) =
                            fill(source, params, &mut errors, field, operator, values)
                        {
                            conditions.push(condition);
                            spans.push(span);
                        }
                    }
                    Statement::Expires(_) if expiration.is_some() => {
                        let first = expiration.map_or(0, |(_, at)| at);
                        let line = LineCol::locate(source, first).line;
                        errors.push(SyntaxError::new(
                            source,
                            span,
                            "at most one expires statement",
                            format!("a second one (the first is on line {line})"),
                        ));
                    }
                    Statement::Expires(e) => expiration = Some((e, span.start)),
                }
                rest = after;
            }
            Err(Err::Error(e) | Err::Failure(e)) => {
                errors.push(e.into_syntax(source));
                rest = recover(start);
            }
            Err(Err::Incomplete(_)) => {
                errors.push(DslError::new(rest, EXPECTED_END).into_syntax(source));
                break;
            }
        }
    }
    // Only a source that reads cleanly says which parameters it leaves
    // unused: a bad statement may hold the placeholder.
    let clean = errors.is_empty();
    params.check(source, clean, &mut errors);
    if let Some(errors) = SyntaxErrors::from_vec(errors) {
        return Err(errors);
    }
    let mut policy = Policy::new(expiration.map(|(e, _)| e), conditions);
    for (index, span) in spans.into_iter().enumerate() {
        policy.set_origin(index, span);
    }
    Ok(policy)
}

/// The condition of a field statement, its placeholders filled in; `None`
/// (with the errors recorded) when a parameter is missing.
fn fill(
    source: &str,
    params: &mut Params<'_>,
    errors: &mut Vec<SyntaxError>,
    field: Field,
    operator: Operator,
    values: Values<'_>,
) -> Option<Condition> {
    let before = errors.len();
    let mut one = |template| params.fill(source, template, errors);
    let condition = match (operator, values) {
        (Operator::Eq, Values::One(value)) => Condition::Eq {
            field,
            value: one(value),
        },
        (Operator::StartsWith, Values::One(prefix)) => Condition::StartsWith {
            field,
            prefix: one(prefix),
        },
        (Operator::In, Values::List(values)) => Condition::In {
            field,
            values: values.into_iter().map(one).collect(),
        },
        (Operator::NotIn, Values::List(values)) => Condition::NotIn {
            field,
            values: values.into_iter().map(one).collect(),
        },
        // The grammar pairs each operator with its kind of value.
        _ => return None,
    };
    (errors.len() == before).then_some(condition)
}

/// Skips what separates statements: whitespace, line breaks, `;` and comments.
fn skip_trivia(mut input: &str) -> &str {
    loop {
        let trimmed = input.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        match trimmed.strip_prefix('#') {
            Some(comment) => {
                input = comment
                    .find('\n')
                    .and_then(|n| comment.get(n..))
                    .unwrap_or("")
            }
            None => return trimmed,
        }
    }
}

/// After an error in the statement starting at `start`: the input after its
/// end (the next `;` or line break outside quotes; a comment runs to the line
/// break). Quotes are scanned as the lexer does, so a `;` or `#` inside a
/// string does not end the statement.
fn recover(start: &str) -> &str {
    let mut in_quotes = false;
    let mut chars = start.char_indices();
    while let Some((i, c)) = chars.next() {
        let next = i + c.len_utf8();
        match c {
            '\n' => return start.get(next..).unwrap_or_default(),
            '"' => in_quotes = !in_quotes,
            '\\' if in_quotes => {
                if let Some((j, '\n')) = chars.next() {
                    return start.get(j + 1..).unwrap_or_default();
                }
            }
            ';' if !in_quotes => return start.get(next..).unwrap_or_default(),
            '#' if !in_quotes => {
                let rest = start.get(i..).unwrap_or_default();
                return rest
                    .find('\n')
                    .and_then(|n| rest.get(n + 1..))
                    .unwrap_or("");
            }
            _ => {}
        }
    }
    ""
}

/// Whitespace inside a line.
fn space(input: &str) -> Res<'_, &str> {
    take_while(is_inline_space).parse(input)
}

/// One statement and its terminator; also returns the input where the
/// statement's text ends (before trailing space and comment).
fn statement(input: &str) -> Res<'_, (Statement<'_>, &str)> {
    let (rest, head) = head(input)?;
    let (rest, parsed) = match head {
        Head::Expires => cut(expires).parse(rest)?,
        Head::ContentLength => cut(content_length).parse(rest)?,
        Head::ContentLengthRange => cut(content_length_range).parse(rest)?,
        Head::Field(field) => cut(move |i| field_condition(field.clone(), i)).parse(rest)?,
    };
    let (after, _) = cut(end_of_statement).parse(rest)?;
    Ok((after, (parsed, rest)))
}

/// The end of a statement: optional space and comment, then a line break,
/// `;` or the end of the input.
fn end_of_statement(input: &str) -> Res<'_, ()> {
    let comment = preceded(char('#'), take_while(|c| c != '\n'));
    let (rest, _) = (space, opt(comment)).parse(input)?;
    let (rest, _) = context(EXPECTED_END, alt((eof, tag("\n"), tag(";")))).parse(rest)?;
    Ok((rest, ()))
}

/// The statement's head: a keyword (`expires`, `content-length`,
/// `content-length-range`, any case, never with `$`) or a field name.
fn head(input: &str) -> Res<'_, Head> {
    let (rest, dollar) = opt(char('$')).parse(input)?;
    if rest.starts_with('"') {
        // A quoted name is taken literally (then lower-cased), so any field a
        // wire policy names can be written.
        let (rest, name) = quoted(rest)?;
        if let Some((_, placeholder)) = name.holes.first() {
            return Err(Err::Failure(DslError::found(
                placeholder,
                EXPECTED_FIELD,
                show_token(placeholder),
                placeholder.len(),
            )));
        }
        return Ok((
            rest,
            Head::Field(Field::new(&format!("${}", name.text.to_ascii_lowercase()))),
        ));
    }
    let (after, word) =
        context(EXPECTED_FIELD, take_while1(|c| is_bare_char(c) && c != '=')).parse(rest)?;
    if !word.chars().all(is_name_char) {
        let placeholder = super::lexical::whole_placeholder(word).is_some();
        return Err(Err::Error(DslError::found(
            rest,
            if placeholder {
                EXPECTED_FIELD
            } else {
                EXPECTED_NAME_CHARS
            },
            show_token(word),
            word.len(),
        )));
    }
    let name = word.to_ascii_lowercase();
    let head = match (dollar, name.as_str()) {
        (None, "expires") => Head::Expires,
        (None, "content-length") => Head::ContentLength,
        (None, "content-length-range") => Head::ContentLengthRange,
        _ => Head::Field(Field::new(&name)),
    };
    Ok((after, head))
}

/// A keyword word (letters, digits, `-`) equal to `keyword`, any case.
fn keyword(keyword: &'static str) -> impl Fn(&str) -> Res<'_, &str> {
    move |input| {
        let (rest, word) = take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-')(input)?;
        if word.eq_ignore_ascii_case(keyword) {
            Ok((rest, word))
        } else {
            Err(Err::Error(nom::error::ParseError::from_error_kind(
                input,
                nom::error::ErrorKind::Tag,
            )))
        }
    }
}

/// `expires in 1h30m` or `expires at 2026-12-01T00:00:00Z` (after `expires`).
fn expires(input: &str) -> Res<'_, Statement<'_>> {
    let (rest, _) = space(input)?;
    let relative = preceded((keyword("in"), space), context("duration", duration));
    let absolute = preceded((keyword("at"), space), context("timestamp", timestamp));
    let (rest, expiration) = context(
        EXPECTED_IN_OR_AT,
        alt((
            map(relative, |seconds| Expiration::In { seconds }),
            map(absolute, Expiration::At),
        )),
    )
    .parse(rest)?;
    Ok((rest, Statement::Expires(expiration)))
}

/// `content-length MIN..MAX` (after `content-length`).
fn content_length(input: &str) -> Res<'_, Statement<'_>> {
    let (rest, (_, min, _, _, _, max)) =
        (space, size, space, context("'..'", tag("..")), space, size).parse(input)?;
    Ok((rest, range(min, max)))
}

/// `content-length-range MIN MAX` (after `content-length-range`).
fn content_length_range(input: &str) -> Res<'_, Statement<'_>> {
    let (rest, (_, min, _, max)) = (space, size, space, size).parse(input)?;
    Ok((rest, range(min, max)))
}

fn range(min: u64, max: u64) -> Statement<'static> {
    Statement::Condition(Condition::ContentLengthRange(ByteRange { min, max }))
}

/// `= value`, `starts-with value`, `in [values]` or `not-in [values]` (after
/// the field name).
fn field_condition(field: Field, input: &str) -> Res<'_, Statement<'_>> {
    let (rest, (_, operator, _)) = (space, operator, space).parse(input)?;
    let (rest, values) = match operator {
        Operator::Eq | Operator::StartsWith => map(value, Values::One).parse(rest)?,
        Operator::In | Operator::NotIn => map(list, Values::List).parse(rest)?,
    };
    Ok((
        rest,
        Statement::Field {
            field,
            operator,
            values,
        },
    ))
}

fn operator(input: &str) -> Res<'_, Operator> {
    let word = take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-');
    let named = map_opt(word, |w: &str| match w.to_ascii_lowercase().as_str() {
        "eq" => Some(Operator::Eq),
        "starts-with" => Some(Operator::StartsWith),
        "in" => Some(Operator::In),
        "not-in" => Some(Operator::NotIn),
        _ => None,
    });
    context(EXPECTED_OPERATOR, alt((to(Operator::Eq, char('=')), named))).parse(input)
}

/// A bare word or a quoted string (either may be a placeholder).
fn value(input: &str) -> Res<'_, Template<'_>> {
    context(EXPECTED_VALUE, alt((quoted, bare))).parse(input)
}

/// `[a, "b c", d]` (possibly empty), on one line.
fn list(input: &str) -> Res<'_, Vec<Template<'_>>> {
    let (mut rest, _) = (context("'['", char('[')), space).parse(input)?;
    let mut values = Vec::new();
    if let Ok((after, _)) = char::<_, DslError<'_>>(']').parse(rest) {
        return Ok((after, values));
    }
    loop {
        let (after, (item, _)) = (value, space).parse(rest)?;
        values.push(item);
        let (after, close) = context(
            "',' or ']'",
            alt((to(false, char(',')), to(true, char(']')))),
        )
        .parse(after)?;
        if close {
            return Ok((after, values));
        }
        (rest, _) = space(after)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(source: &str) -> Result<Policy, SyntaxErrors> {
        super::parse_all(source, &mut Params::default())
    }

    fn errors(source: &str) -> Vec<String> {
        match parse_all(source) {
            Ok(policy) => panic!("parsed {policy:?}"),
            Err(errors) => errors
                .iter()
                .map(|e| format!("{}:{}: {}", e.line(), e.column(), e.reason()))
                .collect(),
        }
    }

    #[test]
    fn empty_and_blank_sources_are_empty_policies() {
        for source in [
            "",
            "\n\n",
            "  # only a comment\n",
            ";;",
            "\u{feff}",
            "\r\n\t \r\n",
        ] {
            assert_eq!(parse_all(source), Ok(Policy::default()), "{source:?}");
        }
    }

    #[test]
    fn crlf_line_endings() {
        let policy =
            parse_all("bucket = a\r\nkey starts-with \"u/\"\r\n# c\r\ncontent-length 1..2\r\n")
                .unwrap();
        assert_eq!(
            policy.conditions,
            vec![
                Condition::eq("bucket", "a"),
                Condition::starts_with("key", "u/"),
                Condition::content_length(1, 2),
            ]
        );
        assert_eq!(
            errors("key = \"a\r\n"),
            ["1:9: expected closing '\"', found end of line"]
        );
    }

    #[test]
    fn origins_cover_each_statement() {
        let source =
            "expires in 1h\nbucket = a # note\n  key starts-with \"x\" ; x-oss-meta-a in [b]";
        let policy = parse_all(source).unwrap();
        let text = |i| {
            let span = policy.origin(i).unwrap();
            &source[span.start..span.end]
        };
        assert_eq!(text(0), "bucket = a");
        assert_eq!(text(1), "key starts-with \"x\"");
        assert_eq!(text(2), "x-oss-meta-a in [b]");
    }

    #[test]
    fn dollar_and_quotes_make_keywords_fields() {
        let policy =
            parse_all("$expires = 1\n\"content-length\" = 2\n$\"Content-Length-Range\" in []")
                .unwrap();
        assert_eq!(
            policy.conditions,
            vec![
                Condition::eq("expires", "1"),
                Condition::eq("content-length", "2"),
                Condition::one_of("content-length-range", Vec::<String>::new()),
            ]
        );
        assert_eq!(policy.expiration, None);
    }

    #[test]
    fn quoted_names_keep_a_leading_dollar() {
        let policy = parse_all("\"$x\" = 1").unwrap();
        assert_eq!(policy.conditions[0].field().unwrap().name(), "$x");
    }

    #[test]
    fn recovery_skips_strings() {
        assert_eq!(
            errors("key like \"a;b#c\" ; bucket = \"\\q\"\nkey = ok"),
            [
                "1:5: expected operator (=, starts-with, in, not-in), found \"like\"",
                "1:30: expected escape (\\\", \\\\, \\n, \\t or \\u{…}), found \"\\q\"",
            ]
        );
    }
}
