//! Syntax errors of the policy DSL: where (span, line, column) and what was
//! expected versus found, so a message can point at the bad value.

use crate::diagnostic::{LineCol, Span};

/// One syntax error. Displays as `line L, column C: expected …, found …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    span: Span,
    line_col: LineCol,
    expected: String,
    found: String,
}

impl SyntaxError {
    /// Builds an error at `span` of `source`; line and column are computed here.
    pub fn new(
        source: &str,
        span: Span,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self {
            span,
            line_col: LineCol::locate(source, span.start),
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub fn span(&self) -> Span {
        self.span
    }

    pub fn line(&self) -> usize {
        self.line_col.line
    }

    pub fn column(&self) -> usize {
        self.line_col.column
    }

    pub fn expected(&self) -> &str {
        &self.expected
    }

    pub fn found(&self) -> &str {
        &self.found
    }

    /// The one-line reason without the location: `expected …, found …`.
    pub fn reason(&self) -> String {
        format!("expected {}, found {}", self.expected, self.found)
    }
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line(),
            self.column(),
            self.reason()
        )
    }
}

impl std::error::Error for SyntaxError {}

impl SyntaxError {
    /// The stable code, `POLICY_SYNTAX`.
    pub fn code(&self) -> &'static str {
        "POLICY_SYNTAX"
    }
}

impl miette::Diagnostic for SyntaxError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code()))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(
                Some(format!("expected {}", self.expected)),
                self.span,
            ),
        )))
    }
}

/// Every syntax error of one parse (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxErrors {
    first: SyntaxError,
    rest: Vec<SyntaxError>,
}

impl SyntaxErrors {
    /// `None` when `errors` is empty.
    pub fn from_vec(mut errors: Vec<SyntaxError>) -> Option<Self> {
        if errors.is_empty() {
            return None;
        }
        let first = errors.remove(0);
        Some(Self {
            first,
            rest: errors,
        })
    }

    /// The stable code, `POLICY_SYNTAX`.
    pub fn code(&self) -> &'static str {
        "POLICY_SYNTAX"
    }

    pub fn first(&self) -> &SyntaxError {
        &self.first
    }

    pub fn iter(&self) -> impl Iterator<Item = &SyntaxError> {
        std::iter::once(&self.first).chain(self.rest.iter())
    }

    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

impl std::fmt::Display for SyntaxErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first)?;
        if !self.rest.is_empty() {
            write!(f, " (and {} more)", self.rest.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for SyntaxErrors {}

impl miette::Diagnostic for SyntaxErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code()))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.first.labels()
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(
            self.rest.iter().map(|e| e as &dyn miette::Diagnostic),
        ))
    }
}

/// The parser's own nom error: where the problem starts (the remaining input
/// at that point), what was expected and, when the lexer knows better than the
/// input can say, what was found. Locations become offsets (via
/// [`nom::Offset`]) and line/column only in [`DslError::into_syntax`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DslError<'a> {
    at: &'a str,
    expected: &'static str,
    /// What was found and how many bytes it spans; `None` describes `at`.
    found: Option<(String, usize)>,
    /// Raised by a nom primitive: the nearest `context` names what was expected.
    generic: bool,
}

impl<'a> DslError<'a> {
    /// Expected `expected` at `at`; what was found is read from `at`.
    pub(crate) fn new(at: &'a str, expected: &'static str) -> Self {
        Self {
            at,
            expected,
            found: None,
            generic: false,
        }
    }

    /// Expected `expected` at `at`, where `found` (spanning `len` bytes) was.
    pub(crate) fn found(at: &'a str, expected: &'static str, found: String, len: usize) -> Self {
        Self {
            at,
            expected,
            found: Some((found, len)),
            generic: false,
        }
    }

    /// The remaining input where the problem starts.
    #[cfg(test)]
    pub(crate) fn at(&self) -> &'a str {
        self.at
    }

    /// The public error: offsets against `source`, line and column computed now.
    pub(crate) fn into_syntax(self, source: &str) -> SyntaxError {
        let start = offset_in(source, self.at);
        let (found, len) = self
            .found
            .unwrap_or_else(|| crate::dsl::lexical::describe(self.at));
        let end = start.saturating_add(len).min(source.len());
        SyntaxError::new(source, Span::new(start, end), self.expected, found)
    }
}

/// The byte offset of `part` in `source` (via [`nom::Offset`]); the end of
/// `source` if `part` is not a piece of it, which the parser never produces.
pub(crate) fn offset_in(source: &str, part: &str) -> usize {
    use nom::Offset;
    let range = source.as_bytes().as_ptr_range();
    let inside = range.start <= part.as_ptr() && part.as_ptr() <= range.end;
    if inside {
        source.offset(part)
    } else {
        source.len()
    }
}

impl<'a> nom::error::ParseError<&'a str> for DslError<'a> {
    fn from_error_kind(input: &'a str, _kind: nom::error::ErrorKind) -> Self {
        Self {
            generic: true,
            ..Self::new(input, "valid syntax")
        }
    }

    fn append(_input: &'a str, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two alternatives, keep the one that got further; on a tie, the one
    /// that knows what it expected.
    fn or(self, other: Self) -> Self {
        match self.at.len().cmp(&other.at.len()) {
            std::cmp::Ordering::Less => self,
            std::cmp::Ordering::Greater => other,
            std::cmp::Ordering::Equal if other.generic && !self.generic => self,
            std::cmp::Ordering::Equal => other,
        }
    }
}

impl<'a> nom::error::ContextError<&'a str> for DslError<'a> {
    /// A context names what was expected unless a more specific error did.
    fn add_context(_input: &'a str, context: &'static str, mut other: Self) -> Self {
        if other.generic {
            other.expected = context;
            other.generic = false;
        }
        other
    }
}
