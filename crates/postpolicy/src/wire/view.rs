//! A policy as read from the text a browser sent, borrowing its strings.
//!
//! The verifier reads a policy on every upload and drops it a moment later, so
//! copying each field name and value into an owned [`Policy`] would cost an
//! allocation per string for nothing. A view borrows them from the decoded
//! text instead (a string holding a JSON escape is the only one copied). An
//! owned [`Policy`] is just a view turned into owned strings.

use std::borrow::Cow;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConditionView<'a> {
    Eq {
        field: Cow<'a, str>,
        value: Cow<'a, str>,
    },
    StartsWith {
        field: Cow<'a, str>,
        prefix: Cow<'a, str>,
    },
    In {
        field: Cow<'a, str>,
        values: Vec<Cow<'a, str>>,
    },
    NotIn {
        field: Cow<'a, str>,
        values: Vec<Cow<'a, str>>,
    },
    ContentLengthRange(ByteRange),
}

impl<'a> ConditionView<'a> {
    /// The field's name as written (no `$`); `None` for `content-length-range`.
    pub fn field(&self) -> Option<&str> {
        match self {
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
    pub fn to_condition(&self) -> Condition {
        self.clone().into_condition()
    }

    pub fn into_condition(self) -> Condition {
        let own = |values: Vec<Cow<'a, str>>| values.into_iter().map(Cow::into_owned).collect();
        match self {
            ConditionView::Eq { field, value } => Condition::Eq {
                field: Field::written_as(field.into_owned()),
                value: value.into_owned(),
            },
            ConditionView::StartsWith { field, prefix } => Condition::StartsWith {
                field: Field::written_as(field.into_owned()),
                prefix: prefix.into_owned(),
            },
            ConditionView::In { field, values } => Condition::In {
                field: Field::written_as(field.into_owned()),
                values: own(values),
            },
            ConditionView::NotIn { field, values } => Condition::NotIn {
                field: Field::written_as(field.into_owned()),
                values: own(values),
            },
            ConditionView::ContentLengthRange(range) => Condition::ContentLengthRange(range),
        }
    }
}

impl<'a> From<&'a Condition> for ConditionView<'a> {
    fn from(condition: &'a Condition) -> Self {
        let borrow =
            |values: &'a [String]| values.iter().map(|v| Cow::Borrowed(v.as_str())).collect();
        match condition {
            Condition::Eq { field, value } => ConditionView::Eq {
                field: Cow::Borrowed(field.written()),
                value: Cow::Borrowed(value),
            },
            Condition::StartsWith { field, prefix } => ConditionView::StartsWith {
                field: Cow::Borrowed(field.written()),
                prefix: Cow::Borrowed(prefix),
            },
            Condition::In { field, values } => ConditionView::In {
                field: Cow::Borrowed(field.written()),
                values: borrow(values),
            },
            Condition::NotIn { field, values } => ConditionView::NotIn {
                field: Cow::Borrowed(field.written()),
                values: borrow(values),
            },
            Condition::ContentLengthRange(range) => ConditionView::ContentLengthRange(*range),
        }
    }
}
