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
    pub fn new(source: &str, span: Span, expected: impl Into<String>, found: impl Into<String>) -> Self {
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

impl miette::Diagnostic for SyntaxError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("postpolicy::syntax"))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(miette::LabeledSpan::new_with_span(
            Some(format!("expected {}", self.expected)),
            self.span,
        ))))
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
        Some(Box::new("postpolicy::syntax"))
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
