//! `postpolicy serve` holds up like a public endpoint (issue 13): one test per
//! observation, each asserting the safe outcome (and, where it is the point,
//! how long it took).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Stack, etag_of, xml_field};
use postpolicy::SignOptions;
use postpolicy::callback::{BodyType, CallbackSpec};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const POLICY: &str = "content-length 1..1MiB\n";
const BOUNDARY: &str = "hardeningboundary";

fn reason(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-postpolicy-reason")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, xml_field(&body, "Code").unwrap_or(body))
}

/// The multipart text of `fields` (and the head of a file part when
/// `file_head` is set), as a browser sends it.
fn multipart_head(fields: &[(String, String)], file_head: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        write!(
            out,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
        .unwrap();
    }
    if file_head {
        write!(
            out,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .unwrap();
    }
    out
}

/// `POST /postpolicy-dev` request head for a multipart body of `length`.
fn request_head(stack: &Stack, length: usize) -> Vec<u8> {
    let addr = stack.server.oss_addr();
    format!(
        "POST /postpolicy-dev HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    )
    .into_bytes()
}

/// Reads an HTTP answer until the server closes; returns it as text.
async fn read_answer(socket: &mut tokio::net::tcp::OwnedReadHalf) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if head_and_body_complete(&answer) {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn head_and_body_complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    body.len() >= length
}

// ---- credentials ----------------------------------------------------------

#[tokio::test]
async fn refuses_the_development_key_beyond_loopback() {
    for host in ["0.0.0.0", "::", "192.0.2.10"] {
        let mut config = postpolicy_server::Config::new().unwrap();
        config.host = host.parse().unwrap();
        config.oss_port = 0;
        config.app_port = 0;
        let dir = tempfile::tempdir().unwrap();
        config.store = postpolicy_server::StoreSpec::Local(dir.path().to_owned());
        let error = postpolicy_server::start(config).await.unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("built-in development key") && text.contains("OSS_ACCESS_KEY_ID"),
            "{text}"
        );
    }
    // Loopback keeps working with it (every other test), 127.0.0.2 included.
    let stack = Stack::start_with(|c| c.host = "127.0.0.2".parse().unwrap()).await;
    assert_eq!(stack.server.oss_addr().ip().to_string(), "127.0.0.2");
}

// ---- relay into the local network ------------------------------------------

/// A listener standing for an internal service: records whether anything
/// connected to it.
async fn internal_service() -> (u16, tokio::task::JoinHandle<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(3), listener.accept())
            .await
            .is_ok()
    });
    (port, task)
}

fn callback_form(
    stack: &Stack,
    url: &str,
    host: Option<&str>,
    key: &str,
) -> postpolicy::SignedForm {
    let mut spec = CallbackSpec::new(url, r#"{"object":${object}}"#).with_body_type(BodyType::Json);
    if let Some(host) = host {
        spec = spec.with_host(host);
    }
    let fields = spec.to_fields().unwrap();
    let options = SignOptions::default()
        .key(key)
        .callback(fields.callback, fields.vars);
    stack.sign_at(POLICY, &options, Utc::now())
}

async fn post_from(
    stack: &Stack,
    form: &postpolicy::SignedForm,
    origin: &str,
) -> reqwest::Response {
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in &form.fields {
        multipart = multipart.text(name.to_owned(), value.to_owned());
    }
    multipart = multipart.part(
        "file",
        reqwest::multipart::Part::bytes(b"relay?".to_vec()).file_name("r.txt"),
    );
    stack
        .client
        .post(&form.url)
        .header("origin", origin)
        .multipart(multipart)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn callbacks_never_reach_hosts_that_are_not_allowed() {
    let stack = Stack::start().await;
    let (open_port, contacted) = internal_service().await;
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };

    let mut answers = Vec::new();
    for (port, key) in [
        (open_port, "relay/open.txt"),
        (closed_port, "relay/closed.txt"),
    ] {
        let form = callback_form(
            &stack,
            &format!("http://127.0.0.1:{port}/admin"),
            Some("internal.admin"),
            key,
        );
        let response = post_from(&stack, &form, "https://evil.example").await;
        // No CORS grant for another origin: the page cannot read any of it.
        assert!(
            !response
                .headers()
                .contains_key("access-control-allow-origin")
        );
        assert!(response.headers().contains_key("etag"));
        let why = reason(&response);
        let (status, body) = (response.status().as_u16(), response.text().await.unwrap());
        assert_eq!(status, 203, "{body}");
        assert_eq!(xml_field(&body, "Code").as_deref(), Some("CallbackFailed"));
        answers.push((xml_field(&body, "Message").unwrap(), why));
        // OSS keeps the object when the callback fails.
        let got = stack
            .client
            .get(stack.object_url(key))
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().as_ref(), b"relay?");
    }
    // Open and closed ports give the very same answer.
    assert_eq!(answers[0], answers[1]);
    assert!(
        answers[0]
            .0
            .contains("OSS can not connect to your callbackUrl")
    );
    assert!(
        !contacted.await.unwrap(),
        "the internal service was contacted"
    );
}

