//! A policy as read from the text a browser sent, borrowing its strings.
//!
//! The verifier reads a policy on every upload and drops it a moment later, so
//! copying each field name and value into an owned [`Policy`] would cost an
//! allocation per string for nothing. A view borrows them from the decoded
//! text instead; the few strings that differ from their text (a JSON escape,
//! or the tree parser's fallback) are decoded into an arena the caller
//! holds, which allocates only when one is. Every part of a view is a plain
//! reference, so a view is `Copy` and dropping one costs nothing. An owned
//! [`Policy`] is just a view turned into owned strings.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::policy::{ByteRange, Condition, Expiration, Field, Policy};

/// A parsed policy document: its expiration and its conditions, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PolicyView<'a> {
    pub expires_at: DateTime<Utc>,
    pub conditions: Vec<ConditionView<'a>>,
}

impl PolicyView<'_> {
    pub fn into_policy(self) -> Policy {
        Policy::new(
            Some(Expiration::At(self.expires_at)),
            self.conditions
                .into_iter()
                .map(ConditionView::into_condition)
                .collect(),
        )
    }
}

/// One condition; `field` is the name as written, without its `$`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConditionView<'a> {
    Eq { field: &'a str, value: &'a str },
    StartsWith { field: &'a str, prefix: &'a str },
    In { field: &'a str, values: Values<'a> },
    NotIn { field: &'a str, values: Values<'a> },
    ContentLengthRange(ByteRange),
}

impl<'a> ConditionView<'a> {
    /// The field's name as written (no `$`); `None` for `content-length-range`.
    pub fn field(&self) -> Option<&'a str> {
        match *self {
            ConditionView::Eq { field, .. }
            | ConditionView::StartsWith { field, .. }
            | ConditionView::In { field, .. }
            | ConditionView::NotIn { field, .. } => Some(field),
            ConditionView::ContentLengthRange(_) => None,
        }
    }

    /// The operator name as the wire format spells it.
    pub fn operator(&self) -> &'static str {
        match self {
            ConditionView::Eq { .. } => "eq",
            ConditionView::StartsWith { .. } => "starts-with",
            ConditionView::In { .. } => "in",
            ConditionView::NotIn { .. } => "not-in",
            ConditionView::ContentLengthRange(_) => "content-length-range",
        }
    }

    /// True when this condition names `name` (ASCII case-insensitive).
    pub fn is_on(&self, name: &str) -> bool {
        self.field().is_some_and(|f| f.eq_ignore_ascii_case(name))
    }

    /// The owned condition (for messages, and for [`PolicyView::into_policy`]).
    pub fn into_condition(self) -> Condition {
        let own = |values: Values<'_>| values.iter().map(str::to_owned).collect();
        match self {
            ConditionView::Eq { field, value } => Condition::Eq {
                field: Field::written_as(field.to_owned()),
                value: value.to_owned(),
            },
            ConditionView::StartsWith { field, prefix } => Condition::StartsWith {
                field: Field::written_as(field.to_owned()),
                prefix: prefix.to_owned(),
            },
            ConditionView::In { field, values } => Condition::In {
                field: Field::written_as(field.to_owned()),
                values: own(values),
            },
            ConditionView::NotIn { field, values } => Condition::NotIn {
                field: Field::written_as(field.to_owned()),
                values: own(values),
            },
            ConditionView::ContentLengthRange(range) => Condition::ContentLengthRange(range),
        }
    }
}

impl<'a> From<&'a Condition> for ConditionView<'a> {
    fn from(condition: &'a Condition) -> Self {
        match condition {
            Condition::Eq { field, value } => ConditionView::Eq {
                field: field.written(),
                value,
            },
            Condition::StartsWith { field, prefix } => ConditionView::StartsWith {
                field: field.written(),
                prefix,
            },
            Condition::In { field, values } => ConditionView::In {
                field: field.written(),
                values: Values::Strings(values),
            },
            Condition::NotIn { field, values } => ConditionView::NotIn {
                field: field.written(),
                values: Values::Strings(values),
            },
            Condition::ContentLengthRange(range) => ConditionView::ContentLengthRange(*range),
        }
    }
}

/// The strings of an `in` or `not-in` list, wherever they already are: a
/// list in a scanned document is kept as its text and read again when
/// judged (a list of its own was two allocations on every verification).
#[derive(Clone, Copy)]
pub(crate) enum Values<'a> {
    /// The text between a list's brackets, as the scanner checked it: quoted
    /// strings without escapes, commas and JSON white space.
    Json(&'a str),
    /// Decoded strings.
    Strs(&'a [&'a str]),
    /// An owned condition's values.
    Strings(&'a [String]),
}

impl<'a> Values<'a> {
    /// The values in order.
    pub fn iter(self) -> impl Iterator<Item = &'a str> {
        let (json, strs, strings): (&'a str, &'a [&'a str], &'a [String]) = match self {
            Values::Json(text) => (text, &[], &[]),
            Values::Strs(strs) => ("", strs, &[]),
            Values::Strings(strings) => ("", &[], strings),
        };
        json_strings(json)
            .chain(strs.iter().copied())
            .chain(strings.iter().map(String::as_str))
    }
}

impl Values<'_> {
    /// True when `value` is one of the values (every verification asks this
    /// of each list, so each kind is searched directly).
    pub fn contains(self, value: &str) -> bool {
        match self {
            Values::Json(text) => json_strings(text).any(|v| v == value),
            Values::Strs(strs) => strs.contains(&value),
            Values::Strings(strings) => strings.iter().any(|v| v == value),
        }
    }
}

/// The strings of a list's text as the scanner checked it: without escapes,
/// the quotes are exactly the strings' delimiters. (A byte loop: the lists
/// are a few short strings, where a general string search costs more.)
fn json_strings(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let quote = |s: &str| s.bytes().position(|b| b == b'"');
        let open = quote(rest)? + 1;
        let after = rest.get(open..)?;
        let close = quote(after)?;
        let item = after.get(..close)?;
        rest = after.get(close + 1..)?;
        Some(item)
    })
}

impl PartialEq for Values<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Values<'_> {}

impl fmt::Debug for Values<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
