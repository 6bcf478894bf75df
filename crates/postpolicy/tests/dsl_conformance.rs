//! DSL conformance, kdl-rs style: every `tests/dsl/ok/NAME.policy` parses and
//! prints exactly `tests/dsl/canonical/NAME.policy` (which parses back to an
//! equal policy and prints as itself); every `tests/dsl/err/NAME.policy` fails
//! with exactly the `line:column: reason` lines of `tests/dsl/err/NAME.err`.
//! A case with a `NAME.params` file beside its `.policy` (a JSON object of
//! strings) is parsed with those parameters. See `tests/dsl/README.md`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use postpolicy::{Policy, SyntaxErrors, dsl};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/dsl")
}

/// The names (file stems) of the files in `folder` ending in `.ext`.
fn names(folder: &str, ext: &str) -> BTreeSet<String> {
    let dir = cases_dir().join(folder);
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn read(folder: &str, file: &str) -> String {
    let path = cases_dir().join(folder).join(file);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `folder/NAME.policy` parsed with `folder/NAME.params` when there is one.
fn parse_case(folder: &str, name: &str) -> Result<Policy, SyntaxErrors> {
    let source = read(folder, &format!("{name}.policy"));
    let params_path = cases_dir().join(folder).join(format!("{name}.params"));
    if !params_path.exists() {
        return dsl::parse(&source);
    }
    let text = read(folder, &format!("{name}.params"));
    let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{folder}/{name}.params is not a JSON object: {e}"));
    let params = params.into_iter().map(|(name, value)| match value {
        serde_json::Value::String(value) => (name, value),
        other => panic!("{folder}/{name}.params: `{name}` is {other}, not a string"),
    });
    dsl::parse_with(&source, params)
}

/// Runs `check` on every name and fails with all the failures at once.
fn run_all(names: &BTreeSet<String>, check: impl Fn(&str) -> Result<(), String>) {
    assert!(
        !names.is_empty(),
        "no cases found under {}",
        cases_dir().display()
    );
    let failures: Vec<String> = names.iter().filter_map(|name| check(name).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}

#[test]
fn folders_are_complete() {
    let ok = names("ok", "policy");
    let canonical = names("canonical", "policy");
    let err = names("err", "policy");
    let err_expected = names("err", "err");
    let ok_params = names("ok", "params");
    let err_params = names("err", "params");
    assert!(
        ok_params.is_subset(&ok) && err_params.is_subset(&err),
        "every NAME.params needs its NAME.policy: {:?}",
        ok_params
            .difference(&ok)
            .chain(err_params.difference(&err))
            .collect::<Vec<_>>()
    );
    assert!(!ok.is_empty(), "tests/dsl/ok is empty");
    assert!(!err.is_empty(), "tests/dsl/err is empty");
    assert_eq!(
        ok, canonical,
        "every ok/NAME.policy needs canonical/NAME.policy and back"
    );
    assert_eq!(
        err, err_expected,
        "every err/NAME.policy needs err/NAME.err and back"
    );
    let shared: Vec<_> = ok.intersection(&err).collect();
    assert!(
        shared.is_empty(),
        "names used in both ok/ and err/: {shared:?}"
    );
}

#[test]
fn ok_cases_print_their_canonical_form() {
    run_all(&names("ok", "policy"), |name| {
        let file = format!("{name}.policy");
        let expected = read("canonical", &file);
        let policy = parse_case("ok", name).map_err(|errors| {
            let lines: Vec<_> = errors.iter().map(ToString::to_string).collect();
            format!("ok/{file} does not parse:\n{}", lines.join("\n"))
        })?;
        let printed = dsl::print(&policy);
        if printed != expected {
            return Err(format!(
                "ok/{file} printed\n{printed}\nbut canonical/{file} is\n{expected}"
            ));
        }
        let reparsed = dsl::parse(&expected)
            .map_err(|errors| format!("canonical/{file} does not parse: {errors}"))?;
        if reparsed != policy {
            return Err(format!(
                "canonical/{file} parses to\n{reparsed:?}\nnot to ok/{file}'s\n{policy:?}"
            ));
        }
        let reprinted = dsl::print(&reparsed);
        if reprinted != expected {
            return Err(format!(
                "canonical/{file} is not a fixed point: it prints\n{reprinted}"
            ));
        }
        Ok(())
    });
}

#[test]
fn err_cases_report_every_error() {
    run_all(&names("err", "policy"), |name| {
        let expected = read("err", &format!("{name}.err"));
        let errors = match parse_case("err", name) {
            Ok(policy) => return Err(format!("err/{name}.policy parsed: {policy:?}")),
            Err(errors) => errors,
        };
        let mut actual = String::new();
        for error in errors.iter() {
            actual.push_str(&format!(
                "{}:{}: {}\n",
                error.line(),
                error.column(),
                error.reason()
            ));
            let display = format!(
                "line {}, column {}: {}",
                error.line(),
                error.column(),
                error.reason()
            );
            if error.to_string() != display {
                return Err(format!("err/{name}: displays as {error}"));
            }
        }
        if actual != expected {
            return Err(format!(
                "err/{name}.policy reported\n{actual}but err/{name}.err expects\n{expected}"
            ));
        }
        Ok(())
    });
}

#[test]
fn parameterised_cases_exist() {
    let count = names("ok", "params").len() + names("err", "params").len();
    assert!(count >= 10, "only {count} parameterised cases");
}

#[test]
fn there_are_enough_cases() {
    let total = names("ok", "policy").len() + names("err", "policy").len();
    assert!(total >= 40, "only {total} conformance cases");
}
