//! The policy model: what an upload may look like, independent of how it was
//! written (DSL or wire JSON) and of who signs it.
//!
//! Field names are compared ASCII-case-insensitively, as OSS does (docs/oss.md#field-names), so
//! a [`Field`] keeps its lower-case name for comparison and the spelling it was
//! written with, so that rejection messages can echo the policy as it was sent.

use chrono::{DateTime, Utc};

use crate::error::PolicyError;
use crate::time::TimeRangeError;

use crate::diagnostic::Span;

/// The largest object a form upload may create: 5 GB (OSS and S3 alike).
///
/// Every verifier caps [`Accepted::size_limit`](crate::Accepted::size_limit)
/// at it; a server streaming the file part stops reading past it.
pub const MAX_FORM_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// A form field named by a condition.
///
/// Equality and hashing use the lower-case name only; the written spelling is
/// kept for echoing the policy back (e.g. `$Content-Type`).
#[derive(Clone, Debug, Eq)]
pub struct Field {
    /// Borrowed for the names the signers add themselves (`key`), which
    /// every signature would otherwise copy.
    written: std::borrow::Cow<'static, str>,
    /// The lower-case name, kept only when it differs from `written` (most
    /// names are already lower case, and policies are parsed on hot paths).
    lower: Option<String>,
}

impl Field {
    /// A field from its name, with or without the leading `$`.
    pub fn new(name: &str) -> Self {
        Self::written_as(name.strip_prefix('$').unwrap_or(name).to_owned())
    }

    /// A field whose name is already without its `$` (as [`Field::written`]
    /// returns it), so that a name like `$$x` keeps its second `$`.
    pub(crate) fn written_as(written: String) -> Self {
        let lower = written
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| written.to_ascii_lowercase());
        Self {
            written: written.into(),
            lower,
        }
    }

    /// A field the signers name themselves (lower case, no `$`).
    pub(crate) fn known(name: &'static str) -> Self {
        debug_assert!(
            !name.starts_with('$') && !name.bytes().any(|b| b.is_ascii_uppercase()),
            "{name}"
        );
        Self {
            written: std::borrow::Cow::Borrowed(name),
            lower: None,
        }
    }

    /// The normalised (lower-case, no `$`) name.
    pub fn name(&self) -> &str {
        self.lower.as_deref().unwrap_or(&self.written)
    }

    /// The name as it was written (without `$`).
    pub fn written(&self) -> &str {
        &self.written
    }

    /// True when this field is `name` (ASCII case-insensitive, `$` optional).
    pub fn is(&self, name: &str) -> bool {
        self.written
            .eq_ignore_ascii_case(name.strip_prefix('$').unwrap_or(name))
    }
}

impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl std::hash::Hash for Field {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.written)
    }
}

impl From<&str> for Field {
    fn from(name: &str) -> Self {
        Field::new(name)
    }
}

/// An inclusive byte range (`content-length-range`). Sizes are `u64` end to end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ByteRange {
    pub min: u64,
    pub max: u64,
}

impl ByteRange {
    pub fn contains(&self, size: u64) -> bool {
        self.min <= size && size <= self.max
    }

    /// True when no size fits: the maximum is below the minimum. The one
    /// statement of this rule: the services refuse such a range, so the
    /// policy readers and the signers refuse it (through
    /// `ByteRange::check`), lint reports it and the builder refuses it.
    pub fn is_empty(&self) -> bool {
        self.max < self.min
    }

    /// `self`, or the service's refusal of an empty range at condition
    /// `index` (`InvalidPolicyDocument`).
    pub(crate) fn check(self, index: usize) -> Result<Self, PolicyError> {
        if self.is_empty() {
            return Err(PolicyError::new(
                "Invalid Policy: Invalid content-length-range: max must not be less than min.",
                format!(
                    "condition {index}: content-length-range maximum {} is below minimum {}",
                    self.max, self.min
                ),
            ));
        }
        Ok(self)
    }
}

/// One condition of a policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// Exact match: `{"field": "value"}` or `["eq", "$field", "value"]`.
    Eq { field: Field, value: String },
    /// `["starts-with", "$field", "prefix"]`; an empty prefix allows any value.
    StartsWith { field: Field, prefix: String },
    /// `["in", "$field", [...]]` (OSS only).
    In { field: Field, values: Vec<String> },
    /// `["not-in", "$field", [...]]` (OSS only).
    NotIn { field: Field, values: Vec<String> },
    /// `["content-length-range", min, max]`, inclusive.
    ContentLengthRange(ByteRange),
}

impl Condition {
    pub fn eq(field: &str, value: impl Into<String>) -> Self {
        Condition::Eq {
            field: Field::new(field),
            value: value.into(),
        }
    }

    pub fn starts_with(field: &str, prefix: impl Into<String>) -> Self {
        Condition::StartsWith {
            field: Field::new(field),
            prefix: prefix.into(),
        }
    }

