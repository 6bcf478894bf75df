//! What a browser can check before it sends a byte, and the verifier's
//! wording for each failure.
//!
//! A signed form carries the conditions a page can judge on its own — the
//! size range, the key, the content type — as plain data ([`Rules`], the
//! token's `rules` member). A page that refuses a 10 MiB + 1 B file up front
//! saves the user the whole upload, and the service still judges every form.
//!
//! The sentences are the verifier's: [`crate::Verifier`] and
//! [`crate::S3Verifier`] build their rejection reasons from the templates in
//! this module, and the same templates travel in the token, so a browser
//! fills in the sent value (`{value}`, `{size}`) and says exactly what the
//! service would have said. No binding or browser helper writes a sentence of
//! its own: a reworded rejection changes here, and everywhere.

use serde::Serialize;

use crate::policy::{ByteRange, Condition};
use crate::wire;

/// The service's message for a failed condition, followed by the condition.
pub(crate) const CONDITION_FAILED: &str = "Invalid according to Policy: Policy Condition failed: ";
const TOO_SMALL: &str = "Your proposed upload is smaller than the minimum allowed size.";
const TOO_LARGE: &str = "Your proposed upload exceeds the maximum allowed size.";
/// Appended to an `eq` failure whose values differ only in letter case.
const HINT_CASE: &str = " (values are case-sensitive)";
/// Appended to an S3 key failure when `${filename}` was expanded first.
const HINT_EXPANDED: &str = " (after ${filename} expansion)";

/// Which service judges the form: the two differ in what they compare and so
/// in what they say (docs/s3.md#condition-rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dialect {
    Oss,
    S3,
}

/// Text with named slots, `{size}` or `{value}`, that a verifier or a
/// browser fills in; braces of the text itself are doubled (`{{`, `}}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Template(String);

