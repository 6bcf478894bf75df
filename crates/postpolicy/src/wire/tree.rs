//! The tree-based reader: serde_json builds the document, and every way it
//! can be wrong is answered in the service's words. It is the authority on
//! what is accepted; the single-pass scanner (`scan.rs`) handles the usual
//! shape and leaves everything else here.

use bumpalo::Bump;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::view::{ConditionView, PolicyView, Values};
use super::{invalid, parse_iso_utc};
use crate::error::PolicyError;
use crate::policy::ByteRange;

/// The document in `text`, its strings copied into `arena` (the tree they
/// are read from is dropped here).
pub(super) fn from_json_tree<'a>(
    text: &str,
    arena: &'a Bump,
) -> Result<PolicyView<'a>, PolicyError> {
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
        .map(|(i, item)| parse_condition(i, item, arena))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PolicyView {
        expires_at: expiration,
        conditions,
    })
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

fn parse_condition<'a>(
    index: usize,
    item: &Value,
    arena: &'a Bump,
) -> Result<ConditionView<'a>, PolicyError> {
    match item {
        Value::Object(map) => {
            let mut entries = map.iter();
            match (entries.next(), entries.next()) {
                (Some((name, value)), None) => Ok(ConditionView::Eq {
                    field: field_name(name, arena),
                    value: string_value(index, value, arena)?,
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
        Value::Array(parts) => parse_list_condition(index, parts, arena),
        other => Err(invalid(
            "Invalid Policy: Invalid Condition: condition must be a list or a map.",
            format!(
                "condition {index} is {}; conditions are objects or lists",
                kind_of(other)
            ),
        )),
    }
}

fn parse_list_condition<'a>(
    index: usize,
    parts: &[Value],
    arena: &'a Bump,
) -> Result<ConditionView<'a>, PolicyError> {
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
        return Ok(ConditionView::ContentLengthRange(
            ByteRange { min, max }.check(index)?,
        ));
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
    let field = field_name(name, arena);
    match op.as_str() {
        "eq" => Ok(ConditionView::Eq {
            field,
            value: string_value(index, third, arena)?,
        }),
        "starts-with" => Ok(ConditionView::StartsWith {
            field,
            prefix: string_value(index, third, arena)?,
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
                .map(|v| string_value(index, v, arena))
                .collect::<Result<Vec<_>, _>>()?;
            let values = Values::Strs(arena.alloc_slice_copy(&values));
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

/// A field name without its `$`, copied into the arena.
fn field_name<'a>(name: &str, arena: &'a Bump) -> &'a str {
    arena.alloc_str(name.strip_prefix('$').unwrap_or(name))
}

fn string_value<'a>(index: usize, value: &Value, arena: &'a Bump) -> Result<&'a str, PolicyError> {
    match value {
        Value::String(s) => Ok(arena.alloc_str(s)),
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
