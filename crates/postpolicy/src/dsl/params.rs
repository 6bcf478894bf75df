//! Parameters: the values that fill a policy's `{name}` placeholders.
//!
//! The parser reads each value into a [`Template`] first (literal text, with
//! the placeholders kept apart) and fills it only after the statement has been
//! read whole, so a parameter is data, never syntax: whatever it holds (`"`,
//! a line break, `#`, `;`, braces) cannot end a string, start a statement or
//! become a comment. Every problem here is a [`SyntaxError`] like the
//! grammar's, naming the parameter and where it is (or, for a parameter the
//! source never uses, the end of the source).

use super::error::{SyntaxError, offset_in};
use super::lexical::{Template, is_param_name, placeholder_name, show};
use crate::diagnostic::Span;

/// The parameters of one parse, sorted by name (so that errors come in the
/// same order whatever map the caller used).
#[derive(Debug, Default)]
pub(crate) struct Params<'p> {
    entries: Vec<Entry<'p>>,
}

#[derive(Debug)]
struct Entry<'p> {
    name: &'p str,
    value: &'p str,
    used: bool,
}

impl<'p> Params<'p> {
    pub(crate) fn new(pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> Self {
        let mut entries: Vec<Entry<'p>> = pairs
            .into_iter()
            .map(|(name, value)| Entry {
                name,
                value,
                used: false,
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(b.name));
        Self { entries }
    }

    /// `template`'s text with each placeholder replaced by its parameter's
    /// value; a placeholder without a parameter is recorded in `errors`.
    pub(crate) fn fill(
        &mut self,
        source: &str,
        template: Template<'_>,
        errors: &mut Vec<SyntaxError>,
    ) -> String {
        if template.holes.is_empty() {
            return template.text;
        }
        let text = template.text.as_str();
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (at, placeholder) in &template.holes {
            out.push_str(text.get(last..*at).unwrap_or_default());
            last = *at;
            let name = placeholder_name(placeholder);
            match self.entries.iter_mut().find(|e| e.name == name) {
                Some(entry) => {
                    entry.used = true;
                    out.push_str(entry.value);
                }
                None => errors.push(self.missing(source, placeholder)),
            }
        }
        out.push_str(text.get(last..).unwrap_or_default());
        out
    }

    fn missing(&self, source: &str, placeholder: &str) -> SyntaxError {
        let start = offset_in(source, placeholder);
        let span = Span::new(start, start.saturating_add(placeholder.len()));
        let found = if self.entries.is_empty() {
            "no parameters (a literal brace is written {{ or }})".to_owned()
        } else {
            let mut names: Vec<&str> = self.entries.iter().map(|e| e.name).collect();
            names.dedup();
            format!("none among the parameters given ({})", names.join(", "))
        };
        SyntaxError::new(
            source,
            span,
            format!("a parameter for {placeholder}"),
            found,
        )
    }

    /// Records the problems of the parameters themselves: a name that no
    /// placeholder can have, a name given twice and, when `check_use` (the
    /// source read cleanly, so every placeholder was seen), a parameter no
    /// placeholder uses. They are reported at the end of the source.
    pub(crate) fn check(&self, source: &str, check_use: bool, errors: &mut Vec<SyntaxError>) {
        let end = Span::new(source.len(), source.len());
        for (i, entry) in self.entries.iter().enumerate() {
            // Sorted: a name given twice is reported once, at its first entry.
            if i > 0
                && self
                    .entries
                    .get(i - 1)
                    .is_some_and(|e| e.name == entry.name)
            {
                continue;
            }
            if !is_param_name(entry.name) {
                errors.push(SyntaxError::new(
                    source,
                    end,
                    "parameter name (letters, digits and '_', not starting with a digit)",
                    show(entry.name),
                ));
                continue;
            }
            let times = self.entries.iter().filter(|e| e.name == entry.name).count();
            if times > 1 {
                errors.push(SyntaxError::new(
                    source,
                    end,
                    "each parameter given once",
                    format!("{} given {times} times", show(entry.name)),
                ));
            } else if check_use && !entry.used {
                errors.push(SyntaxError::new(
                    source,
                    end,
                    format!(
                        "placeholder {{{}}} (the parameter is given but not used)",
                        entry.name
                    ),
                    "end of input",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use crate::dsl::{parse, parse_with};
    use crate::policy::{Condition, Expiration, Policy};

    fn errors(result: Result<Policy, crate::SyntaxErrors>) -> Vec<String> {
        match result {
            Ok(policy) => panic!("parsed {policy:?}"),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn any_map_or_list_of_pairs() {
        let source = "key starts-with \"u/{id}/\"\nx-oss-meta-n = {name}";
        let expected = vec![
            Condition::starts_with("key", "u/7/"),
            Condition::eq("x-oss-meta-n", "ann"),
        ];
        let pairs = [("id", "7"), ("name", "ann")];
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let hash: HashMap<String, String> = owned.iter().cloned().collect();
        let btree: BTreeMap<&str, &str> = pairs.into_iter().collect();
        assert_eq!(parse_with(source, pairs).unwrap().conditions, expected);
        assert_eq!(parse_with(source, &hash).unwrap().conditions, expected);
        assert_eq!(parse_with(source, &btree).unwrap().conditions, expected);
        assert_eq!(parse_with(source, owned).unwrap().conditions, expected);
    }

    #[test]
    fn parse_is_parse_with_no_parameters() {
        let source = "key = \"{id}\"";
        let none: [(&str, &str); 0] = [];
        assert_eq!(parse(source), parse_with(source, none));
        assert_eq!(
            errors(parse(source)),
            [
                "line 1, column 8: expected a parameter for {id}, found no parameters (a literal brace is written {{ or }})"
            ]
        );
        assert_eq!(
            parse("key = \"{{id}}\"").unwrap().conditions,
            [Condition::eq("key", "{id}")]
        );
    }

    #[test]
    fn a_name_given_twice_is_an_error() {
        assert_eq!(
            errors(parse_with(
                "key = {a}",
                [("a", "1"), ("b", "2"), ("a", "1")]
            )),
            [
                "line 1, column 10: expected each parameter given once, found \"a\" given 2 times",
                "line 1, column 10: expected placeholder {b} (the parameter is given but not used), found end of input",
            ]
        );
    }

    #[test]
    fn missing_parameters_are_each_reported_and_recovery_goes_on() {
        assert_eq!(
            errors(parse_with(
                "a = {x}\nb in [{y}, \"{z}\"]\nc starts-with bad value\nd = {w}",
                [("w", "1")]
            )),
            [
                "line 1, column 5: expected a parameter for {x}, found none among the parameters given (w)",
                "line 2, column 7: expected a parameter for {y}, found none among the parameters given (w)",
                "line 2, column 13: expected a parameter for {z}, found none among the parameters given (w)",
                "line 3, column 19: expected end of statement, found \"value\"",
            ]
        );
    }

    #[test]
    fn values_are_data_whatever_they_hold() {
        let big = "\"#;]\n{x}${y}\\".repeat(1000);
        let policy = parse_with(
            "expires in 1h\nkey starts-with \"user/{id}/\"\nx-oss-meta-a in [{id}, {big}]",
            [
                ("id", "\"; expires at 2099-01-01T00:00:00Z #"),
                ("big", big.as_str()),
            ],
        )
        .unwrap();
        let id = "\"; expires at 2099-01-01T00:00:00Z #";
        assert_eq!(policy.expiration, Some(Expiration::In { seconds: 3600 }));
        assert_eq!(
            policy.conditions,
            [
                Condition::starts_with("key", format!("user/{id}/")),
                Condition::one_of("x-oss-meta-a", [id, big.as_str()]),
            ]
        );
        // The canonical text holds them as literal values.
        assert_eq!(Policy::parse(&policy.to_dsl()), Ok(policy));
    }

    #[test]
    fn origins_span_the_statement_as_written() {
        let source = "key starts-with \"user/{id}/\" # c";
        let policy =
            parse_with(source, [("id", "a much longer value than the placeholder")]).unwrap();
        let span = policy.origin(0).unwrap();
        assert_eq!(
            &source[span.start..span.end],
            "key starts-with \"user/{id}/\""
        );
    }
}