impl Template {
    /// The template text, slots and doubled braces included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text with each `{name}` of `slots` replaced by its value; a slot
    /// not given stays as written, and `{{`/`}}` become single braces.
    pub fn render(&self, slots: &[(&str, &str)]) -> String {
        let text = self.0.as_str();
        let mut out = String::with_capacity(text.len() + 32);
        let mut rest = text;
        while let Some(at) = rest.find(['{', '}']) {
            let (before, from) = rest.split_at(at);
            out.push_str(before);
            if let Some(after) = from.strip_prefix("{{").or_else(|| from.strip_prefix("}}")) {
                out.push_str(from.get(..1).unwrap_or_default());
                rest = after;
                continue;
            }
            let slot = from.strip_prefix('{').and_then(|inner| {
                let end = inner.find('}')?;
                let name = inner.get(..end)?;
                let is_name =
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                is_name.then_some((name, inner.get(end + 1..)?))
            });
            match slot.and_then(|(name, after)| {
                let value = slots.iter().find(|(n, _)| *n == name)?.1;
                Some((value, after))
            }) {
                Some((value, after)) => {
                    out.push_str(value);
                    rest = after;
                }
                None => {
                    out.push_str(from.get(..1).unwrap_or_default());
                    rest = from.get(1..).unwrap_or_default();
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Builds a [`Template`] from literal text and slots.
#[derive(Debug)]
struct Builder(String);

impl Default for Builder {
    /// Room for a typical reason, so that it grows at most once.
    fn default() -> Self {
        Self(String::with_capacity(96))
    }
}

impl Builder {
    fn text(mut self, text: &str) -> Self {
        // A token holds a dozen templates: most text has no brace and is
        // copied whole.
        if !text.contains(['{', '}']) {
            self.0.push_str(text);
            return self;
        }
        if !text.contains(['{', '}']) {
            self.0.push_str(text);
            return self;
        }
        for c in text.chars() {
            match c {
                '{' => self.0.push_str("{{"),
                '}' => self.0.push_str("}}"),
                c => self.0.push(c),
            }
        }
        self
    }

    fn number(mut self, value: u64) -> Self {
        wire::push_u64(&mut self.0, value);
        self
    }

    fn slot(mut self, name: &str) -> Self {
        self.0.push('{');
        self.0.push_str(name);
        self.0.push('}');
        self
    }

    fn done(self) -> Template {
        Template(self.0)
    }
}

/// How one failure is answered: the service's code and message, and the
/// plain-language reason as a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// HTTP status the service answers with (not in the token: a page that
    /// refuses a file has sent no request).
    #[serde(skip)]
    pub status: u16,
    /// The service's error code (`EntityTooLarge`, `AccessDenied`).
    pub service_code: &'static str,
    /// The service's message, in its documented wording.
    pub message: String,
    /// Why, naming the value sent: slots `{size}`, `{value}`, `{hint}`.
    pub reason: Template,
}

/// Notes a reason ends with in some cases (slot `{hint}`), by the case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Hints {
    /// When the sent value equals the expected one but for ASCII letter case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// When the key was compared after `${filename}` expansion and differs
    /// from the key field as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded: Option<String>,
}

impl Hints {
    fn is_empty(&self) -> bool {
        self.case.is_none() && self.expanded.is_none()
    }
}

/// A `content-length-range` condition: the file's size must lie in
/// `min..=max`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename = "content-length-range")]
pub struct SizeRule {
    /// The condition's index in the signed policy (as a rejection names it).
    pub index: usize,
    /// The condition as the service echoes it.
    pub condition: String,
    pub min: u64,
    pub max: u64,
    /// Slot `{size}`.
    pub too_small: Failure,
    /// Slot `{size}`.
    pub too_large: Failure,
}

/// What a [`FieldRule`] requires of the field's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum FieldTest {
    Eq { value: String },
    StartsWith { prefix: String },
    In { values: Vec<String> },
    NotIn { values: Vec<String> },
}

/// A condition on the `key` or the content-type field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldRule {
    /// The condition's index in the signed policy (as a rejection names it).
    pub index: usize,
    /// The condition as the service echoes it.
    pub condition: String,
    /// The field's name as the policy wrote it (names are compared ASCII
    /// case-insensitively).
    pub field: String,
    #[serde(flatten)]
    pub test: FieldTest,
    /// S3 compares the key after replacing `${filename}` with the file's
    /// name; OSS compares the key field as sent.
    pub expand_filename: bool,
    /// The answer when the value fails: reason slots `{value}`, `{hint}`.
    pub failure: Failure,
    /// The reason when the form has no such field.
    pub missing: String,
    #[serde(skip_serializing_if = "Hints::is_empty")]
    pub hints: Hints,
    /// S3's `starts-with` on Content-Type holds for a comma-separated value
    /// only when every item starts with the prefix; the reason when an item
    /// of a list fails (slots `{value}`, `{item}`). `None`: the value is
    /// compared whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_reason: Option<Template>,
}

/// A field every form must send, whatever its policy says (`key`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename = "required")]
pub struct RequiredRule {
    pub field: String,
    /// The answer to a form without the field (no slots).
    pub failure: Failure,
}

/// One check a browser can make before it sends the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Rule {
    Required(RequiredRule),
    Size(SizeRule),
    Field(FieldRule),
}

impl Rule {
    /// The index in the signed policy of the condition this rule checks
    /// (`None` for a field every form needs).
    pub fn index(&self) -> Option<usize> {
        match self {
            Rule::Required(_) => None,
            Rule::Size(rule) => Some(rule.index),
            Rule::Field(rule) => Some(rule.index),
        }
    }
}

/// The checks of a signed form a browser can make, in the order the service
/// makes them: the first that fails is the one the service would name.
///
/// Signing only keeps the conditions the rules come from (a few, cloned);
/// the rules and their wording are built when read ([`Rules::to_vec`],
/// [`Rules::to_json`], the token JSON), so a signer that never hands out a
/// token pays next to nothing for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Whose verifier words the rules; `None`: no rules (a GCS form).
    dialect: Option<Dialect>,
    /// The key, content-type and size conditions, with their index in the
    /// signed policy.
    conditions: Vec<(usize, Condition)>,
}

