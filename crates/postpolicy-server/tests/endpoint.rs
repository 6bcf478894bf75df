//! The OSS-compatible endpoint over real HTTP: uploads, read-back, every
//! family of rejection, answers, overwrite protection, callbacks, aborts.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::io::Write as _;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::{Stack, etag_of, xml_field};
use postpolicy::SignOptions;
use postpolicy::callback::{BodyType, CallbackSpec};

const POLICY: &str = "content-length 1..1MiB\n";

async fn text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Asserts an OSS error answer and returns its XML.
async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> String {
    assert!(
        response.headers().contains_key("x-oss-request-id"),
        "no request id"
    );
    let (got, body) = text(response).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(xml_field(&body, "Code").as_deref(), Some(code), "{body}");
    assert!(xml_field(&body, "RequestId").is_some_and(|id| id.len() == 24));
    assert!(xml_field(&body, "HostId").is_some());
    body
}

#[tokio::test]
async fn accepted_upload_reads_back_identical_bytes_and_metadata() {
    let stack = Stack::start().await;
    let form = stack.sign(
        "content-length 1..1MiB\nx-oss-meta-owner = \"42\"\ncache-control = no-cache\n",
        "docs/hello world.txt",
    );
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let response = stack.upload(&form, &[], "hello.txt", bytes.clone()).await;
    assert_eq!(response.status().as_u16(), 204);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, etag_of(&bytes));
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, stack.object_url("docs/hello%20world.txt"));
    // Not a CORS request (no Origin): no CORS grant.
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    let got = stack.client.get(&location).send().await.unwrap();
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.headers()["content-type"], "text/plain");
    assert_eq!(got.headers()["x-oss-meta-owner"], "42");
    assert_eq!(got.headers()["cache-control"], "no-cache");
    assert_eq!(got.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);

    let head = stack.client.head(&location).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["content-length"], "100000");

    // Only the object's blob and its record are left: no temporary file.
    let files = stack.files();
    assert_eq!(files.len(), 2, "{files:?}");
}

