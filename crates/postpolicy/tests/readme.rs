//! The README's Rust example, kept here so it is compiled and run; the test
//! also checks the README still shows exactly this code.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// START readme-rust
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use postpolicy::{Credentials, FileInfo, OssSigner, Policy, Submission, Verifier};

fn main() -> Result<(), postpolicy::Error> {
    // 1. The application server writes a policy and signs it. Request data
    //    (here the signed-in user's id) is a parameter: a value, never DSL text.
    let user_id = "42";
    let policy = Policy::parse_with(
        r#"
        expires in 10m
        key starts-with "user/{user}/"
        content-type in [image/png, image/jpeg]
        content-length 1..10MiB
        success_action_status = 201
        "#,
        [("user", user_id)],
    )?;
    // The same policy, written in code:
    let built = Policy::builder()
        .expires_in(Duration::from_secs(600))
        .key_prefix(format!("user/{user_id}/"))
        .content_types(["image/png", "image/jpeg"])
        .size(1, 10 * 1024 * 1024)
        .field("success_action_status", "201")
        .build()?;
    assert_eq!(built, policy);
    let now = Utc::now();
    let credentials = Credentials::new("LTAI5tExampleKeyId", "ExampleSecret", None)?;
    let signer = OssSigner::new(credentials, "cn-hangzhou", "examplebucket")?;
    let form = signer.sign(&policy, now)?;
    println!("{}", form.to_json()); // hand this to the browser

    // 2. The browser posts the fields, then the file (last).
    let mut fields = vec![("key".to_owned(), "avatars/cat.png".to_owned())];
    fields.extend(form.fields.clone());
    fields.push(("Content-Type".to_owned(), "image/png".to_owned()));
    let upload = Submission {
        fields,
        fields_after_file: vec![],
        file: Some(FileInfo {
            filename: "cat.png".into(),
            content_type: None,
            size: Some(5_000),
        }),
    };

    // 3. OSS (or `postpolicy serve`, or your tests) checks it, and says why not.
    let keys = |id: &str| (id == "LTAI5tExampleKeyId").then(|| "ExampleSecret".to_owned());
    let verifier = Verifier::new("examplebucket", "cn-hangzhou", keys);
    let rejected = verifier
        .verify(&upload, now + TimeDelta::seconds(5))
        .unwrap_err();
    assert_eq!(rejected.service_code, "AccessDenied");
    println!("{}", rejected.reason); // key `avatars/cat.png` does not start with `user/42/`
    Ok(())
}
// END readme-rust

#[test]
fn readme_example_runs() {
    main().expect("the README example runs");
}

#[test]
fn readme_shows_this_example() {
    let this = include_str!("readme.rs");
    let readme = include_str!("../../../README.md");
    let between = |text: &'static str| -> &'static str {
        let start = text.find("// START readme-rust\n").expect("start marker")
            + "// START readme-rust\n".len();
        let end = text.find("// END readme-rust").expect("end marker");
        &text[start..end]
    };
    assert_eq!(
        between(readme),
        between(this),
        "README.md's Rust example differs from tests/readme.rs"
    );
}

#[test]
fn readme_shows_the_tested_python_and_node_examples() {
    let readme = include_str!("../../../README.md");
    let block = |text: &'static str, start: &str, end: &str| -> &'static str {
        let a = text.find(start).expect("start marker");
        let b = text.find(end).expect("end marker") + end.len();
        &text[a..b]
    };
    let python = include_str!("../../../python/README.md");
    let node = include_str!("../../../node/README.md");
    for (lang, start, end) in [
        (python, "# START readme-python", "# END readme-python"),
        (node, "// START readme-node\n", "// END readme-node\n"),
    ] {
        assert_eq!(
            block(readme, start, end),
            block(lang, start, end),
            "README.md's {start} block differs"
        );
    }
}