impl Rules {
    /// The rules of `conditions` (a signed policy's, in order; `offset` is
    /// the index of the first), as `dialect`'s verifier judges them.
    pub(crate) fn of<'c>(
        conditions: impl IntoIterator<Item = &'c Condition>,
        offset: usize,
        dialect: Dialect,
    ) -> Self {
        let conditions = conditions
            .into_iter()
            .enumerate()
            .filter(|(_, c)| is_rule(c, dialect))
            .map(|(i, c)| (offset + i, c.clone()))
            .collect();
        Self {
            dialect: Some(dialect),
            conditions,
        }
    }

    /// A copy with room for `extra` more rules (a sign plan's, before the
    /// key's rule is added: a plain clone has none, and would grow).
    pub(crate) fn clone_with_room(&self, extra: usize) -> Self {
        let mut conditions = Vec::with_capacity(self.conditions.len() + extra);
        conditions.extend(self.conditions.iter().cloned());
        Self {
            dialect: self.dialect,
            conditions,
        }
    }

    /// Adds the rules of `conditions`, which follow the ones already read
    /// (`offset` is the index of the first), taking them rather than copies.
    pub(crate) fn extend_owned(
        &mut self,
        conditions: impl IntoIterator<Item = Condition>,
        offset: usize,
    ) {
        let Some(dialect) = self.dialect else {
            return;
        };
        self.conditions.extend(
            conditions
                .into_iter()
                .enumerate()
                .filter(|(_, c)| is_rule(c, dialect))
                .map(|(i, c)| (offset + i, c)),
        );
    }

    /// True for a form without rules (GCS, or made by hand).
    pub fn is_empty(&self) -> bool {
        self.dialect.is_none()
    }

    /// The rules, in the order the service checks them.
    pub fn to_vec(&self) -> Vec<Rule> {
        let Some(dialect) = self.dialect else {
            return Vec::new();
        };
        let mut fields = Vec::new();
        let mut sizes = Vec::new();
        for (index, condition) in &self.conditions {
            let index = *index;
            match condition {
                Condition::ContentLengthRange(range) => sizes.push(Rule::Size(SizeRule {
                    index,
                    condition: wire::echo_condition(condition),
                    min: range.min,
                    max: range.max,
                    too_small: too_small(range),
                    too_large: too_large(range),
                })),
                _ => {
                    if let Some(rule) = field_rule(condition, index, dialect) {
                        fields.push(Rule::Field(rule));
                    }
                }
            }
        }
        // Both services want a key before they read the policy; then OSS
        // judges the conditions in order, S3 the sizes after the rest.
        let mut rules = vec![Rule::Required(RequiredRule {
            field: "key".to_owned(),
            failure: key_required(dialect),
        })];
        match dialect {
            Dialect::Oss => {
                let mut conditions: Vec<Rule> = fields.into_iter().chain(sizes).collect();
                conditions.sort_by_key(Rule::index);
                rules.append(&mut conditions);
            }
            Dialect::S3 => rules.extend(fields.into_iter().chain(sizes)),
        }
        rules
    }

    /// The rules as JSON (the token's `rules` member): what serde writes
    /// for [`Rules::to_vec`], written by hand since every upload token
    /// carries it.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256 + 640 * self.conditions.len());
        self.write_json(&mut out);
        out
    }

    /// Appends [`Rules::to_json`] to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, rule) in self.to_vec().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_rule(out, rule);
        }
        out.push(']');
    }
}