#[tokio::test]
async fn filename_template_expands_after_the_check() {
    let stack = Stack::start().await;
    let form = stack.sign(POLICY, "user/7/${filename}");
    let response = stack
        .upload(&form, &[], "photo.png", b"png!".to_vec())
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let got = stack
        .client
        .get(stack.object_url("user/7/photo.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"png!");
}

#[tokio::test]
async fn content_type_priority_and_form_field() {
    let stack = Stack::start().await;
    let form = stack.sign(POLICY, "ct.bin");
    let mut fields = form.fields.to_vec();
    fields.push(("x-oss-content-type".into(), "image/webp".into()));
    let response = stack
        .post(
            &form.url,
            &fields,
            Some(("a.bin", "application/octet-stream", b"x".to_vec())),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let got = stack
        .client
        .get(stack.object_url("ct.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["content-type"], "image/webp");
}

#[tokio::test]
async fn rejects_a_bad_signature() {
    let stack = Stack::start().await;
    let mut form = stack.sign(POLICY, "a.txt");
    let mut fields = form.fields.to_vec();
    for (name, value) in fields.iter_mut() {
        if name == "x-oss-signature" {
            *value = "0".repeat(64);
        }
    }
    form.fields = fields.into_iter().collect();
    let response = stack.upload(&form, &[], "a.txt", b"hi".to_vec()).await;
    let body = expect_error(response, 403, "SignatureDoesNotMatch").await;
    assert!(body.contains("The request signature we calculated does not match"));
    assert!(stack.objects().is_empty());
}

#[tokio::test]
async fn rejects_an_unknown_access_key() {
    let stack = Stack::start().await;
    let signer = postpolicy::OssSigner::new(
        postpolicy::Credentials::new("someone-else", "secret", None).unwrap(),
        "cn-hangzhou",
        "postpolicy-dev",
    )
    .unwrap()
    .with_endpoint(&stack.server.upload_url())
    .unwrap();
    let form = signer
        .sign_with(
            &postpolicy::Policy::parse(POLICY).unwrap(),
            &SignOptions::default().key("a.txt"),
            Utc::now(),
        )
        .unwrap();
    let response = stack.upload(&form, &[], "a.txt", b"hi".to_vec()).await;
    expect_error(response, 403, "InvalidAccessKeyId").await;
}

#[tokio::test]
async fn rejects_an_expired_policy() {
    let stack = Stack::start().await;
    let form = stack.sign_at(
        "expires in 1h\ncontent-length 1..1MiB\n",
        &SignOptions::default().key("a.txt"),
        Utc::now() - TimeDelta::hours(2),
    );
    let response = stack.upload(&form, &[], "a.txt", b"hi".to_vec()).await;
    let body = expect_error(response, 403, "AccessDenied").await;
    assert!(
        body.contains("Invalid according to Policy: Policy expired."),
        "{body}"
    );
}

#[tokio::test]
async fn rejects_each_condition_kind() {
    let stack = Stack::start().await;
    // eq: the signed value is replaced by another.
    let form = stack.sign(
        "content-length 1..1MiB\nx-oss-meta-owner = \"42\"\n",
        "a.txt",
    );
    let mut fields: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|(n, _)| *n != "x-oss-meta-owner")
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    fields.push(("x-oss-meta-owner".into(), "43".into()));
    let response = stack
        .post(
            &form.url,
            &fields,
            Some(("a.txt", "text/plain", b"hi".to_vec())),
        )
        .await;
    let reason = response.headers()["x-postpolicy-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(reason, "x-oss-meta-owner `43` is not `42`");
    let body = expect_error(response, 403, "AccessDenied").await;
    assert!(
        body.contains(r#"Policy Condition failed: [&quot;eq&quot;, &quot;$x-oss-meta-owner&quot;, &quot;42&quot;]"#),
        "{body}"
    );

    // starts-with: a key outside the prefix.
    let form = stack.sign(POLICY, "user/1/${filename}");
    let fields: Vec<(String, String)> = form
        .fields
        .iter()
        .map(|(n, v)| {
            if n == "key" {
                (n.to_owned(), "user/2/x.txt".into())
            } else {
                (n.to_owned(), v.to_owned())
            }
        })
        .collect();
    let response = stack
        .post(
            &form.url,
            &fields,
            Some(("a.txt", "text/plain", b"hi".to_vec())),
        )
        .await;
    let header = response.headers()["x-postpolicy-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(header.contains("does not start with"), "{header}");
    expect_error(response, 403, "AccessDenied").await;

    // in / not-in on the Content-Type form field.
    let form = stack.sign(
        "content-length 1..1MiB\ncontent-type in [image/png, image/jpeg]\n",
        "a.png",
    );
    assert_eq!(form.fields_to_fill, ["Content-Type"]);
    let response = stack
        .upload(
            &form,
            &[("Content-Type", "text/plain")],
            "a.png",
            b"hi".to_vec(),
        )
        .await;
    let body = expect_error(response, 403, "AccessDenied").await;
    assert!(body.contains("&quot;in&quot;"), "{body}");
    let response = stack
        .upload(
            &form,
            &[("Content-Type", "image/png")],
            "a.png",
            b"hi".to_vec(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 204);

    let form = stack.sign(
        "content-length 1..1MiB\ncontent-type not-in [text/html]\n",
        "b.html",
    );
    let response = stack
        .upload(
            &form,
            &[("Content-Type", "text/html")],
            "b.html",
            b"hi".to_vec(),
        )
        .await;
    let body = expect_error(response, 403, "AccessDenied").await;
    assert!(body.contains("&quot;not-in&quot;"), "{body}");

    // A required field that is missing altogether.
    let form = stack.sign(
        "content-length 1..1MiB\ncontent-type starts-with image/\n",
        "c.png",
    );
    let response = stack.upload(&form, &[], "c.png", b"hi".to_vec()).await;
    let reason_header = response.headers()["x-postpolicy-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        reason_header.contains("the form has no `content-type` field"),
        "{reason_header}"
    );
    expect_error(response, 403, "AccessDenied").await;

    assert_eq!(stack.objects().len(), 1, "only the accepted png is stored");
}

#[tokio::test]
async fn enforces_the_size_range_while_streaming() {
    let stack = Stack::start().await;
    let form = stack.sign("content-length 10..1KiB\n", "sized.bin");
    let response = stack.upload(&form, &[], "s.bin", b"small".to_vec()).await;
    let body = expect_error(response, 400, "EntityTooSmall").await;
    assert!(body.contains("smaller than the minimum"), "{body}");

    // 3 MiB against a 1 KiB maximum: refused mid-stream, body drained, answered.
    let response = stack
        .upload(&form, &[], "s.bin", vec![b'x'; 3 * 1024 * 1024])
        .await;
    let reason = response.headers()["x-postpolicy-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("above the maximum of 1024 bytes"),
        "{reason}"
    );
    let body = expect_error(response, 400, "EntityTooLarge").await;
    assert!(body.contains("exceeds the maximum allowed size"), "{body}");

    let response = stack.upload(&form, &[], "s.bin", vec![b'y'; 1024]).await;
    assert_eq!(response.status().as_u16(), 204);
    let files = stack.files();
    assert_eq!(files.len(), 2, "blob and record only: {files:?}");
}

#[tokio::test]
async fn rejects_missing_key_file_not_last_and_no_file() {
    let stack = Stack::start().await;
    let form = stack.sign(POLICY, "k.txt");

    let without_key: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|(n, _)| *n != "key")
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let response = stack
        .post(
            &form.url,
            &without_key,
            Some(("k.txt", "text/plain", b"hi".to_vec())),
        )
        .await;
    let body = expect_error(response, 400, "InvalidArgument").await;
    assert!(
        body.contains("The bucket POST must contain the specified &apos;key&apos;"),
        "{body}"
    );

    // key after the file: fields after the file are ignored.
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in &without_key {
        multipart = multipart.text(name.to_owned(), value.to_owned());
    }
    multipart = multipart
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"hi".to_vec()).file_name("k.txt"),
        )
        .text("key", "k.txt");
    let response = stack
        .client
        .post(&form.url)
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "InvalidArgument").await;

    let response = stack.post(&form.url, &form.fields.to_vec(), None).await;
    let body = expect_error(response, 400, "MalformedPOSTRequest").await;
    assert!(body.contains("not well-formed multipart/form-data"));

    let response = stack
        .client
        .post(&form.url)
        .body("key=a")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "MalformedPOSTRequest").await;
    assert!(stack.files().is_empty());
}

#[tokio::test]
async fn answers_201_with_post_response_xml() {
    let stack = Stack::start().await;
    let form = stack.sign(
        "content-length 1..1MiB\nsuccess_action_status = 201\n",
        "x/201.txt",
    );
    let bytes = b"created".to_vec();
    let response = stack.upload(&form, &[], "201.txt", bytes.clone()).await;
    assert_eq!(response.headers()["content-type"], "application/xml");
    let (status, body) = text(response).await;
    assert_eq!(status, 201);
    assert_eq!(
        xml_field(&body, "Bucket").as_deref(),
        Some("postpolicy-dev")
    );
    assert_eq!(xml_field(&body, "Key").as_deref(), Some("x/201.txt"));
    assert_eq!(
        xml_field(&body, "Location").as_deref(),
        Some(stack.object_url("x/201.txt").as_str())
    );
    assert_eq!(
        xml_field(&body, "ETag").unwrap(),
        etag_of(&bytes).replace('"', "&quot;")
    );

    let form = stack.sign(
        "content-length 1..1MiB\nsuccess_action_status = 200\n",
        "x/200.txt",
    );
    let (status, body) = text(stack.upload(&form, &[], "200.txt", bytes.clone()).await).await;
    assert_eq!((status, body.as_str()), (200, ""));
}

#[tokio::test]
async fn redirects_on_success_only() {
    let stack = Stack::start().await;
    let dsl = "content-length 1..1MiB\nsuccess_action_redirect = \"https://app.example/done\"\n";
    let form = stack.sign(dsl, "r.txt");
    let response = stack.upload(&form, &[], "r.txt", b"ok".to_vec()).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "https://app.example/done");

    let form = stack.sign(&format!("{dsl}content-length 5..10\n"), "r2.txt");
    let response = stack.upload(&form, &[], "r.txt", b"ok".to_vec()).await;
    expect_error(response, 400, "EntityTooSmall").await;
}

#[tokio::test]
async fn forbid_overwrite_answers_409_and_keeps_the_object() {
    let stack = Stack::start().await;
    let form = stack.sign(POLICY, "once.txt");
    let response = stack
        .upload(&form, &[], "once.txt", b"first".to_vec())
        .await;
    assert_eq!(response.status().as_u16(), 204);

    let form = stack.sign(
        "content-length 1..1MiB\nx-oss-forbid-overwrite = true\n",
        "once.txt",
    );
    let response = stack
        .upload(&form, &[], "once.txt", b"second".to_vec())
        .await;
    let body = expect_error(response, 409, "FileAlreadyExists").await;
    assert!(body.contains("already exists"));
    let got = stack
        .client
        .get(stack.object_url("once.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"first");

    // Without the flag the object is replaced.
    let form = stack.sign(POLICY, "once.txt");
    let response = stack
        .upload(&form, &[], "once.txt", b"third".to_vec())
        .await;
    assert_eq!(response.status().as_u16(), 204);
    let got = stack
        .client
        .get(stack.object_url("once.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"third");
    assert_eq!(stack.files().len(), 2);
}

#[tokio::test]
async fn callback_to_the_demo_app_is_signed_verified_and_relayed() {
    let stack = Stack::start().await;
    let token = stack
        .client
        .get(format!("{}upload-token", stack.server.app_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status().as_u16(), 200);
    assert!(token.headers().contains_key("set-cookie"));
    let token: serde_json::Value = token.json().await.unwrap();
    assert_eq!(token["url"], stack.server.upload_url());
    let fields: Vec<(String, String)> = token["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let key_template = token["fields"]["key"].as_str().unwrap();
    assert!(key_template.starts_with("uploads/") && key_template.ends_with("/${filename}"));
    assert!(token["fields"]["callback"].is_string());

    let bytes = b"called back".to_vec();
    let response = stack
        .post(
            token["url"].as_str().unwrap(),
            &fields,
            Some(("cb.txt", "text/plain", bytes.clone())),
        )
        .await;
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.headers()["etag"].to_str().unwrap(),
        etag_of(&bytes)
    );
    let (status, body) = text(response).await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["Status"], "OK");
    let key = key_template.replace("${filename}", "cb.txt");
    assert_eq!(answer["object"], key.as_str());
    assert_eq!(answer["size"], 11);

    let records = stack.server.callbacks();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].object, key);
    assert_eq!(records[0].mime_type, "text/plain");
    assert_eq!(records[0].etag, etag_of(&bytes).trim_matches('"'));
    let got = stack
        .client
        .get(stack.object_url(&key))
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);

    // The upload listing shows it.
    let listing: serde_json::Value = stack
        .client
        .get(format!("{}uploads?format=json", stack.server.app_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing[0]["key"], key.as_str());
}

#[tokio::test]
async fn callback_app_down_answers_203_and_keeps_the_object() {
    // An allowed port that nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let stack =
        Stack::start_with(|c| c.callback_allow = Some(vec![format!("127.0.0.1:{port}")])).await;
    let fields = CallbackSpec::new(
        format!("http://127.0.0.1:{port}/callback"),
        "object=${object}&size=${size}",
    )
    .with_body_type(BodyType::FormUrlEncoded)
    .to_fields()
    .unwrap();
    let options = SignOptions::default()
        .key("cb/down.txt")
        .callback(fields.callback, fields.vars);
    let form = stack.sign_at(POLICY, &options, Utc::now());
    let response = stack.upload(&form, &[], "down.txt", b"kept".to_vec()).await;
    assert!(response.headers().contains_key("etag"));
    let body = expect_error(response, 203, "CallbackFailed").await;
    assert!(
        body.contains("OSS can not connect to your callbackUrl"),
        "{body}"
    );
    let got = stack
        .client
        .get(stack.object_url("cb/down.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"kept");
}

#[tokio::test]
async fn invalid_callback_field_is_refused_before_storing() {
    let stack = Stack::start().await;
    let form = stack.sign(POLICY, "bad-cb.txt");
    let response = stack
        .upload(
            &form,
            &[("callback", "not base64!")],
            "a.txt",
            b"x".to_vec(),
        )
        .await;
    expect_error(response, 400, "InvalidArgument").await;
    assert!(stack.files().is_empty());
}

#[tokio::test]
async fn demo_callback_receiver_refuses_unsigned_and_untrusted_requests() {
    let stack = Stack::start().await;
    let url = format!("{}callback", stack.server.app_url());
    let response = stack.client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "CALLBACK_MISSING_PUB_KEY_URL");

    // Signed with a key published somewhere the demo does not trust.
    use base64::Engine as _;
    let signer = common::test_signer();
    let body = br#"{"object":"x"}"#;
    let response = stack
        .client
        .post(&url)
        .header(
            "authorization",
            signer.sign("/callback", None, body).unwrap(),
        )
        .header(
            "x-oss-pub-key-url",
            base64::engine::general_purpose::STANDARD.encode("http://evil.example/key.pem"),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "CALLBACK_UNTRUSTED_KEY_URL");

    // The endpoint's own key, but a tampered body.
    let key_url = format!(
        "{}{}",
        stack.server.oss_origin(),
        postpolicy_server::CALLBACK_KEY_PATH
    );
    let response = stack
        .client
        .post(&url)
        .header(
            "authorization",
            signer.sign("/callback", None, body).unwrap(),
        )
        .header(
            "x-oss-pub-key-url",
            base64::engine::general_purpose::STANDARD.encode(&key_url),
        )
        .body(br#"{"object":"y"}"#.to_vec())
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "CALLBACK_BAD_SIGNATURE");
    assert!(stack.server.callbacks().is_empty());

    let pem = stack
        .client
        .get(&key_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
}

#[tokio::test]
async fn aborted_upload_leaves_no_object_and_no_temporary_file() {
    let stack = Stack::start().await;
    let form = stack.sign("content-length 1..100MiB\n", "aborted.bin");
    let boundary = "postpolicyabortboundary";
    let mut head = Vec::new();
    for (name, value) in &form.fields {
        write!(
            head,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
        .unwrap();
    }
    write!(
        head,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .unwrap();
    let declared = head.len() + 50 * 1024 * 1024;
    let addr = stack.server.oss_addr();
    let request = format!(
        "POST /postpolicy-dev HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n\r\n"
    );
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::AsyncWriteExt as _;
    socket.write_all(request.as_bytes()).await.unwrap();
    socket.write_all(&head).await.unwrap();
    let chunk = vec![b'z'; 64 * 1024];
    for _ in 0..96 {
        socket.write_all(&chunk).await.unwrap();
    }
    socket.flush().await.unwrap();
    // The upload is being streamed into a new blob...
    let mut streaming = false;
    for _ in 0..100 {
        if stack
            .files()
            .iter()
            .any(|p| p.to_string_lossy().contains("blobs"))
        {
            streaming = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        streaming,
        "no temporary file while streaming: {:?}",
        stack.files()
    );
    // ...until the client goes away mid-body.
    drop(socket);
    let mut files = stack.files();
    for _ in 0..250 {
        if files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        files = stack.files();
    }
    assert!(files.is_empty(), "left behind: {files:?}");
    let got = stack
        .client
        .get(stack.object_url("aborted.bin"))
        .send()
        .await
        .unwrap();
    expect_error(got, 404, "NoSuchKey").await;
}

#[tokio::test]
async fn virtual_host_style_and_cors() {
    let stack = Stack::start().await;
    // The demo application's own origin is allowed by default.
    let app_origin = stack.server.app_url().trim_end_matches('/').to_owned();
    let form = stack.sign(POLICY, "vh.txt");
    let addr = stack.server.oss_addr();
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in &form.fields {
        multipart = multipart.text(name.to_owned(), value.to_owned());
    }
    multipart = multipart.part(
        "file",
        reqwest::multipart::Part::bytes(b"vhost".to_vec()).file_name("vh.txt"),
    );
    let response = stack
        .client
        .post(format!("http://{addr}/"))
        .header(
            "host",
            format!("postpolicy-dev.oss.localhost:{}", addr.port()),
        )
        .header("origin", &app_origin)
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(
        response.headers()["location"],
        format!("http://postpolicy-dev.oss.localhost:{}/vh.txt", addr.port()).as_str()
    );
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        app_origin.as_str()
    );
    assert!(
        response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("ETag")
    );
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-credentials")
    );
    let got = stack
        .client
        .get(format!("http://{addr}/vh.txt"))
        .header(
            "host",
            format!("postpolicy-dev.oss.localhost:{}", addr.port()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"vhost");

    let preflight = stack
        .client
        .request(reqwest::Method::OPTIONS, stack.server.upload_url())
        .header("origin", &app_origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 200);
    let headers = preflight.headers();
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(headers["access-control-allow-headers"], "content-type");
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    for name in ["ETag", "Location", "x-oss-request-id"] {
        assert!(exposed.contains(name), "{exposed}");
    }
}

#[tokio::test]
async fn unknown_bucket_key_and_method() {
    let stack = Stack::start().await;
    let origin = stack.server.oss_origin();
    let response = stack
        .client
        .get(format!("{origin}/other-bucket/x"))
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "NoSuchBucket").await;
    let response = stack
        .client
        .get(stack.object_url("nope"))
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "NoSuchKey").await;
    let response = stack
        .client
        .delete(stack.object_url("nope"))
        .send()
        .await
        .unwrap();
    expect_error(response, 405, "MethodNotAllowed").await;
}

#[tokio::test]
async fn v1_forms_are_accepted_too() {
    let stack = Stack::start().await;
    let signer = stack.signer().with_version(postpolicy::OssVersion::V1);
    let form = signer
        .sign_with(
            &postpolicy::Policy::parse(POLICY).unwrap(),
            &SignOptions::default().key("v1.txt"),
            Utc::now(),
        )
        .unwrap();
    assert!(form.field("Signature").is_some());
    let response = stack.upload(&form, &[], "v1.txt", b"v1".to_vec()).await;
    assert_eq!(response.status().as_u16(), 204);
}

/// A one-request HTTP server: returns the raw request it received and
/// answers 200 with `answer`.
async fn one_request_server(answer: &'static str) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook?src=oss", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
        request
    });
    (url, task)
}

#[tokio::test]
async fn callback_body_carries_crc64_and_image_info_and_verifies() {
    let (url, request) = one_request_server(r#"{"ok":true}"#).await;
    let authority = reqwest::Url::parse(&url).unwrap();
    let allow = format!("127.0.0.1:{}", authority.port().unwrap());
    let stack = Stack::start_with(|c| c.callback_allow = Some(vec![allow])).await;
    let fields = CallbackSpec::new(
        url,
        "object=${object}&crc=${crc64}&w=${imageInfo.width}&h=${imageInfo.height}&f=${imageInfo.format}&op=${operation}&u=${x:uid}",
    )
    .with_var("x:uid", "42")
    .to_fields()
    .unwrap();
    let options = SignOptions::default()
        .key("img/${filename}")
        .callback(fields.callback, fields.vars);
    let form = stack.sign_at(POLICY, &options, Utc::now());
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&33u32.to_be_bytes());
    png.extend_from_slice(&17u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0]);
    let crc = crc::Crc::<u64>::new(&crc::CRC_64_XZ).checksum(&png);
    let response = stack
        .post(
            &form.url,
            &form.fields.to_vec(),
            Some(("dot.png", "image/png", png.clone())),
        )
        .await;
    assert_eq!(
        response.headers()["x-oss-hash-crc64ecma"].to_str().unwrap(),
        crc.to_string()
    );
    let (status, body) = text(response).await;
    assert_eq!((status, body.as_str()), (200, r#"{"ok":true}"#));

    let raw = request.await.unwrap();
    let text = String::from_utf8(raw.clone()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("POST /hook?src=oss HTTP/1.1"), "{head}");
    assert_eq!(
        body,
        format!("object=img%2Fdot.png&crc={crc}&w=33&h=17&f=png&op=PostObject&u=42")
    );
    // The request verifies with the endpoint's published key.
    let headers: Vec<(&str, &str)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
        .collect();
    let pem = stack
        .client
        .get(format!(
            "{}{}",
            stack.server.oss_origin(),
            postpolicy_server::CALLBACK_KEY_PATH
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let request = postpolicy::callback::CallbackRequest::new(
        "POST",
        "/hook",
        Some("src=oss"),
        headers,
        body.as_bytes(),
    );
    let trusted = postpolicy::callback::KeyUrlPolicy::default()
        .allow(stack.server.oss_origin())
        .unwrap();
    let source = move |_: &str| -> Result<String, String> { Ok(pem.clone()) };
    postpolicy::callback::verify_callback(&request, &source, &trusted).unwrap();

    let got = stack
        .client
        .head(stack.object_url("img/dot.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.headers()["x-oss-hash-crc64ecma"].to_str().unwrap(),
        crc.to_string()
    );
    assert_eq!(got.headers()["content-type"], "image/png");
}
