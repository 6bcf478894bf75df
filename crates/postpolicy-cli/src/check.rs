//! `postpolicy check FILE`: parse + lint.

use std::path::PathBuf;

use chrono::Utc;
use postpolicy::{LineCol, Severity};
use serde_json::json;

use crate::input::{Parsed, parse_param, parse_policy_with, render_lint, render_syntax, wire_text};
use crate::{Exit, Format, Outcome, read_arg};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The policy: DSL, JSON or base64 (`-` reads standard input).
    file: PathBuf,
    /// A value for the DSL's `{NAME}` placeholder (repeatable): taken as a
    /// value, never as policy text.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// Exit 1 when there are warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// `human` (snippets on stderr) or `json` (one object on stdout).
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub(crate) fn run(args: &Args) -> Outcome {
    let source = read_arg(&args.file)?;
    let name = args.file.display().to_string();
    let mut items = Vec::new();
    let mut errors = 0usize;
    let mut warnings = 0usize;
    match parse_policy_with(&source, &args.params) {
        Parsed::Syntax(syntax) => {
            for error in syntax.iter() {
                errors += 1;
                if args.format == Format::Human {
                    eprintln!("{}", render_syntax(&name, &source, error));
                }
                items.push(json!({
                    "code": "POLICY_SYNTAX", "severity": "error", "message": error.reason(),
                    "line": error.line(), "column": error.column(), "condition_index": null,
                }));
            }
        }
        Parsed::Invalid(reason) => {
            errors += 1;
            if args.format == Format::Human {
                eprintln!("error[POLICY_INVALID]: {name}: {reason}");
            }
            items.push(json!({
                "code": "POLICY_INVALID", "severity": "error", "message": reason,
                "line": null, "column": null, "condition_index": null,
            }));
        }
        Parsed::Policy(policy) => {
            let now = Utc::now();
            let diagnostics = wire_text(&source)
                .and_then(|text| postpolicy::lint::lint_json(&text, now).ok())
                .unwrap_or_else(|| postpolicy::lint::lint(&policy, now));
            for diagnostic in diagnostics {
                match diagnostic.severity {
                    Severity::Error => errors += 1,
                    Severity::Warning => warnings += 1,
                }
                if args.format == Format::Human {
                    eprintln!("{}", render_lint(&name, &source, &diagnostic));
                }
                let at = diagnostic.span.map(|s| LineCol::locate(&source, s.start));
                items.push(json!({
                    "code": diagnostic.code, "severity": diagnostic.severity,
                    "message": diagnostic.message,
                    "line": at.map(|l| l.line), "column": at.map(|l| l.column),
                    "condition_index": diagnostic.condition_index,
                }));
            }
        }
    }
    let exit = if errors > 0 {
        Exit::Errors
    } else if warnings > 0 && args.deny_warnings {
        Exit::Warnings
    } else {
        Exit::Ok
    };
    match args.format {
        Format::Json => {
            let report = json!({
                "file": name, "errors": errors, "warnings": warnings,
                "exit_code": exit as u8, "diagnostics": items,
            });
            println!("{report:#}");
        }
        Format::Human => {
            let verdict = if errors == 0 && warnings == 0 {
                "ok".to_owned()
            } else {
                format!("{errors} error(s), {warnings} warning(s)")
            };
            eprintln!("{name}: {verdict}");
        }
    }
    Ok(exit)
}