/// One rule as serde writes it (see the test `hand_written_json_is_serdes`).
fn write_rule(out: &mut String, rule: &Rule) {
    let key = |out: &mut String, name: &str| {
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
    };
    let number = |out: &mut String, n: u64| out.push_str(&n.to_string());
    match rule {
        Rule::Required(rule) => {
            out.push_str("{\"op\":\"required\",");
            key(out, "field");
            wire::push_string(out, &rule.field);
            out.push(',');
            key(out, "failure");
            write_failure(out, &rule.failure);
        }
        Rule::Size(rule) => {
            out.push_str("{\"op\":\"content-length-range\",");
            key(out, "index");
            number(out, rule.index as u64);
            out.push(',');
            key(out, "condition");
            wire::push_string(out, &rule.condition);
            out.push(',');
            key(out, "min");
            number(out, rule.min);
            out.push(',');
            key(out, "max");
            number(out, rule.max);
            out.push(',');
            key(out, "too_small");
            write_failure(out, &rule.too_small);
            out.push(',');
            key(out, "too_large");
            write_failure(out, &rule.too_large);
        }
        Rule::Field(rule) => {
            out.push('{');
            key(out, "index");
            number(out, rule.index as u64);
            out.push(',');
            key(out, "condition");
            wire::push_string(out, &rule.condition);
            out.push(',');
            key(out, "field");
            wire::push_string(out, &rule.field);
            out.push(',');
            match &rule.test {
                FieldTest::Eq { value } => {
                    out.push_str("\"op\":\"eq\",");
                    key(out, "value");
                    wire::push_string(out, value);
                }
                FieldTest::StartsWith { prefix } => {
                    out.push_str("\"op\":\"starts-with\",");
                    key(out, "prefix");
                    wire::push_string(out, prefix);
                }
                FieldTest::In { values } | FieldTest::NotIn { values } => {
                    let op = if matches!(rule.test, FieldTest::In { .. }) {
                        "\"op\":\"in\","
                    } else {
                        "\"op\":\"not-in\","
                    };
                    out.push_str(op);
                    key(out, "values");
                    out.push('[');
                    for (i, value) in values.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        wire::push_string(out, value);
                    }
                    out.push(']');
                }
            }
            out.push(',');
            key(out, "expand_filename");
            out.push_str(if rule.expand_filename {
                "true"
            } else {
                "false"
            });
            out.push(',');
            key(out, "failure");
            write_failure(out, &rule.failure);
            out.push(',');
            key(out, "missing");
            wire::push_string(out, &rule.missing);
            if !rule.hints.is_empty() {
                out.push(',');
                key(out, "hints");
                out.push('{');
                let mut first = true;
                for (name, hint) in [
                    ("case", &rule.hints.case),
                    ("expanded", &rule.hints.expanded),
                ] {
                    if let Some(hint) = hint {
                        if !std::mem::take(&mut first) {
                            out.push(',');
                        }
                        key(out, name);
                        wire::push_string(out, hint);
                    }
                }
                out.push('}');
            }
            if let Some(item_reason) = &rule.item_reason {
                out.push(',');
                key(out, "item_reason");
                wire::push_string(out, item_reason.as_str());
            }
        }
    }
    out.push('}');
}

fn write_failure(out: &mut String, failure: &Failure) {
    out.push_str("{\"service_code\":");
    wire::push_string(out, failure.service_code);
    out.push_str(",\"message\":");
    wire::push_string(out, &failure.message);
    out.push_str(",\"reason\":");
    wire::push_string(out, failure.reason.as_str());
    out.push('}');
}

impl Serialize for Rules {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_vec().serialize(serializer)
    }
}

/// Whether a page can check `condition` itself: a size range, or one on a
/// field it fills from the file.
fn is_rule(condition: &Condition, dialect: Dialect) -> bool {
    matches!(condition, Condition::ContentLengthRange(_)) || browser_field(condition, dialect)
}

