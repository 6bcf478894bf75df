//! README.md's GCS example, kept here so it is compiled and run; the test
//! also checks the README still shows exactly this code.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use chrono::Utc;
use postpolicy::{GcsSigner, Policy, ServiceAccountKey, SignOptions};

fn example(key_path: &std::path::Path) -> Result<(), postpolicy::Error> {
    // START readme-gcs
    let key = ServiceAccountKey::from_file(key_path)?; // or ServiceAccountKey::from_env()
    let signer = GcsSigner::new(key.into(), "photos")?; // or GcsCredentials::hmac(id, secret)
    let policy =
        Policy::parse("expires in 10m\ncontent-type starts-with image/\ncontent-length 1..10MiB")?;
    let form = signer.sign_with(
        &policy,
        &SignOptions::default().key("user/42/${filename}"),
        Utc::now(),
    )?;
    assert_eq!(form.url, "https://storage.googleapis.com/photos/");
    assert_eq!(form.field("x-goog-algorithm"), Some("GOOG4-RSA-SHA256"));
    assert_eq!(form.fields_to_fill, ["content-type"]);
    // END readme-gcs
    Ok(())
}

#[test]
fn the_readme_example_runs() {
    let suite = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/gcs-post-policy-v4.json"
    );
    let suite: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(suite).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("postpolicy-gcs-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key.json");
    std::fs::write(&path, suite["service_account"].to_string()).unwrap();
    let result = example(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    result.expect("the README's GCS example runs");
}

#[test]
fn readme_shows_this_example() {
    let between = |text: &'static str| -> String {
        let start = text.find("// START readme-gcs\n").expect("start marker")
            + "// START readme-gcs\n".len();
        let end = text.find("// END readme-gcs").expect("end marker");
        text[start..end]
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_owned()
    };
    assert_eq!(
        between(include_str!("../../../README.md")),
        between(include_str!("gcs_readme.rs")),
        "README.md's GCS example differs from tests/gcs_readme.rs"
    );
}
