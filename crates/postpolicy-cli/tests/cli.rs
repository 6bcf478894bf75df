//! The `postpolicy` binary end to end: exit codes, formats, and a `serve`
//! smoke test on free ports.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_postpolicy");

fn postpolicy(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for name in [
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
        "OSS_SESSION_TOKEN",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
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

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

const CLEAN: &str = "expires in 1h\nkey starts-with \"u/\"\ncontent-length 1..10MiB\n";

#[test]
fn check_exit_codes_and_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write(dir.path(), "clean.policy", CLEAN);
    let (code, _, stderr) = run(&mut postpolicy(&["check", &clean]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("ok"));

    let warn = write(dir.path(), "warn.policy", "key starts-with \"u/\"\n");
    assert_eq!(run(&mut postpolicy(&["check", &warn])).0, 0);
    let (code, _, stderr) = run(&mut postpolicy(&["check", &warn, "--deny-warnings"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("no-size-limit"), "{stderr}");

    let bad = write(
        dir.path(),
        "bad.policy",
        "key starts-with \"u/\"\ncontent-length 10..5\n",
    );
    let (code, _, stderr) = run(&mut postpolicy(&["check", &bad]));
    assert_eq!(code, 2);
    assert!(stderr.contains("range-min-above-max"), "{stderr}");
    assert!(
        stderr.contains("content-length 10..5"),
        "no snippet: {stderr}"
    );

    let syntax = write(dir.path(), "syntax.policy", "key starts-wit \"u/\"\n");
    let (code, _, stderr) = run(&mut postpolicy(&["check", &syntax]));
    assert_eq!(code, 2);
    assert!(stderr.contains("line 1, column 5"), "{stderr}");
    assert!(
        stderr.contains("key starts-wit \"u/\""),
        "no snippet: {stderr}"
    );

    let (code, stdout, _) = run(&mut postpolicy(&["check", &syntax, "--format", "json"]));
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["errors"], 1);
    assert_eq!(report["diagnostics"][0]["line"], 1);
    assert_eq!(report["diagnostics"][0]["column"], 5);

    let json = write(
        dir.path(),
        "p.json",
        r#"{"expiration":"2099-01-01T00:00:00.000Z","conditions":[["starts-with","$key","a/"],["content-length-range",1,100]]}"#,
    );
    let (code, _, stderr) = run(&mut postpolicy(&["check", &json, "--deny-warnings"]));
    // A far expiration is worth a warning.
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn params_fill_placeholders_as_values() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        dir.path(),
        "template.policy",
        "expires in 1h\nkey starts-with \"user/{user}/\"\ncontent-length 1..10MiB\n",
    );
    let payload = "user=42/\"; expires at 2099-01-01T00:00:00Z #";
    let (code, stdout, stderr) = run(&mut postpolicy(&[
        "check", &template, "--param", payload, "--format", "json",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["errors"], 0, "{report}");

    // Without the parameter: a syntax error naming it.
    let (code, _, stderr) = run(&mut postpolicy(&["check", &template]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("expected a parameter for {user}"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&mut postpolicy(&["check", &template, "--param", "user"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("expected NAME=VALUE"), "{stderr}");

    // Signed: the value is the literal prefix, the expiry is the template's.
    let (code, stdout, stderr) = run(postpolicy(&[
        "sign",
        &template,
        "--param",
        payload,
        "--bucket",
        "examplebucket",
        "--region",
        "cn-hangzhou",
    ])
    .env("OSS_ACCESS_KEY_ID", "AKIDexample")
    .env("OSS_ACCESS_KEY_SECRET", "secret-example"));
    assert_eq!(code, 0, "{stderr}");
    let form: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let policy =
        postpolicy::Policy::json_from_base64(form["fields"]["policy"].as_str().unwrap()).unwrap();
    let policy: serde_json::Value = serde_json::from_str(&policy).unwrap();
    assert!(
        policy["conditions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!([
                "starts-with",
                "$key",
                "user/42/\"; expires at 2099-01-01T00:00:00Z #/"
            ])),
        "{policy}"
    );
    assert!(!policy["expiration"].as_str().unwrap().starts_with("2099"));

    // A JSON policy has no placeholders.
    let json = write(
        dir.path(),
        "p.json",
        r#"{"expiration":"2099-01-01T00:00:00.000Z","conditions":[]}"#,
    );
    let (code, _, stderr) = run(&mut postpolicy(&["check", &json, "--param", "a=b"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--param fills placeholders of a DSL policy"),
        "{stderr}"
    );
}

fn sign_json(dir: &Path) -> serde_json::Value {
    let clean = write(dir, "clean.policy", CLEAN);
    let (code, stdout, stderr) = run(postpolicy(&[
        "sign",
        &clean,
        "--bucket",
        "examplebucket",
        "--region",
        "cn-hangzhou",
        "--key-template",
        "u/${filename}",
        "--callback-url",
        "https://app.example/cb",
    ])
    .env("OSS_ACCESS_KEY_ID", "AKIDexample")
    .env("OSS_ACCESS_KEY_SECRET", "secret-example"));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("secret-example") && !stderr.contains("secret-example"));
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn sign_formats_and_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write(dir.path(), "clean.policy", CLEAN);
    let (code, _, stderr) = run(&mut postpolicy(&[
        "sign",
        &clean,
        "--bucket",
        "b-1",
        "--region",
        "cn-hangzhou",
    ]));
    assert_eq!(code, 2);
    assert!(stderr.contains("OSS_ACCESS_KEY_ID"), "{stderr}");

    let form = sign_json(dir.path());
    assert_eq!(
        form["url"],
        "https://examplebucket.oss-cn-hangzhou.aliyuncs.com"
    );
    assert_eq!(form["fields"]["key"], "u/${filename}");
    assert!(form["fields"]["callback"].is_string());
    assert_eq!(
        form["fields"]["x-oss-signature-version"],
        "OSS4-HMAC-SHA256"
    );

    let with_creds = |format: &str| {
        run(postpolicy(&[
            "sign",
            &clean,
            "--bucket",
            "examplebucket",
            "--region",
            "cn-hangzhou",
            "--endpoint",
            "http://127.0.0.1:9090/examplebucket",
            "--v1",
            "--format",
            format,
            "--file-to-upload",
            "photo.png",
        ])
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "AKIDexample")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret-example"))
    };
    let (code, html, _) = with_creds("html");
    assert_eq!(code, 0);
    assert!(html.contains("<form action=\"http://127.0.0.1:9090/examplebucket\""));
    assert!(html.contains("name=\"OSSAccessKeyId\" value=\"AKIDexample\""));
    let (code, curl, _) = with_creds("curl");
    assert_eq!(code, 0);
    assert!(curl.starts_with("curl -sS -i -X POST 'http://127.0.0.1:9090/examplebucket'"));
    assert!(curl.contains("--form-string 'Signature="));
    assert!(curl.trim_end().ends_with("-F 'file=@photo.png'"));

    // The S3 dialect, with the AWS_* credentials.
    let (code, stdout, stderr) = run(postpolicy(&[
        "sign",
        &clean,
        "--dialect",
        "s3",
        "--bucket",
        "media",
        "--region",
        "garage",
        "--endpoint",
        "http://127.0.0.1:3900",
        "--path-style",
        "--key-template",
        "u/${filename}",
    ])
    .env("AWS_ACCESS_KEY_ID", "GKexample")
    .env("AWS_SECRET_ACCESS_KEY", "aws-secret-example"));
    assert_eq!(code, 0, "{stderr}");
    let form: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(form["url"], "http://127.0.0.1:3900/media");
    assert_eq!(form["fields"]["x-amz-algorithm"], "AWS4-HMAC-SHA256");
    assert!(
        form["fields"]["x-amz-credential"]
            .as_str()
            .unwrap()
            .starts_with("GKexample/")
    );

    // Lint errors are not signed.
    let bad = write(dir.path(), "bad.policy", "content-length 10..5\n");
    let (code, stdout, _) =
        run(
            postpolicy(&["sign", &bad, "--bucket", "b-1", "--region", "cn-hangzhou"])
                .env("OSS_ACCESS_KEY_ID", "AKIDexample")
                .env("OSS_ACCESS_KEY_SECRET", "secret-example"),
        );
    assert_eq!((code, stdout.as_str()), (2, ""));
}

#[test]
fn decode_shows_dsl_json_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let form = sign_json(dir.path());
    let policy = form["fields"]["policy"].as_str().unwrap();
    let (code, stdout, stderr) = run(&mut postpolicy(&["decode", policy]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("expires 20"), "{stdout}");
    assert!(
        stdout.contains("(in 59m") || stdout.contains("(in 1h"),
        "{stdout}"
    );
    assert!(stdout.contains("# DSL\nexpires at "));
    assert!(stdout.contains("content-length 1..10MiB"));
    assert!(stdout.contains("\"content-length-range\""));

    let mut child = postpolicy(&["decode", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{policy}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["expired"], false);
    assert!(report["expires_in_seconds"].as_i64().unwrap() > 3500);
    assert!(
        report["dsl"]
            .as_str()
            .unwrap()
            .contains("key starts-with u/")
    );

    let (code, _, stderr) = run(&mut postpolicy(&["decode", "not base64!"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("base64"), "{stderr}");
}

#[test]
fn explain_names_every_failing_condition() {
    let dir = tempfile::tempdir().unwrap();
    let form = sign_json(dir.path());
    let mut lines = String::from("# captured in the browser's developer tools\n");
    for (name, value) in form["fields"].as_object().unwrap() {
        let value = if name == "key" {
            "other/x.txt"
        } else {
            value.as_str().unwrap()
        };
        lines.push_str(&format!("{name}: {value}\n"));
    }
    lines.push_str("file: (binary)\n");
    let captured = write(dir.path(), "captured.txt", &lines);
    let (code, stdout, _) = run(&mut postpolicy(&[
        "explain",
        "--form",
        &captured,
        "--file-size",
        "20000000",
        "--bucket",
        "examplebucket",
    ]));
    assert_eq!(code, 1);
    assert!(
        stdout.contains("key `other/x.txt` does not start with `u/`"),
        "{stdout}"
    );
    assert!(stdout.contains("EntityTooLarge"), "{stdout}");

    // With the credentials, the signature is judged too.
    let tampered = lines.replace("x-oss-signature: ", "x-oss-signature: 00");
    let tampered = write(dir.path(), "tampered.txt", &tampered);
    let (code, stdout, stderr) = run(postpolicy(&[
        "explain",
        "--form",
        &tampered,
        "--bucket",
        "examplebucket",
        "--region",
        "cn-hangzhou",
        "--file-size",
        "10",
    ])
    .env("OSS_ACCESS_KEY_ID", "AKIDexample")
    .env("OSS_ACCESS_KEY_SECRET", "secret-example"));
    assert_eq!(code, 1, "{stderr}");
    let first = stdout.find("SignatureDoesNotMatch").expect(&stdout);
    assert!(
        first < stdout.find("does not start with").unwrap(),
        "{stdout}"
    );

    // A raw multipart body that passes.
    let boundary = "----b";
    let mut body = String::new();
    for (name, value) in form["fields"].as_object().unwrap() {
        let value = if name == "key" {
            "u/a.txt"
        } else {
            value.as_str().unwrap()
        };
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--{boundary}--\r\n"
    ));
    let multipart = write(dir.path(), "body.multipart", &body);
    let (code, stdout, stderr) = run(&mut postpolicy(&[
        "explain", "--form", &multipart, "--format", "json",
    ]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["accepted"], true);
}

/// `GET path` over a raw socket; returns (status line, body).
#[test]
fn check_warns_about_string_size_bounds_in_wire_json() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"expiration":"2099-01-01T00:00:00.000Z","conditions":[["starts-with","$key","a/"],["content-length-range","1","100"]]}"#;
    let json = write(dir.path(), "p.json", text);
    let (code, stdout, _) = run(&mut postpolicy(&["check", &json, "--format", "json"]));
    assert_eq!(code, 0, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let found: Vec<&serde_json::Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "range-bounds-as-strings")
        .collect();
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["severity"], "warning");
    assert_eq!(found[0]["condition_index"], 1);
    assert!(found[0]["message"].as_str().unwrap().contains("Garage"));

    // The same policy as a `policy` form field (base64).
    let b64 = write(
        dir.path(),
        "p.b64",
        &base64::engine::general_purpose::STANDARD.encode(text),
    );
    let (_, _, stderr) = run(&mut postpolicy(&["check", &b64]));
    assert!(stderr.contains("range-bounds-as-strings"), "{stderr}");

    // Numbers, or the DSL (which has no strings for sizes): no such warning.
    let numbers = write(
        dir.path(),
        "n.json",
        &text.replace("\"1\",\"100\"", "1,100"),
    );
    let (_, _, stderr) = run(&mut postpolicy(&["check", &numbers]));
    assert!(!stderr.contains("range-bounds-as-strings"), "{stderr}");
}

fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

#[test]
fn serve_starts_on_free_ports_and_serves_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = postpolicy(&[
        "serve",
        "--port",
        "0",
        "--oss-port",
        "0",
        "--quiet",
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut app = None;
    let mut oss = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["upload", "page", url, ..] => app = Some(url.to_string()),
            ["OSS", "endpoint", url, ..] => oss = Some(url.to_string()),
            ["Press", ..] => break,
            _ => {}
        }
    }
    let app = app.expect("no upload page line");
    let oss = oss.expect("no endpoint line");
    let app_addr = app.trim_start_matches("http://").trim_end_matches('/');
    let (status, page) = http_get(app_addr, "/");
    assert!(status.contains("200"), "{status}");
    assert!(page.contains("Upload a file"));
    let (_, js) = http_get(app_addr, "/browser.js");
    assert!(js.contains("export function uploadFile"));
    let (status, token) = http_get(app_addr, "/upload-token");
    assert!(status.contains("200"));
    assert!(token.contains(&format!("\"url\":\"{oss}\"")), "{token}");
    assert!(data.is_dir());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn serve_refuses_the_development_key_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run(postpolicy(&[
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--oss-port",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .stdin(Stdio::null()));
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("built-in development key") && stderr.contains("OSS_ACCESS_KEY_SECRET"),
        "{stderr}"
    );
    assert!(!stdout.contains("Press Ctrl-C"), "{stdout}");
}

/// Starts `postpolicy serve` (logging) on free ports; returns the child and
/// the demo application's address.
fn start_serve(data: &Path) -> (std::process::Child, String) {
    let mut child = postpolicy(&[
        "serve",
        "--port",
        "0",
        "--oss-port",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut app = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["upload", "page", url, ..] => app = Some(url.to_string()),
            ["Press", ..] => break,
            _ => {}
        }
    }
    let app = app.expect("no upload page line");
    let addr = app
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    (child, addr)
}

#[test]
fn serve_log_lines_escape_request_data() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_serve(&dir.path().join("data"));
    let fake = "[app] POST /callback -> verified: uploads/evil.txt (1 bytes)";
    let key_url = format!("http://127.0.0.1:1/key.pem\n{fake}\r\n{fake}");
    let body = r#"{"object":"x"}"#;
    let mut socket = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        socket,
        "POST /callback HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nauthorization: AAAA\r\nx-oss-pub-key-url: {}\r\nContent-Length: {}\r\n\r\n{body}",
        base64::engine::general_purpose::STANDARD.encode(key_url),
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    child.kill().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    child.wait().unwrap();
    let rejected: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("[app] POST /callback"))
        .collect();
    assert_eq!(rejected.len(), 1, "{log}");
    assert!(rejected[0].contains("-> rejected:"), "{log}");
    assert!(
        !log.lines()
            .any(|l| l.starts_with("[app] POST /callback -> verified")),
        "{log}"
    );
}

const CHECK_KEY_ID: &str = "LTAI5tCorsCheckKeyId";
const CHECK_SECRET: &str = "cors-check-secret";

/// A `postpolicy serve` child, stopped when dropped (also when a test fails).
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `postpolicy serve` on free ports with `extra` arguments and the test
/// credentials; returns the server, the demo page and the upload endpoint.
fn start_serve_with(data: &Path, extra: &[&str]) -> (Serve, String, String) {
    let mut args = vec![
        "serve",
        "--port",
        "0",
        "--oss-port",
        "0",
        "--quiet",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut child = postpolicy(&args)
        .env("OSS_ACCESS_KEY_ID", CHECK_KEY_ID)
        .env("OSS_ACCESS_KEY_SECRET", CHECK_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut app, mut oss) = (None, None);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["upload", "page", url, ..] => app = Some(url.to_string()),
            ["OSS", "endpoint", url, ..] => oss = Some(url.to_string()),
            ["Press", ..] => break,
            _ => {}
        }
    }
    (Serve(child), app.unwrap(), oss.unwrap())
}

/// `postpolicy cors check` with the proxies of the environment unset.
fn cors_check(args: &[&str], signed: bool) -> (i32, String, String) {
    let mut all = vec!["cors", "check"];
    all.extend_from_slice(args);
    let mut command = postpolicy(&all);
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(name);
    }
    if signed {
        command
            .env("OSS_ACCESS_KEY_ID", CHECK_KEY_ID)
            .env("OSS_ACCESS_KEY_SECRET", CHECK_SECRET);
    }
    run(&mut command)
}

#[test]
fn cors_check_against_serve_with_a_matching_cors_origin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let front = "http://app.test:3000";
    let (_serve, _, oss) = start_serve_with(&data, &["--cors-origin", front]);

    // Signed: a real 22-byte upload whose ETag the page may read.
    let (code, stdout, stderr) =
        cors_check(&[&oss, "--origin", front, "--region", "cn-hangzhou"], true);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("-> HTTP 204"), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("ok: a page on http://app.test:3000"),
        "{stdout}"
    );
    let addr = oss.trim_start_matches("http://").split('/').next().unwrap();
    let (status, body) = http_get(addr, "/postpolicy-dev/postpolicy-cors-check.txt");
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "postpolicy cors check\n");

    // Unsigned: a form the endpoint must refuse, whose answer shows the CORS headers.
    let (code, stdout, stderr) = cors_check(&[&oss, "--origin", front], false);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("-> HTTP 403 InvalidAccessKeyId"),
        "{stdout}"
    );

    // Another origin: the preflight is refused, one line says so.
    let (code, stdout, _) = cors_check(
        &[
            &oss,
            "--origin",
            "https://evil.example",
            "--region",
            "cn-hangzhou",
        ],
        true,
    );
    assert_eq!(code, 1, "{stdout}");
    let failures: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("preflight:") && !l.starts_with("upload:"))
        .collect();
    assert_eq!(failures.len(), 1, "{stdout}");
    assert!(failures[0].starts_with("origin not allowed: the preflight from `https://evil.example` is refused (HTTP 403 AccessForbidden)"), "{stdout}");

    // serve allows any asked-for header; a dead port is explained.
    let (code, stdout, _) = cors_check(&[&oss, "--origin", front, "--header", "X-Trace"], false);
    assert_eq!(code, 0, "{stdout}");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (code, stdout, _) = cors_check(
        &[&format!("http://{closed}/bucket-1"), "--origin", front],
        false,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with("unreachable: the preflight to"),
        "{stdout}"
    );
}