/// The fields a page fills from the file: its key and its content type.
fn browser_field(condition: &Condition, dialect: Dialect) -> bool {
    condition.field().is_some_and(|field| {
        field.is("key")
            || field.is("content-type")
            || (dialect == Dialect::Oss && field.is("x-oss-content-type"))
    })
}

fn field_rule(condition: &Condition, index: usize, dialect: Dialect) -> Option<FieldRule> {
    if !browser_field(condition, dialect) {
        return None;
    }
    let field = condition.field()?;
    let is_key = field.is("key");
    let test = match condition {
        Condition::Eq { value, .. } => FieldTest::Eq {
            value: value.clone(),
        },
        Condition::StartsWith { prefix, .. } => FieldTest::StartsWith {
            prefix: prefix.clone(),
        },
        Condition::In { values, .. } => FieldTest::In {
            values: values.clone(),
        },
        Condition::NotIn { values, .. } => FieldTest::NotIn {
            values: values.clone(),
        },
        Condition::ContentLengthRange(_) => return None,
    };
    let expanded = dialect == Dialect::S3 && is_key;
    let hints = Hints {
        case: matches!(test, FieldTest::Eq { .. }).then(|| HINT_CASE.to_owned()),
        expanded: expanded.then(|| HINT_EXPANDED.to_owned()),
    };
    let echo = wire::echo_condition(condition);
    Some(FieldRule {
        index,
        failure: condition_failed_echoed(condition, &echo),
        condition: echo,
        field: field.written().to_owned(),
        test,
        expand_filename: expanded,
        missing: missing_reason(condition, dialect),
        hints,
        item_reason: (dialect == Dialect::S3 && field.is("content-type"))
            .then(|| item_reason(condition))
            .flatten(),
    })
}

/// The answer to a form without a `key` field.
pub(crate) fn key_required(dialect: Dialect) -> Failure {
    let message = match dialect {
        Dialect::Oss => {
            "The bucket POST must contain the specified 'key'. If it is specified, please check the order of the fields"
        }
        Dialect::S3 => {
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields."
        }
    };
    Failure {
        status: 400,
        service_code: "InvalidArgument",
        message: message.to_owned(),
        reason: Builder::default()
            .text("the form has no `key` field")
            .done(),
    }
}

/// The answer to a file below the range.
pub(crate) fn too_small(range: &ByteRange) -> Failure {
    Failure {
        status: 400,
        service_code: "EntityTooSmall",
        message: TOO_SMALL.to_owned(),
        reason: Builder::default()
            .text("the file is ")
            .slot("size")
            .text(" bytes, below the minimum of ")
            .number(range.min)
            .text(" bytes (content-length-range ")
            .number(range.min)
            .text("..")
            .number(range.max)
            .text(")")
            .done(),
    }
}

/// The answer to a file above the range.
pub(crate) fn too_large(range: &ByteRange) -> Failure {
    Failure {
        status: 400,
        service_code: "EntityTooLarge",
        message: TOO_LARGE.to_owned(),
        reason: Builder::default()
            .text("the file is ")
            .slot("size")
            .text(" bytes, above the maximum of ")
            .number(range.max)
            .text(" bytes (content-length-range ")
            .number(range.min)
            .text("..")
            .number(range.max)
            .text(")")
            .done(),
    }
}

/// The answer to a failed field condition: 403 `AccessDenied`, the
/// condition echoed, and why (slots `{value}` and `{hint}`).
pub(crate) fn condition_failed(condition: &Condition) -> Failure {
    condition_failed_echoed(condition, &wire::echo_condition(condition))
}