    pub fn one_of(field: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Condition::In {
            field: Field::new(field),
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    pub fn none_of(field: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Condition::NotIn {
            field: Field::new(field),
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    pub fn content_length(min: u64, max: u64) -> Self {
        Condition::ContentLengthRange(ByteRange { min, max })
    }

    /// The field this condition constrains (`None` for `content-length-range`).
    pub fn field(&self) -> Option<&Field> {
        match self {
            Condition::Eq { field, .. }
            | Condition::StartsWith { field, .. }
            | Condition::In { field, .. }
            | Condition::NotIn { field, .. } => Some(field),
            Condition::ContentLengthRange(_) => None,
        }
    }

    /// The operator name as the wire format spells it.
    pub fn operator(&self) -> &'static str {
        match self {
            Condition::Eq { .. } => "eq",
            Condition::StartsWith { .. } => "starts-with",
            Condition::In { .. } => "in",
            Condition::NotIn { .. } => "not-in",
            Condition::ContentLengthRange(_) => "content-length-range",
        }
    }
}

/// The condition as the services echo a failing one in their error message:
/// a JSON list with `", "` separators and raw UTF-8, e.g.
/// `["starts-with", "$key", "user/42/"]` (exact matches in their `eq` form).
impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::wire::echo_condition(self))
    }
}

/// When a policy stops being valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expiration {
    /// A fixed instant (UTC).
    At(DateTime<Utc>),
    /// A lifetime counted from the moment of signing (or serialising).
    In { seconds: u64 },
}

impl Expiration {
    /// The instant this expiration denotes when the policy is signed at `now`:
    /// an error when `now`, the fixed instant or `now` plus the lifetime is
    /// outside what a policy document can state (years 0000 to 9999).
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeRangeError> {
        match *self {
            Expiration::At(at) => crate::time::check_instant(at, "the expiration"),
            Expiration::In { seconds } => crate::time::after_lifetime(now, seconds),
        }
    }
}

/// The lifetime a signer gives a policy that does not say `expires`.
pub const DEFAULT_LIFETIME_SECONDS: u64 = 3600;

/// An upload policy: an expiration and an ordered list of conditions.
///
/// `Policy` does not know where it came from; the DSL parser records where each
/// condition was written (see [`Policy::origin`]), which equality ignores.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub expiration: Option<Expiration>,
    pub conditions: Vec<Condition>,
    origins: Vec<Option<Span>>,
}

impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        self.expiration == other.expiration && self.conditions == other.conditions
    }
}

impl Eq for Policy {}

impl Policy {
    pub fn new(expiration: Option<Expiration>, conditions: Vec<Condition>) -> Self {
        Self {
            expiration,
            conditions,
            origins: Vec::new(),
        }
    }

    /// Records where condition `index` was written (used by the DSL parser).
    pub(crate) fn set_origin(&mut self, index: usize, span: Span) {
        if self.origins.len() <= index {
            self.origins.resize(index + 1, None);
        }
        if let Some(slot) = self.origins.get_mut(index) {
            *slot = Some(span);
        }
    }

    /// Where condition `index` was written, when it came from the DSL.
    pub fn origin(&self, index: usize) -> Option<Span> {
        self.origins.get(index).copied().flatten()
    }

    /// Appends a condition.
    pub fn push(&mut self, condition: Condition) -> &mut Self {
        self.conditions.push(condition);
        self
    }

    /// The expiration instant when signed at `now` (default lifetime when
    /// unset); an error when it cannot be stated (see [`Expiration::resolve`]).
    pub fn expires_at(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeRangeError> {
        self.expiration
            .unwrap_or(Expiration::In {
                seconds: DEFAULT_LIFETIME_SECONDS,
            })
            .resolve(now)
    }
}

impl Policy {
    /// Parses the policy DSL (see [`crate::dsl`]). A `{name}` placeholder
    /// in it is an error here: fill it with [`Policy::parse_with`].
    pub fn parse(source: &str) -> Result<Policy, crate::SyntaxErrors> {
        crate::dsl::parse(source)
    }

    /// Parses the policy DSL with its `{name}` placeholders filled from
    /// `params`: the way to put request data (a user id, say) in a policy,
    /// since a parameter is always one value, never policy text (see
    /// [`crate::dsl::parse_with`]).
    ///
    /// ```
    /// # use postpolicy::{Condition, Policy};
    /// let policy = Policy::parse_with(r#"key starts-with "user/{id}/""#, [("id", "42")])?;
    /// assert_eq!(policy.conditions, [Condition::starts_with("key", "user/42/")]);
    /// # Ok::<(), postpolicy::SyntaxErrors>(())
    /// ```
    pub fn parse_with<K, V>(
        source: &str,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Policy, crate::SyntaxErrors>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        crate::dsl::parse_with(source, params)
    }

    /// The canonical DSL text of this policy.
    pub fn to_dsl(&self) -> String {
        crate::dsl::print(self)
    }

    /// Parses policy JSON in every style the services accept (see
    /// docs/oss.md#policy-json in the repository).
    pub fn from_json(text: &str) -> Result<Policy, crate::PolicyError> {
        crate::wire::from_json(text)
    }

    /// Decodes a `policy` form field (base64 JSON).
    pub fn from_base64(policy_b64: &str) -> Result<Policy, crate::PolicyError> {
        crate::wire::from_base64(policy_b64)
    }

    /// The JSON text of a `policy` form field, byte for byte as it was signed
    /// (never re-serialised): `postpolicy decode` prints it, and tests compare
    /// it with what a signer wrote.
    pub fn json_from_base64(policy_b64: &str) -> Result<String, crate::PolicyError> {
        crate::wire::decode_base64(policy_b64)
    }

    /// Compact policy JSON; a relative or missing expiration resolves against
    /// `now` (an error when the expiration cannot be stated).
    pub fn to_json(&self, now: DateTime<Utc>) -> Result<String, TimeRangeError> {
        crate::wire::to_json(self, now)
    }
}