#[tokio::test]
async fn callback_host_cannot_steer_to_an_internal_name() {
    let stack = Stack::start().await;
    // The demo application is allowed; an internal Host header is not.
    let app = format!("{}callback", stack.server.app_url());
    let form = callback_form(&stack, &app, Some("internal.admin"), "relay/host.txt");
    let response = post_from(&stack, &form, "https://evil.example").await;
    assert_eq!(code(response).await, (203, "CallbackFailed".to_owned()));
    assert!(stack.server.callbacks().is_empty());

    // Allowing the host lets the same form through to its URL.
    let (port, contacted) = internal_service().await;
    let stack = Stack::start_with(|c| {
        c.callback_allow = Some(vec![format!("127.0.0.1:{port}"), "internal.admin".into()]);
    })
    .await;
    let form = callback_form(
        &stack,
        &format!("http://127.0.0.1:{port}/admin"),
        Some("internal.admin"),
        "relay/allowed.txt",
    );
    let response = post_from(&stack, &form, "https://evil.example").await;
    drop(response);
    assert!(contacted.await.unwrap(), "an allowed callback was not sent");
}

#[tokio::test]
async fn cors_allows_the_demo_origin_and_configured_ones_only() {
    let stack = Stack::start().await;
    let app_origin = stack.server.app_url().trim_end_matches('/').to_owned();
    let preflight = |origin: String| {
        stack
            .client
            .request(reqwest::Method::OPTIONS, stack.server.upload_url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let denied = preflight("https://evil.example".into()).await.unwrap();
    assert_eq!(denied.status().as_u16(), 403);
    assert!(!denied.headers().contains_key("access-control-allow-origin"));
    assert!(
        !denied
            .headers()
            .contains_key("access-control-allow-methods")
    );
    let body = denied.text().await.unwrap();
    assert_eq!(xml_field(&body, "Code").as_deref(), Some("AccessForbidden"));
    // The same host on another port is another origin.
    let other_port = app_origin.replace(
        &stack.server.app_addr().port().to_string(),
        &stack.server.oss_addr().port().to_string(),
    );
    assert_eq!(preflight(other_port).await.unwrap().status().as_u16(), 403);
    let allowed = preflight(app_origin.clone()).await.unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        app_origin.as_str()
    );
    assert!(
        !allowed
            .headers()
            .contains_key("access-control-allow-credentials")
    );

    // A simple request from another origin is served, without a CORS grant.
    let got = stack
        .client
        .get(stack.object_url("missing"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 404);
    assert!(!got.headers().contains_key("access-control-allow-origin"));
    assert_eq!(got.headers()["vary"], "Origin");

    // --cors-origin: exactly the listed origins; `*` for all.
    let stack = Stack::start_with(|c| {
        c.cors_origins = Some(vec!["https://app.example.com".into()]);
    })
    .await;
    let ask = |origin: &str| {
        stack
            .client
            .request(reqwest::Method::OPTIONS, stack.server.upload_url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    assert_eq!(
        ask("https://app.example.com")
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        ask("http://app.example.com")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(ask(&app_origin).await.unwrap().status().as_u16(), 403);
    let stack = Stack::start_with(|c| c.cors_origins = Some(vec!["*".into()])).await;
    let any = stack
        .client
        .request(reqwest::Method::OPTIONS, stack.server.upload_url())
        .header("origin", "https://anywhere.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(any.status().as_u16(), 200);
    assert_eq!(
        any.headers()["access-control-allow-origin"],
        "https://anywhere.example"
    );
    assert!(
        !any.headers()
            .contains_key("access-control-allow-credentials")
    );
    // Methods the endpoint does not serve are refused even for `*`.
    let put = stack
        .client
        .request(reqwest::Method::OPTIONS, stack.server.upload_url())
        .header("origin", "https://anywhere.example")
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 403);
}

// ---- one request eats the server --------------------------------------------

#[tokio::test]
async fn a_64_mb_part_header_is_refused_within_a_second() {
    let stack = Stack::start().await;
    const HEADER: usize = 64 * 1024 * 1024;
    let mut first = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"").into_bytes();
    let length = first.len() + HEADER;
    let socket = TcpStream::connect(stack.server.oss_addr()).await.unwrap();
    let (mut read, mut write) = socket.into_split();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let mut request = request_head_for(length);
        request.append(&mut first);
        write.write_all(&request).await?;
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..HEADER / chunk.len() {
            write.write_all(&chunk).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    fn request_head_for(length: usize) -> Vec<u8> {
        format!(
            "POST /postpolicy-dev HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
        )
        .into_bytes()
    }
    let answer = read_answer(&mut read).await;
    let elapsed = started.elapsed();
    println!("64 MB part header refused after {elapsed:?}");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>FieldItemTooLong</Code>"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-postpolicy-reason: a part's headers are longer than 8192 bytes"),
        "{answer}"
    );
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    // The server stopped reading: the client could not send the 64 MB.
    assert!(writer.await.unwrap().is_err());
}

#[tokio::test]
async fn part_headers_of_8_kib_pass_and_longer_ones_are_refused() {
    let stack = Stack::start().await;
    let form = stack.sign(POLICY, "h/8k.txt");
    // `Content-Disposition: form-data; name=""` and the blank line: 43 bytes.
    let padding = |len: usize| {
        (
            "x-oss-meta-".to_owned() + &"p".repeat(len - 11),
            "v".to_owned(),
        )
    };
    for (name_len, ok) in [(8192 - 43, true), (8192 - 42, false)] {
        let mut fields = form.fields.to_vec();
        fields.push(padding(name_len));
        let response = stack
            .post(
                &form.url,
                &fields,
                Some(("8k.txt", "text/plain", b"8k".to_vec())),
            )
            .await;
        if ok {
            assert_eq!(response.status().as_u16(), 204, "{}", reason(&response));
        } else {
            let why = reason(&response);
            assert_eq!(code(response).await, (400, "FieldItemTooLong".to_owned()));
            assert!(why.contains("longer than 8192 bytes"), "{why}");
        }
    }
}

#[tokio::test]
async fn too_many_fields_and_too_many_bytes_before_the_file_are_refused() {
    let stack = Stack::start_with(|c| {
        c.limits.form.max_fields = 30;
        c.limits.form.max_fields_bytes = 64 * 1024;
    })
    .await;
    let form = stack.sign(POLICY, "many.txt");
    let file = || Some(("m.txt", "text/plain", b"m".to_vec()));
    let count = form.fields.len();
    // Exactly at the limit (the file is a field too): accepted.
    let mut fields = form.fields.to_vec();
    fields.extend((count..29).map(|i| (format!("x:v{i}"), "1".to_owned())));
    let response = stack.post(&form.url, &fields, file()).await;
    assert_eq!(response.status().as_u16(), 204, "{}", reason(&response));
    fields.push(("x:one-more".into(), "1".into()));
    let response = stack.post(&form.url, &fields, file()).await;
    let why = reason(&response);
    assert_eq!(code(response).await, (400, "FieldItemTooLong".to_owned()));
    assert!(why.contains("more than 30 fields"), "{why}");

    let mut fields = form.fields.to_vec();
    fields.push(("x:big".into(), "b".repeat(64 * 1024)));
    let response = stack.post(&form.url, &fields, file()).await;
    let why = reason(&response);
    assert_eq!(code(response).await, (400, "FieldItemTooLong".to_owned()));
    assert!(why.contains("65536 bytes"), "{why}");
}

#[tokio::test]
async fn the_default_limits_are_the_documented_ones() {
    let limits = postpolicy_server::Limits::default();
    assert_eq!(limits.form.max_part_header_bytes, 8 * 1024);
    assert_eq!(limits.form.max_field_value_bytes, 2 * 1024 * 1024);
    assert_eq!(limits.form.max_fields_bytes, 8 * 1024 * 1024);
    assert_eq!(limits.form.max_fields, 1000);
    assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
    assert_eq!(limits.idle_timeout, Duration::from_secs(30));
    assert_eq!(limits.max_connections, 256);
    assert_eq!(limits.drain_bytes, 64 * 1024 * 1024);
    assert_eq!(limits.drain_time, Duration::from_secs(15));
}

#[tokio::test]
async fn a_slow_header_client_is_dropped_within_the_timeout() {
    let timeout = Duration::from_secs(1);
    let stack = Stack::start_with(|c| c.limits.header_read_timeout = timeout).await;
    let mut socket = TcpStream::connect(stack.server.oss_addr()).await.unwrap();
    let started = Instant::now();
    socket
        .write_all(b"GET /postpolicy-dev/x HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // One header byte every 100 ms, never the blank line.
    let mut closed_after = None;
    for _ in 0..100 {
        if socket.write_all(b"X").await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_millis(100), socket.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let elapsed = closed_after.expect("the slow client was never dropped");
    println!("slow header client dropped after {elapsed:?} (timeout {timeout:?})");
    assert!(
        elapsed >= timeout.mul_f32(0.9),
        "dropped early: {elapsed:?}"
    );
    assert!(
        elapsed < timeout + Duration::from_secs(2),
        "took {elapsed:?}"
    );
}

#[tokio::test]
async fn a_stalled_body_is_answered_request_timeout() {
    let idle = Duration::from_secs(1);
    let stack = Stack::start_with(|c| c.limits.idle_timeout = idle).await;
    let form = stack.sign(POLICY, "stalled.txt");
    let head = multipart_head(&form.fields.to_vec(), true);
    let socket = TcpStream::connect(stack.server.oss_addr()).await.unwrap();
    let (mut read, mut write) = socket.into_split();
    let mut request = request_head(&stack, head.len() + 1000);
    request.extend_from_slice(&head);
    request.extend_from_slice(b"only part of the file");
    write.write_all(&request).await.unwrap();
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut read))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    println!("stalled body answered after {elapsed:?} (idle timeout {idle:?})");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("<Code>RequestTimeout</Code>"), "{answer}");
    assert!(elapsed >= idle.mul_f32(0.9) && elapsed < idle + Duration::from_secs(2));
    assert!(stack.objects().is_empty());
    drop(write);
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_ends() {
    let stack = Stack::start_with(|c| c.limits.max_connections = 2).await;
    let addr = stack.server.oss_addr();
    let held = [
        TcpStream::connect(addr).await.unwrap(),
        TcpStream::connect(addr).await.unwrap(),
    ];
    // Let the server accept both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let url = stack.object_url("missing");
    let client = stack.client.clone();
    let third =
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served beyond the limit of 2"
    );
    drop(held);
    let status = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("the waiting connection was never served")
        .unwrap()
        .unwrap();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_rejected_body_is_drained_only_within_its_bounds() {
    let stack = Stack::start_with(|c| c.limits.drain_bytes = 1024 * 1024).await;
    let mut form = stack.sign("content-length 1..100MiB\n", "drain.bin");
    form.fields.set("x-oss-signature", &"0".repeat(64));
    let head = multipart_head(&form.fields.to_vec(), true);
    const FILE: usize = 64 * 1024 * 1024;
    let socket = TcpStream::connect(stack.server.oss_addr()).await.unwrap();
    let (mut read, mut write) = socket.into_split();
    let mut request = request_head(&stack, head.len() + FILE);
    request.extend_from_slice(&head);
    let writer = tokio::spawn(async move {
        write.write_all(&request).await?;
        let chunk = vec![b'z'; 64 * 1024];
        for _ in 0..FILE / chunk.len() {
            write.write_all(&chunk).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let answer = read_answer(&mut read).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // The server read about 1 MiB of the 64 MiB and closed.
    assert!(
        writer.await.unwrap().is_err(),
        "the whole 64 MiB body was read"
    );
}

#[tokio::test]
async fn request_heads_over_64_kib_are_refused() {
    let stack = Stack::start().await;
    let response = stack
        .client
        .get(stack.object_url("x"))
        .header(
            "x-big",
            "b".repeat(postpolicy_server::MAX_REQUEST_HEAD_BYTES),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 431);
    let response = stack
        .client
        .get(stack.object_url("x"))
        .header("x-big", "b".repeat(16 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    // Just under the limit: the connection's read buffer (no larger than
    // the limit, to bound memory) still holds it.
    let response = stack
        .client
        .get(stack.object_url("x"))
        .header(
            "x-big",
            "b".repeat(postpolicy_server::MAX_REQUEST_HEAD_BYTES - 1024),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

// ---- keys OSS accepts ---------------------------------------------------------

#[tokio::test]
async fn every_key_oss_accepts_stores_and_reads_back() {
    let stack = Stack::start().await;
    let long_segment = format!("seg/{}/end.txt", "s".repeat(600));
    let longest = format!("k/{}", "x".repeat(1021));
    assert_eq!(longest.len(), 1023);
    let keys = [
        "a",
        "a/b",
        "a/b/c",
        "a/",
        "A",
        "a//b",
        "dots/../x",
        long_segment.as_str(),
        longest.as_str(),
        "日本/写真 #1?.png",
    ];
    for (i, key) in keys.iter().enumerate() {
        let form = stack.sign(&format!("{POLICY}x-oss-meta-n = \"{i}\"\n"), key);
        let bytes = format!("object {i}").into_bytes();
        let content_type = format!("text/x-{i}");
        let response = stack
            .post(
                &form.url,
                &form.fields.to_vec(),
                Some(("f", &content_type, bytes.clone())),
            )
            .await;
        assert_eq!(
            response.status().as_u16(),
            204,
            "{key}: {}",
            reason(&response)
        );
    }
    for (i, key) in keys.iter().enumerate() {
        let url = format!(
            "{}/{}",
            stack.server.upload_url(),
            percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
        );
        let got = stack.client.get(&url).send().await.unwrap();
        assert_eq!(got.status().as_u16(), 200, "{key}");
        let bytes = format!("object {i}").into_bytes();
        assert_eq!(
            got.headers()["content-type"],
            format!("text/x-{i}").as_str(),
            "{key}"
        );
        assert_eq!(
            got.headers()["x-oss-meta-n"],
            i.to_string().as_str(),
            "{key}"
        );
        assert_eq!(got.headers()["etag"], etag_of(&bytes).as_str(), "{key}");
        assert_eq!(got.bytes().await.unwrap().to_vec(), bytes, "{key}");
    }
    // One record and one blob per object, nothing else.
    assert_eq!(stack.objects().len(), keys.len());
    assert_eq!(stack.files().len(), 2 * keys.len());
    // The listing shows every key as it was given.
    let listing: serde_json::Value = stack
        .client
        .get(format!("{}uploads?format=json", stack.server.app_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut listed: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    listed.sort_unstable();
    let mut expected = keys.to_vec();
    expected.sort_unstable();
    assert_eq!(listed, expected);

    // Keys OSS refuses are refused.
    let form = stack.sign(POLICY, &"k".repeat(1024));
    let response = stack.upload(&form, &[], "f", b"x".to_vec()).await;
    assert_eq!(code(response).await, (400, "InvalidObjectName".to_owned()));
}

#[tokio::test]
async fn replacing_an_object_leaves_no_old_bytes_behind() {
    let stack = Stack::start().await;
    for round in 0..3 {
        let form = stack.sign(POLICY, "same/key.txt");
        let response = stack
            .upload(&form, &[], "k.txt", format!("round {round}").into_bytes())
            .await;
        assert_eq!(response.status().as_u16(), 204);
    }
    let got = stack
        .client
        .get(stack.object_url("same/key.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"round 2");
    assert_eq!(stack.files().len(), 2, "{:?}", stack.files());
}

#[tokio::test]
async fn concurrent_uploads_to_one_key_never_mix_bytes_and_metadata() {
    let stack = Stack::start().await;
    let url = stack.object_url("race.bin");
    for round in 0..10 {
        let uploads = (0..4).map(|writer| {
            let form = stack.sign(POLICY, "race.bin");
            let bytes: Vec<u8> = vec![b'a' + writer as u8; 64 * 1024 + writer * 1000 + round];
            let content_type = format!("application/x-writer-{writer}");
            let stack = &stack;
            async move {
                let mut fields = form.fields.to_vec();
                fields.push(("x-oss-content-type".into(), content_type));
                let response = stack
                    .post(
                        &form.url,
                        &fields,
                        Some(("r.bin", "application/octet-stream", bytes)),
                    )
                    .await;
                assert_eq!(response.status().as_u16(), 204);
            }
        });
        let reads = async {
            for _ in 0..5 {
                check_consistent(&stack, &url).await;
            }
        };
        futures_util::future::join(futures_util::future::join_all(uploads), reads).await;
        check_consistent(&stack, &url).await;
    }
    assert_eq!(stack.files().len(), 2, "{:?}", stack.files());
}

/// The object's bytes, ETag and Content-Type all come from one upload.
async fn check_consistent(stack: &Stack, url: &str) {
    let got = stack.client.get(url).send().await.unwrap();
    if got.status().as_u16() == 404 {
        return;
    }
    let etag = got.headers()["etag"].to_str().unwrap().to_owned();
    let content_type = got.headers()["content-type"].to_str().unwrap().to_owned();
    let length: usize = got.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = got.bytes().await.unwrap();
    assert_eq!(bytes.len(), length);
    assert_eq!(etag, etag_of(&bytes));
    let writer = bytes[0] - b'a';
    assert_eq!(content_type, format!("application/x-writer-{writer}"));
}

#[tokio::test]
async fn no_error_carries_a_filesystem_path() {
    let stack = Stack::start().await;
    // Make the store fail: a file where the blob folder should be.
    let bucket = stack.dir.path().join("postpolicy-dev");
    std::fs::create_dir_all(&bucket).unwrap();
    std::fs::write(bucket.join("blobs"), b"in the way").unwrap();
    let form = stack.sign(POLICY, "fails.txt");
    let response = stack.upload(&form, &[], "f.txt", b"x".to_vec()).await;
    let headers = format!("{:?}", response.headers());
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, 500, "{body}");
    let dir = stack.dir.path().to_string_lossy().into_owned();
    for (what, text) in [("headers", &headers), ("body", &body)] {
        assert!(!text.contains(&dir), "{what} carry the data folder: {text}");
        assert!(!text.contains("postpolicy-dev/blobs"), "{what}: {text}");
    }
    assert!(headers.contains("its log has the detail"), "{headers}");
}

// ---- stored XSS --------------------------------------------------------------

#[tokio::test]
async fn active_content_is_served_as_an_attachment_with_nosniff() {
    let stack = Stack::start().await;
    let dsl = "content-length 1..1MiB\ncontent-type in [image/png, image/jpeg]\n";
    let script = b"<script>alert(document.domain)</script>".to_vec();
    // The Content-Type field satisfies the policy; the file part's type wins
    // (OSS's documented precedence), and so does x-oss-content-type.
    let form = stack.sign(dsl, "xss/part.png");
    let mut fields = form.fields.to_vec();
    fields.push(("Content-Type".into(), "image/png".into()));
    let response = stack
        .post(
            &form.url,
            &fields,
            Some(("x.png", "text/html", script.clone())),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let form = stack.sign(dsl, "xss/field.png");
    let mut fields = form.fields.to_vec();
    fields.push(("Content-Type".into(), "image/png".into()));
    fields.push(("x-oss-content-type".into(), "image/svg+xml".into()));
    let response = stack
        .post(
            &form.url,
            &fields,
            Some(("x.png", "image/png", script.clone())),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);

    for (key, content_type) in [
        ("xss/part.png", "text/html"),
        ("xss/field.png", "image/svg+xml"),
    ] {
        for head in [false, true] {
            let url = stack.object_url(key);
            let got = if head {
                stack.client.head(&url).send().await.unwrap()
            } else {
                stack.client.get(&url).send().await.unwrap()
            };
            assert_eq!(got.headers()["content-type"], content_type);
            assert_eq!(got.headers()["x-content-type-options"], "nosniff");
            assert_eq!(got.headers()["content-disposition"], "attachment");
        }
    }
    // A passive type is served inline, still with nosniff.
    let form = stack.sign(dsl, "ok/image.png");
    let mut fields = form.fields.to_vec();
    fields.push(("Content-Type".into(), "image/png".into()));
    let response = stack
        .post(
            &form.url,
            &fields,
            Some(("i.png", "image/png", b"png".to_vec())),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let got = stack
        .client
        .get(stack.object_url("ok/image.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert!(!got.headers().contains_key("content-disposition"));
    // Errors too.
    let got = stack
        .client
        .get(stack.object_url("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
}

// ---- the key after the file ----------------------------------------------------

#[tokio::test]
async fn a_key_after_the_file_is_named_as_such() {
    let stack = Stack::start().await;
    let form = stack.sign(POLICY, "late.txt");
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in form.fields.iter().filter(|(n, _)| *n != "key") {
        multipart = multipart.text(name.to_owned(), value.to_owned());
    }
    multipart = multipart
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![b'f'; 200_000]).file_name("late.txt"),
        )
        .text("key", "late.txt");
    let response = stack
        .client
        .post(&form.url)
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    let why = reason(&response);
    assert_eq!(code(response).await, (400, "InvalidArgument".to_owned()));
    assert!(why.contains("comes after the file part"), "{why}");
    assert!(stack.objects().is_empty());
}

#[tokio::test]
async fn fields_after_the_file_are_bounded_and_ignored() {
    let stack = Stack::start_with(|c| c.limits.form.max_fields = 40).await;
    let form = stack.sign(POLICY, "tail.txt");
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in &form.fields {
        multipart = multipart.text(name.to_owned(), value.to_owned());
    }
    multipart = multipart.part(
        "file",
        reqwest::multipart::Part::bytes(b"tail".to_vec()).file_name("t.txt"),
    );
    for i in 0..500 {
        multipart = multipart.text(format!("after{i}"), "x".repeat(100));
    }
    let response = stack
        .client
        .post(&form.url)
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204, "{}", reason(&response));
}

#[tokio::test]
async fn a_client_that_stops_reading_the_answer_is_dropped() {
    let idle = Duration::from_secs(1);
    let stack = Stack::start_with(|c| c.limits.idle_timeout = idle).await;
    const SIZE: usize = 48 * 1024 * 1024;
    let form = stack.sign("content-length 1..64MiB\n", "big/unread.bin");
    let response = stack.upload(&form, &[], "u.bin", vec![b'u'; SIZE]).await;
    assert_eq!(response.status().as_u16(), 204);

    let mut socket = TcpStream::connect(stack.server.oss_addr()).await.unwrap();
    socket
        .write_all(b"GET /postpolicy-dev/big/unread.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    // Read nothing for a while: the socket buffers fill and the server's
    // writes stall.
    tokio::time::sleep(idle * 4).await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => received += n,
            Err(_) => panic!("the connection was kept open after {received} bytes"),
        }
    }
    assert!(
        received < SIZE,
        "the whole answer was sent ({received} bytes)"
    );
}