/// [`condition_failed`] when the condition's `echo` is at hand.
fn condition_failed_echoed(condition: &Condition, echo: &str) -> Failure {
    let name = condition.field().map(|f| f.name()).unwrap_or_default();
    let sent = Builder::default().text(name).text(" `").slot("value");
    let reason = match condition {
        Condition::Eq { value, .. } => sent.text("` is not `").text(value).text("`").slot("hint"),
        Condition::StartsWith { prefix, .. } => sent
            .text("` does not start with `")
            .text(prefix)
            .text("`")
            .slot("hint"),
        Condition::In { values, .. } => sent.text("` is not one of ").text(&quoted_list(values)),
        Condition::NotIn { values, .. } => sent
            .text("` is one of the forbidden values ")
            .text(&quoted_list(values)),
        Condition::ContentLengthRange(_) => Builder::default(),
    };
    let mut message = String::with_capacity(CONDITION_FAILED.len() + echo.len());
    message.push_str(CONDITION_FAILED);
    message.push_str(echo);
    Failure {
        status: 403,
        service_code: "AccessDenied",
        message,
        reason: reason.done(),
    }
}

/// S3's reason when one item of a comma-separated Content-Type does not
/// start with the prefix (slots `{value}`, `{item}`).
fn item_reason(condition: &Condition) -> Option<Template> {
    let Condition::StartsWith { field, prefix } = condition else {
        return None;
    };
    Some(
        Builder::default()
            .text(field.name())
            .text(" `")
            .slot("value")
            .text("` is a list, and its item `")
            .slot("item")
            .text("` does not start with `")
            .text(prefix)
            .text("` (every item must)")
            .done(),
    )
}

/// [`item_reason`], filled in (the S3 verifier's sentence).
pub(crate) fn list_item_reason(condition: &Condition, value: &str, item: &str) -> String {
    item_reason(condition)
        .map(|t| t.render(&[("value", value), ("item", item)]))
        .unwrap_or_default()
}

/// The reason when the form lacks the condition's field.
pub(crate) fn missing_reason(condition: &Condition, dialect: Dialect) -> String {
    let written = condition.field().map(|f| f.written()).unwrap_or_default();
    let mut out = String::with_capacity(96);
    for part in [
        "the form has no `",
        written,
        "` field, and the policy requires ",
    ] {
        out.push_str(part);
    }
    match (condition, dialect) {
        (Condition::Eq { value, .. }, _) => {
            for part in ["it to be `", value, "`"] {
                out.push_str(part);
            }
        }
        (Condition::StartsWith { prefix, .. }, _) => {
            for part in ["it to start with `", prefix, "`"] {
                out.push_str(part);
            }
        }
        (Condition::In { values, .. }, Dialect::Oss) => {
            out.push_str("it to be one of ");
            out.push_str(&quoted_list(values));
        }
        (Condition::NotIn { values, .. }, Dialect::Oss) => {
            out.push_str("it, and not one of ");
            out.push_str(&quoted_list(values));
        }
        (Condition::ContentLengthRange(_), Dialect::Oss) => out.push_str("a file size in range"),
        (_, Dialect::S3) => out.push_str("it"),
    }
    out
}

/// The note a field failure's reason ends with (slot `{hint}`): letter case
/// for `eq`, else `${filename}` expansion when the key was expanded.
pub(crate) fn hint(condition: &Condition, sent: &str, expanded_from: Option<&str>) -> &'static str {
    match condition {
        Condition::Eq { value, .. } if sent.eq_ignore_ascii_case(value) => HINT_CASE,
        _ if expanded_from.is_some_and(|raw| raw != sent) => HINT_EXPANDED,
        _ => "",
    }
}

