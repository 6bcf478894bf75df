//! Every case of `tests/conformance/oss-verify.json`: the verifier must answer
//! as OSS does. Cases listed in `tests/DISPUTED.md` are skipped, and each skip
//! is printed.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use postpolicy::{FileInfo, Submission, Verifier};
use serde_json::Value;

fn root(rel: &str) -> String {
    format!("{}/../../{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn disputed() -> Vec<String> {
    let text = std::fs::read_to_string(root("tests/DISPUTED.md")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("field list")
        .iter()
        .map(|p| {
            (
                p[0].as_str().expect("name").to_owned(),
                p[1].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

fn submission(case: &Value) -> Submission {
    Submission {
        fields: pairs(&case["fields"]),
        fields_after_file: pairs(&case["fields_after_file"]),
        file: case["file"].as_object().map(|f| FileInfo {
            filename: f["filename"].as_str().expect("filename").to_owned(),
            content_type: f["content_type"].as_str().map(str::to_owned),
            size: f["size"].as_u64(),
        }),
    }
}

#[test]
fn every_conformance_case() {
    let text = std::fs::read_to_string(root("tests/conformance/oss-verify.json")).expect("cases");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 60);
    let skip = disputed();
    let mut failures = Vec::new();
    for case in cases {
        let id = case["id"].as_str().expect("id");
        if skip.iter().any(|s| s == id) {
            println!("SKIP {id} (listed in tests/DISPUTED.md)");
            continue;
        }
        let keys: HashMap<String, String> = case["keys"]
            .as_object()
            .expect("keys")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("secret").to_owned()))
            .collect();
        let verifier = Verifier::new(
            case["bucket"].as_str().expect("bucket"),
            case["region"].as_str().expect("region"),
            keys,
        );
        let now: DateTime<Utc> = case["now"].as_str().expect("now").parse().expect("time");
        let expect = &case["expect"];
        let form = submission(case);
        let outcome = verifier.verify(&form, now);
        let problem = match (&outcome, expect["accepted"].as_bool().expect("accepted")) {
            (Ok(accepted), true) => {
                let mut p = Vec::new();
                if accepted.key != expect["key"].as_str().expect("key") {
                    p.push(format!("key {:?} != {}", accepted.key, expect["key"]));
                }
                if u64::from(accepted.status) != expect["status"].as_u64().expect("status") {
                    p.push(format!(
                        "status {} != {}",
                        accepted.status, expect["status"]
                    ));
                }
                p
            }
            (Err(rejected), false) => {
                let mut p = Vec::new();
                if u64::from(rejected.status) != expect["status"].as_u64().expect("status") {
                    p.push(format!(
                        "status {} != {}",
                        rejected.status, expect["status"]
                    ));
                }
                if rejected.service_code != expect["code"].as_str().expect("code") {
                    p.push(format!(
                        "code {} != {}",
                        rejected.service_code, expect["code"]
                    ));
                }
                if let Some(message) = expect["message"].as_str()
                    && rejected.message != message
                {
                    p.push(format!("message {:?} != {:?}", rejected.message, message));
                }
                let index = expect["condition_index"].as_u64().map(|i| i as usize);
                if rejected.condition_index != index {
                    p.push(format!(
                        "condition_index {:?} != {:?}",
                        rejected.condition_index, index
                    ));
                }
                assert!(!rejected.reason.is_empty(), "{id}: empty reason");
                p
            }
            (Ok(a), false) => vec![format!("accepted as {:?}, expected a rejection", a.key)],
            (Err(r), true) => vec![format!("rejected: {r}")],
        };
        if !problem.is_empty() {
            failures.push(format!("{id}: {}", problem.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
