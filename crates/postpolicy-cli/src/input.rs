//! Reading policies (DSL, JSON or base64) and rendering diagnostics with
//! source snippets (miette's graphical handler).

use miette::{LabeledSpan, MietteDiagnostic, NamedSource, Report};
use postpolicy::{Diagnostic, Policy, Severity, SyntaxErrors};

/// What a policy text turned out to be.
#[derive(Debug)]
pub(crate) enum Parsed {
    Policy(Policy),
    Syntax(SyntaxErrors),
    Invalid(String),
}

/// Whether `text` is policy JSON (`{…}`), base64 JSON, or DSL.
pub(crate) fn parse_policy(text: &str) -> Parsed {
    parse_policy_with(text, &[])
}

/// [`parse_policy`], with `--param NAME=VALUE` values for the DSL's `{name}`
/// placeholders (JSON and base64 policies have none).
pub(crate) fn parse_policy_with(text: &str, params: &[(String, String)]) -> Parsed {
    let trimmed = text.trim();
    let json = trimmed.starts_with('{');
    let base64 = !json && looks_like_base64(trimmed);
    if (json || base64) && !params.is_empty() {
        return Parsed::Invalid(
            "--param fills placeholders of a DSL policy; this one is JSON or base64".to_owned(),
        );
    }
    if json {
        return match Policy::from_json(trimmed) {
            Ok(policy) => Parsed::Policy(policy),
            Err(e) => Parsed::Invalid(format!("{} ({})", e.reason(), e.service_message())),
        };
    }
    if base64 && let Ok(policy) = Policy::from_base64(trimmed) {
        return Parsed::Policy(policy);
    }
    match Policy::parse_with(text, params.iter().map(|(k, v)| (k, v))) {
        Ok(policy) => Parsed::Policy(policy),
        Err(errors) => Parsed::Syntax(errors),
    }
}

/// The policy JSON of a JSON or base64 policy text (`None` for the DSL), for
/// the findings only the wire text shows (see `postpolicy::lint::lint_json`).
pub(crate) fn wire_text(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        return Some(trimmed.to_owned());
    }
    if looks_like_base64(trimmed) {
        return postpolicy::Policy::json_from_base64(trimmed).ok();
    }
    None
}

/// `--param NAME=VALUE`: the value may contain `=` (only the first splits).
pub(crate) fn parse_param(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}`: expected NAME=VALUE"))
}

/// One line of base64 text (`eyJ…`, the start of `{"`).
pub(crate) fn looks_like_base64(text: &str) -> bool {
    text.starts_with("ey")
        && !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

/// Reads a policy argument for `sign`/`serve`: errors end the command.
pub(crate) fn load_policy(name: &str, text: &str) -> Result<Policy, crate::Failure> {
    load_policy_with(name, text, &[])
}

/// [`load_policy`] with `--param` values.
pub(crate) fn load_policy_with(
    name: &str,
    text: &str,
    params: &[(String, String)],
) -> Result<Policy, crate::Failure> {
    match parse_policy_with(text, params) {
        Parsed::Policy(policy) => Ok(policy),
        Parsed::Syntax(errors) => {
            for error in errors.iter() {
                eprintln!("{}", render_syntax(name, text, error));
            }
            Err(crate::Failure(format!(
                "{name}: {} syntax error(s)",
                errors.len()
            )))
        }
        Parsed::Invalid(reason) => Err(crate::Failure(format!("{name}: {reason}"))),
    }
}

/// A syntax error with its source snippet.
pub(crate) fn render_syntax(name: &str, source: &str, error: &postpolicy::SyntaxError) -> String {
    let report =
        Report::new(error.clone()).with_source_code(NamedSource::new(name, source.to_owned()));
    format!("{report:?}")
}

/// A lint finding, with its source snippet when the policy came from the DSL.
pub(crate) fn render_lint(name: &str, source: &str, diagnostic: &Diagnostic) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut report = MietteDiagnostic::new(diagnostic.message.clone())
        .with_code(diagnostic.code)
        .with_severity(severity);
    if let Some(span) = diagnostic.span {
        let label = match diagnostic.condition_index {
            Some(i) => format!("condition {i}"),
            None => "here".to_owned(),
        };
        report = report.with_label(LabeledSpan::new_with_span(Some(label), span));
    }
    let report = Report::new(report).with_source_code(NamedSource::new(name, source.to_owned()));
    format!("{report:?}")
}