/// `` `a`, `b` ``: values as the reasons list them.
pub(crate) fn quoted_list(values: &[String]) -> String {
    let mut out = String::with_capacity(values.iter().map(|v| v.len() + 4).sum());
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('`');
        out.push_str(value);
        out.push('`');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_braces_and_fill_slots() {
        let t = Builder::default()
            .text("key `")
            .slot("value")
            .text("` is not `{x}`")
            .slot("hint")
            .done();
        assert_eq!(t.as_str(), "key `{value}` is not `{{x}}`{hint}");
        assert_eq!(
            t.render(&[("value", "{hint}"), ("hint", "!")]),
            "key `{hint}` is not `{x}`!"
        );
        assert_eq!(t.render(&[]), "key `{value}` is not `{x}`{hint}");
        let odd = Template("a } b { c {Nope} {}".to_owned());
        assert_eq!(odd.render(&[("nope", "x")]), "a } b { c {Nope} {}");
    }

    #[test]
    fn oss_rules_follow_the_policy_order_and_skip_other_fields() {
        let conditions = [
            Condition::eq("bucket", "b"),
            Condition::content_length(1, 10),
            Condition::starts_with("key", "u/"),
            Condition::eq("x-oss-meta-a", "1"),
            Condition::one_of("Content-Type", ["image/png"]),
        ];
        let rules = Rules::of(&conditions, 3, Dialect::Oss);
        let indexes: Vec<Option<usize>> = rules.to_vec().iter().map(Rule::index).collect();
        assert_eq!(indexes, [None, Some(4), Some(5), Some(7)]);
        let mut json: serde_json::Value = serde_json::from_str(&rules.to_json()).unwrap();
        assert_eq!(json[0]["op"], "required");
        assert_eq!(json[0]["field"], "key");
        assert_eq!(json[0]["failure"]["service_code"], "InvalidArgument");
        json.as_array_mut().unwrap().remove(0);
        assert_eq!(json[0]["op"], "content-length-range");
        assert_eq!(json[0]["too_large"]["service_code"], "EntityTooLarge");
        assert_eq!(
            json[0]["too_large"]["reason"],
            "the file is {size} bytes, above the maximum of 10 bytes (content-length-range 1..10)"
        );
        assert_eq!(json[1]["op"], "starts-with");
        assert_eq!(json[1]["prefix"], "u/");
        assert_eq!(json[1]["expand_filename"], false);
        assert_eq!(json[2]["op"], "in");
        assert_eq!(json[2]["field"], "Content-Type");
        assert_eq!(
            json[2]["failure"]["reason"],
            "content-type `{value}` is not one of `image/png`"
        );
        assert!(json[2]["failure"].get("status").is_none());
    }

    #[test]
    fn s3_rules_put_sizes_last_and_expand_keys() {
        let conditions = [
            Condition::content_length(1, 10),
            Condition::starts_with("key", "u/"),
            Condition::starts_with("Content-Type", "image/"),
        ];
        let rules = Rules::of(&conditions, 0, Dialect::S3);
        let indexes: Vec<Option<usize>> = rules.to_vec().iter().skip(1).map(Rule::index).collect();
        assert_eq!(indexes, [Some(1), Some(2), Some(0)]);
        let mut json: serde_json::Value = serde_json::from_str(&rules.to_json()).unwrap();
        json.as_array_mut().unwrap().remove(0);
        assert_eq!(json[0]["expand_filename"], true);
        assert_eq!(json[0]["hints"]["expanded"], HINT_EXPANDED);
        assert_eq!(
            json[1]["item_reason"],
            "content-type `{value}` is a list, and its item `{item}` does not start with `image/` (every item must)"
        );
    }

    #[test]
    fn hand_written_json_is_serdes() {
        let conditions = [
            Condition::content_length(1, 10),
            Condition::eq("key", "a/{b}\"c\""),
            Condition::starts_with("Content-Type", "image/"),
            Condition::one_of("x-oss-content-type", ["image/png", "a\\b"]),
            Condition::none_of("content-type", ["text/html"]),
            Condition::starts_with("key", "u/"),
        ];
        for dialect in [Dialect::Oss, Dialect::S3] {
            let rules = Rules::of(&conditions, 2, dialect);
            let by_hand: serde_json::Value = serde_json::from_str(&rules.to_json()).unwrap();
            let by_serde = serde_json::to_value(rules.to_vec()).unwrap();
            assert_eq!(by_hand, by_serde);
        }
        assert_eq!(Rules::default().to_json(), "[]");
    }
}
