//! `postpolicy sign --dialect gcs` and `decode` of GCS forms, end to end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use chrono::{NaiveDateTime, Utc};
use postpolicy::{GcsSigner, ServiceAccountKey};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_postpolicy");

const POLICY: &str = "expires in 10m\ncontent-type starts-with image/\ncontent-length 1..10MiB\n";

/// The command with no credentials of any dialect in its environment.
fn postpolicy(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for name in [
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GCS_HMAC_ACCESS_ID",
        "GCS_HMAC_SECRET",
    ] {
        command.env_remove(name);
    }
    command.env("NO_COLOR", "1");
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    (
        status.code().unwrap(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// Google's published test service account (from the conformance suite).
fn service_account() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/gcs-post-policy-v4.json"
    );
    let suite: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    suite["service_account"].clone()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn decoded_policy(form: &Value) -> String {
    let b64 = form["fields"]["policy"].as_str().unwrap();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn signs_with_the_service_account_named_by_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "upload.policy", POLICY);
    let account = service_account();
    let key_file = write(dir.path(), "key.json", &account.to_string());
    let (code, stdout, stderr) = run(postpolicy(&[
        "sign",
        &policy,
        "--dialect",
        "gcs",
        "--bucket",
        "photos-bucket",
        "--key-template",
        "user/7/${filename}",
    ])
    .env("GOOGLE_APPLICATION_CREDENTIALS", &key_file));
    assert_eq!(code, 0, "{stderr}");
    let form: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(form["url"], "https://storage.googleapis.com/photos-bucket/");
    let fields = &form["fields"];
    assert_eq!(fields["key"], "user/7/${filename}");
    assert_eq!(fields["x-goog-algorithm"], "GOOG4-RSA-SHA256");
    let credential = fields["x-goog-credential"].as_str().unwrap();
    assert!(
        credential.starts_with(account["client_email"].as_str().unwrap())
            && credential.ends_with("/auto/storage/goog4_request"),
        "{credential}"
    );
    assert_eq!(form["fields_to_fill"], serde_json::json!(["content-type"]));
    let json = decoded_policy(&form);
    assert!(json.starts_with("{\"conditions\":[[\"starts-with\",\"$content-type\",\"image/\"]"));
    assert!(json.contains("{\"bucket\":\"photos-bucket\"},[\"starts-with\",\"$key\",\"user/7/\"]"));

    // The signature is the key's: the library signs the same text to the
    // same bytes (RSA PKCS#1 v1.5 is deterministic).
    let date =
        NaiveDateTime::parse_from_str(fields["x-goog-date"].as_str().unwrap(), "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc();
    let signer = GcsSigner::new(
        ServiceAccountKey::from_value(&account).unwrap().into(),
        "photos-bucket",
    )
    .unwrap();
    let again = signer.sign_json(&json, date).unwrap();
    assert_eq!(
        again.field("x-goog-signature"),
        fields["x-goog-signature"].as_str()
    );
    assert!(date <= Utc::now());
    let pem_line = account["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .nth(2)
        .unwrap();
    assert!(!stdout.contains(pem_line) && !stderr.contains(pem_line));
}

#[test]
fn signs_with_an_hmac_key_and_url_options() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "upload.policy", POLICY);
    let (code, stdout, stderr) = run(postpolicy(&[
        "sign",
        &policy,
        "--dialect",
        "gcs",
        "--bucket",
        "photos-bucket",
        "--key-template",
        "a/${filename}",
        "--url-style",
        "virtual-hosted",
        "--scheme",
        "http",
    ])
    .env("GCS_HMAC_ACCESS_ID", "GOOG1EXAMPLE")
    .env("GCS_HMAC_SECRET", "hmac-secret-example"));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("hmac-secret-example") && !stderr.contains("hmac-secret-example"));
    let form: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(form["url"], "http://photos-bucket.storage.googleapis.com/");
    assert_eq!(form["fields"]["x-goog-algorithm"], "GOOG4-HMAC-SHA256");
    assert!(
        form["fields"]["x-goog-credential"]
            .as_str()
            .unwrap()
            .starts_with("GOOG1EXAMPLE/")
    );

    let (code, stdout, stderr) = run(postpolicy(&[
        "sign",
        &policy,
        "--dialect",
        "gcs",
        "--bucket",
        "photos-bucket",
        "--bound-hostname",
        "https://cdn.example.com",
        "--format",
        "curl",
    ])
    .env("GCS_HMAC_ACCESS_ID", "GOOG1EXAMPLE")
    .env("GCS_HMAC_SECRET", "hmac-secret-example"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("curl -sS -i -X POST 'https://cdn.example.com/'"),
        "{stdout}"
    );
    assert!(stdout.contains("--form-string 'x-goog-algorithm=GOOG4-HMAC-SHA256'"));
}

#[test]
fn says_what_is_missing_or_not_for_gcs() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "upload.policy", POLICY);
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "sign",
            &policy,
            "--dialect",
            "gcs",
            "--bucket",
            "photos-bucket",
        ];
        args.extend_from_slice(extra);
        postpolicy(&args)
    };
    let (code, _, stderr) = run(&mut sign(&[]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("GOOGLE_APPLICATION_CREDENTIALS") && stderr.contains("GCS_HMAC_ACCESS_ID"),
        "{stderr}"
    );
    let hmac = |command: &mut Command| {
        command
            .env("GCS_HMAC_ACCESS_ID", "GOOG1EXAMPLE")
            .env("GCS_HMAC_SECRET", "hmac-secret-example");
        run(command)
    };
    let (code, _, stderr) = hmac(&mut sign(&["--region", "us-east1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("--region"), "{stderr}");
    let (code, _, stderr) = hmac(&mut sign(&["--url-style", "sideways"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("`sideways`"), "{stderr}");
    let one_of = write(
        dir.path(),
        "in.policy",
        "key starts-with u/\ncontent-type in [image/png]\ncontent-length 1..1MiB\n",
    );
    let (code, _, stderr) = hmac(&mut postpolicy(&[
        "sign",
        &one_of,
        "--dialect",
        "gcs",
        "--bucket",
        "photos-bucket",
    ]));
    assert_eq!(code, 2);
    assert!(stderr.contains("GCS does not support"), "{stderr}");
    let missing = run(sign(&[]).env(
        "GOOGLE_APPLICATION_CREDENTIALS",
        dir.path().join("none.json"),
    ));
    assert_eq!(missing.0, 2);
    assert!(missing.2.contains("none.json"), "{}", missing.2);
    // OSS and S3 still need a region.
    let (code, _, stderr) = run(postpolicy(&["sign", &policy, "--bucket", "b-1"])
        .env("OSS_ACCESS_KEY_ID", "AKIDexample")
        .env("OSS_ACCESS_KEY_SECRET", "secret-example"));
    assert_eq!(code, 2);
    assert!(stderr.contains("--region is required"), "{stderr}");
}

#[test]
fn decodes_a_google_form() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/gcs-post-policy-v4.json"
    );
    let suite: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = &suite["postPolicyV4Tests"][9];
    assert_eq!(case["description"], "POST Policy Character Escaping");
    let policy = case["policyOutput"]["fields"]["policy"].as_str().unwrap();
    let (code, stdout, stderr) = run(&mut postpolicy(&["decode", policy, "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["expires_at"], "2020-01-23T04:35:40.000Z");
    assert_eq!(report["expired"], true);
    let dsl = report["dsl"].as_str().unwrap();
    assert!(dsl.contains("x-goog-algorithm = GOOG4-RSA-SHA256"), "{dsl}");
    assert!(dsl.contains("$test-object-é"), "{dsl}");
}

/// Stops the server when the test ends, however it ends.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const HMAC: [(&str, &str); 2] = [
    ("GCS_HMAC_ACCESS_ID", "GOOG1ESERVECLI"),
    ("GCS_HMAC_SECRET", "c2VydmUtY2xpLXNlY3JldA=="),
];

/// POSTs `fields` and then the file as multipart/form-data, over a plain
/// socket; returns the status line and the body.
fn post_form(url: &str, fields: &[(String, String)], file: &[u8]) -> (String, String) {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_once('/').unwrap();
    let boundary = "postpolicy-gcs-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hello.txt\"\r\nContent-Type: text/plain\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    write!(
        socket,
        "POST /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    socket.write_all(&body).unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

#[test]
fn serve_accepts_gcs_forms_and_refuses_violations_with_gcs_errors() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut command = postpolicy(&[
        "serve",
        "--dialect",
        "gcs",
        "--port",
        "0",
        "--oss-port",
        "0",
        "--quiet",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    command
        .envs(HMAC)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let serve = Serve(child);
    let mut origin = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["GCS", "endpoint", url, ..] => {
                assert!(
                    line.contains("GOOG1ESERVECLI (GOOG4-HMAC-SHA256)"),
                    "{line}"
                );
                origin = Some(url.trim_end_matches("/postpolicy-dev/").to_owned());
            }
            ["Press", ..] => break,
            _ => {}
        }
    }
    let origin = origin.expect("no GCS endpoint line");

    let policy = write(
        dir.path(),
        "upload.policy",
        "expires in 10m\ncontent-length 1..16\n",
    );
    let (code, stdout, stderr) = run(postpolicy(&[
        "sign",
        &policy,
        "--dialect",
        "gcs",
        "--bucket",
        "postpolicy-dev",
        "--endpoint",
        &origin,
        "--key-template",
        "cli/${filename}",
    ])
    .envs(HMAC));
    assert_eq!(code, 0, "{stderr}");
    let form: Value = serde_json::from_str(&stdout).unwrap();
    let url = form["url"].as_str().unwrap();
    let fields: Vec<(String, String)> = form["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
        .collect();

    let (status, body) = post_form(url, &fields, b"hello");
    assert!(status.contains(" 204 "), "{status}\n{body}");
    assert!(data.join("postpolicy-dev").exists());

    let (status, body) = post_form(url, &fields, &[b'x'; 64]);
    assert!(status.contains(" 400 "), "{status}\n{body}");
    assert!(body.contains("<Code>EntityTooLarge</Code>"), "{body}");

    let mut extra = fields.clone();
    extra.push(("submit".into(), "Upload".into()));
    let (status, body) = post_form(url, &extra, b"hello");
    assert!(status.contains(" 400 "), "{status}\n{body}");
    assert!(
        body.contains("<Code>InvalidPolicyDocument</Code>"),
        "{body}"
    );
    assert!(
        body.contains("Policy did not reference these fields: submit"),
        "{body}"
    );

    // explain says the same about the captured form, as GCS.
    let mut lines = String::new();
    for (name, value) in &extra {
        lines.push_str(&format!("{name}: {value}\n"));
    }
    lines.push_str("file: (binary)\n");
    let captured = write(dir.path(), "captured.txt", &lines);
    let (code, stdout, stderr) = run(&mut postpolicy(&[
        "explain",
        "--form",
        &captured,
        "--file-size",
        "5",
        "--bucket",
        "postpolicy-dev",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("GCS would reject this form"), "{stdout}");
    assert!(stdout.contains("InvalidPolicyDocument"), "{stdout}");
    drop(serve);
}