#[test]
fn cors_check_against_serve_without_a_matching_cors_origin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Default: only the demo application's own origin.
    let (_serve, app, oss) = start_serve_with(&data, &[]);
    let app_origin = app.trim_end_matches('/');
    let (code, stdout, _) = cors_check(
        &[&oss, "--origin", app_origin, "--region", "cn-hangzhou"],
        true,
    );
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = cors_check(
        &[
            &oss,
            "--origin",
            "http://localhost:5173",
            "--region",
            "cn-hangzhou",
        ],
        true,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("\norigin not allowed: "), "{stdout}");
    assert!(!stdout.contains("\nok: "), "{stdout}");
    // A path-style URL names no region: signing needs one.
    let (code, _, stderr) = cors_check(&[&oss, "--origin", app_origin], true);
    assert_eq!(code, 2);
    assert!(stderr.contains("--region"), "{stderr}");
}

#[test]
fn cors_prints_the_rule_and_the_code_that_applies_it() {
    let (code, stdout, stderr) = run(&mut postpolicy(&[
        "cors",
        "--origin",
        "https://App.Example.com",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("<?xml"), "{stdout}");
    assert!(stdout.contains("<AllowedOrigin>https://app.example.com</AllowedOrigin>"));
    assert!(stdout.contains("bucket.put_bucket_cors("), "{stdout}");
    assert!(stdout.contains("client.putBucketCORS("), "{stdout}");
    assert!(stderr.contains("ossutil api put-bucket-cors"), "{stderr}");

    let (code, stdout, stderr) = run(&mut postpolicy(&[
        "cors",
        "--origin",
        "https://app.example.com",
        "--dialect",
        "s3",
    ]));
    assert_eq!(code, 0);
    let config: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        config["CORSRules"][0]["AllowedMethods"],
        serde_json::json!(["POST"])
    );
    assert!(stderr.contains("// Python (boto3):"), "{stderr}");

    let (code, _, stderr) = run(&mut postpolicy(&["cors", "--origin", "app.example.com"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("`app.example.com`"), "{stderr}");
    let (code, _, _) = run(&mut postpolicy(&["cors"]));
    assert_eq!(code, 2, "--origin is required");
}
