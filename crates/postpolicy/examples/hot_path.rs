//! The two hot paths, repeated, for instruction counts that do not depend on
//! a noisy machine: `valgrind --tool=callgrind` over this program counts the
//! same instructions on every run, where a timed benchmark wanders.
//!
//! ```text
//! cargo build --profile bench -p postpolicy --example hot_path
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/hot_path sign 10000
//! ```
//!
//! `sign` signs the benchmark's typical policy with a warm V4 signer;
//! `sign-key` a two-condition policy with a key template (the Python and Node
//! benchmarks' shape); `sign-plan` and `sign-key-plan` the same through a
//! [`postpolicy::SignPlan`]; `token`
//! signs it and writes the browser's JSON token (rules included); `verify`
//! verifies the form it yields. Each run first does the same setup once, so
//! `(count(N) - count(0)) / N` is the cost of one call.
#![allow(clippy::panic)]

use std::collections::HashMap;
use std::hint::black_box;

use chrono::{DateTime, Utc};
use postpolicy::{Credentials, FileInfo, OssSigner, Policy, SignOptions, Submission, Verifier};

const POLICY: &str = r#"
expires in 1h
key starts-with "user/42/"
content-type in [image/png, image/jpeg]
content-length 1..10MiB
success_action_status = 201
x-oss-meta-owner = "42"
cache-control not-in [no-store]
"#;

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_default();
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    let policy = Policy::parse(POLICY).unwrap_or_else(|e| panic!("{e}"));
    let credentials = Credentials::new(
        "LTAI5tBenchKeyId",
        "BenchSecretKZo149BD9GLPNiDIEmdQ7d",
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let signer = OssSigner::new(credentials, "cn-hangzhou", "examplebucket")
        .unwrap_or_else(|e| panic!("{e}"));
    let form = signer.sign(&policy, now).unwrap_or_else(|e| panic!("{e}"));
    let mut fields = vec![("key".to_owned(), "user/42/cat.png".to_owned())];
    fields.extend(
        form.fields
            .iter()
            .filter(|(n, _)| *n != "key")
            .map(|(n, v)| (n.to_owned(), v.to_owned())),
    );
    fields.push(("Content-Type".to_owned(), "image/png".to_owned()));
    fields.push(("Cache-Control".to_owned(), "max-age=60".to_owned()));
    let submission = Submission {
        fields,
        fields_after_file: Vec::new(),
        file: Some(FileInfo {
            filename: "cat.png".into(),
            content_type: Some("image/png".into()),
            size: Some(12_345),
        }),
    };
    let keys: HashMap<String, String> = [(
        "LTAI5tBenchKeyId".to_owned(),
        "BenchSecretKZo149BD9GLPNiDIEmdQ7d".to_owned(),
    )]
    .into();
    let verifier = Verifier::new("examplebucket", "cn-hangzhou", keys);
    if let Err(e) = verifier.verify(&submission, now) {
        panic!("the form must verify: {e}");
    }
    match what.as_str() {
        "sign" => {
            for _ in 0..rounds {
                black_box(signer.sign(black_box(&policy), now).is_ok());
            }
        }
        "sign-key" => {
            // The Python and Node benchmarks' shape: a short policy and the
            // key given as a template option.
            let small = Policy::parse("content-length 1..10MiB\nsuccess_action_status = 201")
                .unwrap_or_else(|e| panic!("{e}"));
            let options = SignOptions::default().key("user/42/${filename}");
            for _ in 0..rounds {
                black_box(signer.sign_with(black_box(&small), &options, now).is_ok());
            }
        }
        "sign-plan" => {
            let plan = signer.plan(&policy).unwrap_or_else(|e| panic!("{e}"));
            let options = SignOptions::default();
            for _ in 0..rounds {
                black_box(signer.sign_planned(black_box(&plan), &options, now).is_ok());
            }
        }
        "sign-key-plan" => {
            let small = Policy::parse("content-length 1..10MiB\nsuccess_action_status = 201")
                .unwrap_or_else(|e| panic!("{e}"));
            let plan = signer.plan(&small).unwrap_or_else(|e| panic!("{e}"));
            let options = SignOptions::default().key("user/42/${filename}");
            for _ in 0..rounds {
                black_box(signer.sign_planned(black_box(&plan), &options, now).is_ok());
            }
        }
        "token" => {
            for _ in 0..rounds {
                let form = signer.sign(black_box(&policy), now);
                black_box(form.map(|f| f.to_json().len()).unwrap_or_default());
            }
        }
        "verify" => {
            for _ in 0..rounds {
                black_box(verifier.verify(black_box(&submission), now).is_ok());
            }
        }
        other => panic!(
            "expected `sign`, `sign-key`, `sign-plan`, `sign-key-plan`, `token` or `verify`, got `{other}`"
        ),
    }
}
