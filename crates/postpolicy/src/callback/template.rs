//! The `${…}` placeholder syntax of `callbackBody`.
//!
//! A placeholder is `${` + name + `}`. Names use ASCII letters, digits, `.`,
//! `_`, `-` and `:`; a `$` not followed by `{` and a lone `}` are plain text.
//! System variables are matched case-sensitively (`${mimeType}`); custom
//! variables are `x:` + lower-case letters, digits, `_`, `-`, `.`.

use super::CallbackError;

/// Every system variable OSS substitutes in `callbackBody` (docs/oss.md#upload-callback).
pub const SYSTEM_VARIABLES: &[&str] = &[
    "bucket",
    "object",
    "etag",
    "size",
    "mimeType",
    "imageInfo.height",
    "imageInfo.width",
    "imageInfo.format",
    "crc64",
    "contentMd5",
    "clientIp",
    "reqId",
    "operation",
    "vpcId",
];

/// One piece of a body template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Literal text, copied as is.
    Text(&'a str),
    /// `${name}`; `offset` is the byte offset of the `$`.
    Var { name: &'a str, offset: usize },
}

/// What a placeholder name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VarRef<'a> {
    System(&'static str),
    Custom(&'a str),
}

/// Splits `body` into pieces; any malformed `${` is an error.
pub(crate) fn parse(body: &str) -> Result<Vec<Piece<'_>>, CallbackError> {
    scan(body, true)
}

/// Splits `body` into pieces; a malformed `${` is kept as text.
pub(crate) fn parse_lenient(body: &str) -> Vec<Piece<'_>> {
    scan(body, false).unwrap_or_else(|_| vec![Piece::Text(body)])
}

fn scan(body: &str, strict: bool) -> Result<Vec<Piece<'_>>, CallbackError> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut pos = 0;
    while let Some(found) = body.get(pos..).and_then(|rest| rest.find("${")) {
        let start = pos + found;
        let name_start = start + 2;
        let rest = body.get(name_start..).unwrap_or("");
        let problem = match rest.find('}') {
            None => Some("`${` is never closed by `}`".to_string()),
            Some(end) => {
                let name = rest.get(..end).unwrap_or("");
                match name_problem(name) {
                    None => {
                        if text_start < start {
                            pieces.push(Piece::Text(body.get(text_start..start).unwrap_or("")));
                        }
                        pieces.push(Piece::Var {
                            name,
                            offset: start,
                        });
                        pos = name_start + end + 1;
                        text_start = pos;
                        continue;
                    }
                    Some(problem) => Some(problem),
                }
            }
        };
        if let Some(reason) = problem {
            if strict {
                return Err(CallbackError::MalformedPlaceholder {
                    offset: start,
                    reason,
                });
            }
            // Lenient: the `${` is text; look again after it.
            pos = name_start;
        }
    }
    if text_start < body.len() {
        pieces.push(Piece::Text(body.get(text_start..).unwrap_or("")));
    }
    Ok(pieces)
}

fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("empty placeholder `${}`".to_string());
    }
    if name.contains("${") || name.contains('{') {
        return Some("placeholders cannot nest".to_string());
    }
    name.chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':')))
        .map(|c| format!("{c:?} is not allowed in a variable name `${{{name}}}`"))
}

/// Resolves a placeholder name to a system or custom variable.
pub(crate) fn classify(name: &str) -> Result<VarRef<'_>, CallbackError> {
    if name.starts_with("x:") {
        check_custom_name(name)?;
        return Ok(VarRef::Custom(name));
    }
    if name
        .get(..2)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("x:"))
    {
        return Err(CallbackError::InvalidVarName {
            name: name.to_string(),
            reason: "custom variable names must be lower case, `x:` prefix included",
        });
    }
    if let Some(&system) = SYSTEM_VARIABLES.iter().find(|&&v| v == name) {
        return Ok(VarRef::System(system));
    }
    let suggestion = SYSTEM_VARIABLES
        .iter()
        .copied()
        .find(|v| v.eq_ignore_ascii_case(name));
    Err(CallbackError::UnknownSystemVariable {
        name: name.to_string(),
        suggestion,
    })
}

/// Checks a custom variable name: `x:` + lower-case ASCII letters, digits,
/// `_`, `-`, `.`.
pub(crate) fn check_custom_name(name: &str) -> Result<(), CallbackError> {
    let fail = |reason| {
        Err(CallbackError::InvalidVarName {
            name: name.to_string(),
            reason,
        })
    };
    let Some(rest) = name.strip_prefix("x:") else {
        if name
            .get(..2)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("x:"))
        {
            return fail("custom variable names must be lower case, `x:` prefix included");
        }
        return fail("custom variable names must start with `x:`");
    };
    if rest.is_empty() {
        return fail("nothing follows `x:`");
    }
    if rest.chars().any(|c| c.is_uppercase()) {
        return fail("custom variable names must be lower case");
    }
    if !rest
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
    {
        return fail("after `x:` only a-z, 0-9, `_`, `-` and `.` are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_vars() {
        let pieces = parse("a=${bucket}&b=${x:v}$ {}").unwrap();
        assert_eq!(
            pieces,
            [
                Piece::Text("a="),
                Piece::Var {
                    name: "bucket",
                    offset: 2
                },
                Piece::Text("&b="),
                Piece::Var {
                    name: "x:v",
                    offset: 14
                },
                Piece::Text("$ {}"),
            ]
        );
    }

    #[test]
    fn malformed_placeholders() {
        for (body, offset) in [
            ("a=${bucket", 2),
            ("${}", 0),
            ("x ${a${b}}", 2),
            ("${ bucket }", 0),
            ("${bu\"cket}", 0),
        ] {
            match parse(body) {
                Err(CallbackError::MalformedPlaceholder { offset: o, .. }) => {
                    assert_eq!(o, offset, "{body}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn lenient_keeps_malformed_as_text() {
        let pieces = parse_lenient("a${b${size}");
        assert_eq!(
            pieces,
            [
                Piece::Text("a${b"),
                Piece::Var {
                    name: "size",
                    offset: 4
                }
            ]
        );
        assert_eq!(parse_lenient("${"), [Piece::Text("${")]);
    }

    #[test]
    fn classifies() {
        assert_eq!(classify("mimeType").unwrap(), VarRef::System("mimeType"));
        assert_eq!(classify("x:a_b").unwrap(), VarRef::Custom("x:a_b"));
        assert!(matches!(
            classify("mimetype"),
            Err(CallbackError::UnknownSystemVariable {
                suggestion: Some("mimeType"),
                ..
            })
        ));
        assert!(matches!(
            classify("filename"),
            Err(CallbackError::UnknownSystemVariable {
                suggestion: None,
                ..
            })
        ));
        assert!(matches!(
            classify("X:a"),
            Err(CallbackError::InvalidVarName { .. })
        ));
        assert!(matches!(
            classify("x:Ab"),
            Err(CallbackError::InvalidVarName { .. })
        ));
    }

    #[test]
    fn custom_names() {
        assert!(check_custom_name("x:my_var-1.a").is_ok());
        for bad in ["my_var", "x:", "x:My", "X:my", "x:a b", "x:a:b", "x:é"] {
            assert!(check_custom_name(bad).is_err(), "{bad}");
        }
    }
}
