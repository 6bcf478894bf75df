//! OSS upload callbacks: the shared callback vectors, sender round trips,
//! builder output and validation, body rendering.

// clippy.toml allows these in `#[test]` functions only; the helpers below are
// test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use postpolicy::callback::{
    BodyType, CachedKeySource, CallbackError, CallbackRequest, CallbackSigner, CallbackSpec,
    ImageInfo, KeySource, KeyUrlPolicy, ObjectFacts, PublicKey, render_body, string_to_sign,
    verify_callback,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/oss-signatures.json"
    );
    let text = std::fs::read_to_string(path).expect("read oss-signatures.json");
    serde_json::from_str(&text).expect("parse oss-signatures.json")
}

fn test_private_key() -> String {
    vectors()["callback"]["synthetic_test_key"]["private_key_pem"]
        .as_str()
        .expect("private key")
        .to_string()
}

fn test_public_key() -> String {
    vectors()["callback"]["synthetic_test_key"]["public_key_pem"]
        .as_str()
        .expect("public key")
        .to_string()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` missing in {v}"))
}

#[test]
fn every_callback_vector() {
    let all = vectors();
    let cases = all["callback_vectors"]
        .as_array()
        .expect("callback_vectors");
    assert!(!cases.is_empty());
    for case in cases {
        let id = str_of(case, "id");
        let pem = str_of(case, "public_key_pem").to_string();
        let calls = Cell::new(0usize);
        let fetched_url = std::cell::RefCell::new(String::new());
        let stub = |url: &str| -> Result<String, String> {
            calls.set(calls.get() + 1);
            *fetched_url.borrow_mut() = url.to_string();
            Ok(pem.clone())
        };
        let headers: Vec<(&str, &str)> = case["headers"]
            .as_object()
            .expect("headers")
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().expect("header value")))
            .collect();
        let req = CallbackRequest::from_raw_path_and_query(
            str_of(case, "request_method"),
            str_of(case, "raw_path_and_query"),
            headers,
            str_of(case, "body").as_bytes(),
        );
        if let Some(expected) = case["expected_string_to_sign"].as_str() {
            assert_eq!(
                String::from_utf8_lossy(&string_to_sign(&req)),
                expected,
                "{id}: string to sign"
            );
        }
        let result = verify_callback(&req, &stub, &KeyUrlPolicy::default());
        let expected_valid = case["expected_valid"].as_bool().expect("expected_valid");
        assert_eq!(result.is_ok(), expected_valid, "{id}: {result:?}");
        let trusted = case["check"]["public_key_url_trusted"]
            .as_bool()
            .unwrap_or(true);
        if trusted {
            // OSS's key host is fetched over https whatever the header says.
            let canonical = case["public_key_url"].as_str().map(|url| {
                url.replacen(
                    "http://gosspublic.alicdn.com/",
                    "https://gosspublic.alicdn.com/",
                    1,
                )
            });
            if let Some(url) = &canonical
                && calls.get() > 0
            {
                assert_eq!(*fetched_url.borrow(), *url, "{id}: fetched URL");
            }
            if let Ok(verified) = &result {
                assert_eq!(Some(&verified.public_key_url), canonical.as_ref(), "{id}");
            }
            if !expected_valid && case["check"]["rsa_md5_valid_python_cryptography"] == false {
                let reason = case["reject_reason"].as_str().unwrap_or("");
                if reason.contains("signature") {
                    assert_eq!(result, Err(CallbackError::BadSignature), "{id}");
                }
            }
        } else {
            assert_eq!(
                calls.get(),
                0,
                "{id}: untrusted key URL must not be fetched"
            );
            assert!(
                matches!(result, Err(CallbackError::UntrustedKeyUrl { .. })),
                "{id}: {result:?}"
            );
        }
    }
}

#[test]
fn vectors_verify_through_a_cached_source() {
    let all = vectors();
    let calls = AtomicUsize::new(0);
    let real_key = all["callback_vectors"][0]["public_key_pem"]
        .as_str()
        .unwrap()
        .to_string();
    let keys = CachedKeySource::new(|_url: &str| {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(real_key.clone())
    });
    let case = &all["callback_vectors"][0];
    assert_eq!(str_of(case, "id"), "cb-01-oss-doc-example");
    let headers: Vec<(&str, &str)> = case["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    let req = CallbackRequest::from_raw_path_and_query(
        "POST",
        str_of(case, "raw_path_and_query"),
        headers,
        str_of(case, "body").as_bytes(),
    );
    for _ in 0..3 {
        verify_callback(&req, &keys, &KeyUrlPolicy::default()).unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(keys.len(), 1);
    keys.clear();
    verify_callback(&req, &keys, &KeyUrlPolicy::default()).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

// ---- sender ------------------------------------------------------------------

const LOCAL_KEY_URL: &str = "http://127.0.0.1:8080/callback_pub_key.pem";

fn signed_request_parts(
    signer: &CallbackSigner,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Vec<(String, String)> {
    signer.headers(LOCAL_KEY_URL, path, query, body).unwrap()
}

fn verify_with(
    headers: &[(String, String)],
    path: &str,
    query: Option<&str>,
    body: &[u8],
    pem: &str,
) -> Result<(), CallbackError> {
    let stub = |_: &str| Ok::<_, String>(pem.to_string());
    let req = CallbackRequest::new(
        "POST",
        path,
        query,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    );
    let policy = KeyUrlPolicy::default()
        .allow("http://127.0.0.1:8080")
        .unwrap();
    verify_callback(&req, &stub, &policy).map(|_| ())
}

#[test]
fn sender_round_trip_with_the_vector_key() {
    let signer = CallbackSigner::from_pkcs8_pem(&test_private_key()).unwrap();
    assert_eq!(signer.public_key_pem().trim(), test_public_key().trim());
    let path = "/%E5%9B%9E%E8%B0%83/notify.php";
    let body = b"bucket=examplebucket&object=a%2Fb.jpg&size=5".to_vec();
    for query in [None, Some(""), Some("name=%E4%B8%AD&x=a%2Bb")] {
        let headers = signed_request_parts(&signer, path, query, &body);
        verify_with(&headers, path, query, &body, signer.public_key_pem()).unwrap();
        // One body byte changed.
        let mut tampered = body.clone();
        tampered[0] ^= 1;
        assert_eq!(
            verify_with(&headers, path, query, &tampered, signer.public_key_pem()),
            Err(CallbackError::BadSignature)
        );
        // Path and query are covered too.
        assert_eq!(
            verify_with(&headers, "/other", query, &body, signer.public_key_pem()),
            Err(CallbackError::BadSignature)
        );
    }
    // `?` with an empty query is not the same as no `?`.
    let headers = signed_request_parts(&signer, "/cb", None, b"x");
    assert_eq!(
        verify_with(&headers, "/cb", Some(""), b"x", signer.public_key_pem()),
        Err(CallbackError::BadSignature)
    );
}

#[test]
fn sender_reproduces_the_synthetic_vectors() {
    // PKCS#1 v1.5 signatures are deterministic: the test key must reproduce
    // the recorded authorization of every synthetic vector that verifies.
    let signer = CallbackSigner::from_pkcs8_pem(&test_private_key()).unwrap();
    let all = vectors();
    let mut checked = 0;
    for case in all["callback_vectors"].as_array().unwrap() {
        if str_of(case, "kind") != "synthetic-test-key" || case["expected_valid"] != true {
            continue;
        }
        let target = str_of(case, "raw_path_and_query");
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let auth = signer
            .sign(path, query, str_of(case, "body").as_bytes())
            .unwrap();
        assert_eq!(
            auth,
            str_of(&case["headers"], "authorization"),
            "{}",
            case["id"]
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn signer_key_formats_and_generation() {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;

    let pkcs8 = test_private_key();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pkcs8).unwrap();
    let pkcs1 = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::CRLF).unwrap();
    let a = CallbackSigner::from_pkcs8_pem(&pkcs8).unwrap();
    let b = CallbackSigner::from_pem(&pkcs1).unwrap();
    assert_eq!(
        a.sign("/a", None, b"b").unwrap(),
        b.sign("/a", None, b"b").unwrap()
    );
    assert_eq!(
        a.private_key_pem().unwrap().trim(),
        pkcs8.trim(),
        "PKCS#8 export"
    );
    assert!(
        !format!("{a:?}").contains("MII"),
        "Debug must not show the key"
    );
    assert!(matches!(
        CallbackSigner::from_pkcs8_pem("nope"),
        Err(CallbackError::InvalidPrivateKey { .. })
    ));
    assert_eq!(
        CallbackSigner::from_pkcs8_pem("nope").unwrap_err().code(),
        "CALLBACK_INVALID_PRIVATE_KEY"
    );

    // Deterministic random bytes (xorshift64*): the core takes any source.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let fill = move |dest: &mut [u8]| {
        for chunk in dest.chunks_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    };
    let generated = CallbackSigner::generate(512, fill).unwrap();
    let auth = generated.sign("/cb", Some("a=1"), b"body").unwrap();
    let headers = vec![
        ("authorization".to_string(), auth),
        (
            "x-oss-pub-key-url".to_string(),
            BASE64.encode(LOCAL_KEY_URL),
        ),
    ];
    verify_with(
        &headers,
        "/cb",
        Some("a=1"),
        b"body",
        generated.public_key_pem(),
    )
    .unwrap();
    assert!(
        generated
            .public_key()
            .verify(b"/cb?a=1\nbody", &BASE64.decode(&headers[0].1).unwrap())
    );
    assert_eq!(generated.public_key().bits(), 512);
}

#[test]
fn pkcs1_public_keys_are_accepted() {
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePublicKey as _;

    let spki = test_public_key();
    let key = rsa::RsaPublicKey::from_public_key_pem(&spki).unwrap();
    let pkcs1 = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----"));
    let signer = CallbackSigner::from_pkcs8_pem(&test_private_key()).unwrap();
    let headers = signed_request_parts(&signer, "/cb", None, b"x=1");
    verify_with(&headers, "/cb", None, b"x=1", &pkcs1).unwrap();
    // CRLF line ends and surrounding blank lines are fine too.
    let crlf = format!("\r\n{}\r\n", spki.replace('\n', "\r\n"));
    verify_with(&headers, "/cb", None, b"x=1", &crlf).unwrap();
    assert_eq!(PublicKey::from_pem(&pkcs1).unwrap().bits(), 1024);
}

// ---- verifier failures ------------------------------------------------------

#[test]
fn every_verifier_failure_has_its_own_error() {
    let signer = CallbackSigner::from_pkcs8_pem(&test_private_key()).unwrap();
    let pem = signer.public_key_pem().to_string();
    let good_auth = signer.sign("/cb", None, b"x=1").unwrap();
    let oss_url = BASE64.encode("https://gosspublic.alicdn.com/callback_pub_key_v1.pem");
    let evil_url = BASE64.encode("https://evil.example.com/key.pem");
    let lookalike = BASE64.encode("https://gosspublic.alicdn.com.evil.example.com/key.pem");

    let calls = AtomicUsize::new(0);
    let run = |headers: &[(&str, &str)], source: &dyn KeySource| {
        let req = CallbackRequest::new("POST", "/cb", None, headers.iter().copied(), b"x=1");
        verify_callback(&req, source, &KeyUrlPolicy::default())
    };
    let counting = |_: &str| {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>(pem.clone())
    };

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("x-oss-pub-key-url", &oss_url)],
            "CALLBACK_MISSING_AUTHORIZATION",
        ),
        (
            vec![("authorization", &good_auth)],
            "CALLBACK_MISSING_PUB_KEY_URL",
        ),
        (
            vec![
                ("authorization", "not base64!"),
                ("x-oss-pub-key-url", &oss_url),
            ],
            "CALLBACK_HEADER_NOT_BASE64",
        ),
        (
            vec![("authorization", &good_auth), ("x-oss-pub-key-url", "%%%")],
            "CALLBACK_HEADER_NOT_BASE64",
        ),
        (
            vec![
                ("authorization", &good_auth),
                ("x-oss-pub-key-url", &evil_url),
            ],
            "CALLBACK_UNTRUSTED_KEY_URL",
        ),
        (
            vec![
                ("authorization", &good_auth),
                ("x-oss-pub-key-url", &lookalike),
            ],
            "CALLBACK_UNTRUSTED_KEY_URL",
        ),
        (
            vec![("Authorization", "AAAA"), ("X-OSS-Pub-Key-Url", &oss_url)],
            "CALLBACK_BAD_SIGNATURE",
        ),
    ];
    for (headers, code) in &cases {
        let before = calls.load(Ordering::SeqCst);
        let err = run(headers, &counting).unwrap_err();
        assert_eq!(err.code(), *code, "{headers:?}: {err}");
        assert!(err.is_verification_failure());
        if *code == "CALLBACK_UNTRUSTED_KEY_URL" {
            assert_eq!(
                calls.load(Ordering::SeqCst),
                before,
                "fetched an untrusted URL"
            );
            assert!(err.to_string().contains("evil.example.com"), "{err}");
        }
    }
    // Correct headers with a case-insensitive lookup.
    run(
        &[
            ("AUTHORIZATION", &good_auth),
            ("x-oss-pub-key-url", &oss_url),
        ],
        &counting,
    )
    .unwrap();

    let failing = |_: &str| Err::<String, _>("connection refused".to_string());
    let err = run(
        &[
            ("authorization", &good_auth),
            ("x-oss-pub-key-url", &oss_url),
        ],
        &failing,
    )
    .unwrap_err();
    assert_eq!(err.code(), "CALLBACK_KEY_FETCH_FAILED");
    assert!(err.to_string().contains("connection refused"), "{err}");

    let garbage = |_: &str| Ok::<_, String>("<html>404</html>".to_string());
    let err = run(
        &[
            ("authorization", &good_auth),
            ("x-oss-pub-key-url", &oss_url),
        ],
        &garbage,
    )
    .unwrap_err();
    assert_eq!(err.code(), "CALLBACK_INVALID_PUBLIC_KEY");
    assert!(matches!(err, CallbackError::InvalidPublicKey { .. }));

    // Failures are not cached.
    let flaky_calls = AtomicUsize::new(0);
    let flaky = CachedKeySource::new(|_: &str| {
        if flaky_calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Err("timeout".to_string())
        } else {
            Ok(pem.clone())
        }
    });
    let headers = [
        ("authorization", good_auth.as_str()),
        ("x-oss-pub-key-url", oss_url.as_str()),
    ];
    assert!(run(&headers, &flaky).is_err());
    assert!(flaky.is_empty());
    run(&headers, &flaky).unwrap();
    run(&headers, &flaky).unwrap();
    assert_eq!(flaky_calls.load(Ordering::SeqCst), 2);
    assert!(format!("{flaky:?}").contains("gosspublic"));
}

#[test]
fn cached_source_is_shareable_across_threads() {
    let pem = test_public_key();
    let keys = Arc::new(CachedKeySource::new(move |_: &str| {
        Ok::<_, String>(pem.clone())
    }));
    let signer = Arc::new(CallbackSigner::from_pkcs8_pem(&test_private_key()).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let keys = Arc::clone(&keys);
            let signer = Arc::clone(&signer);
            std::thread::spawn(move || {
                let body = format!("n={i}");
                let headers = signer
                    .headers(
                        "https://gosspublic.alicdn.com/callback_pub_key_v1.pem",
                        "/cb",
                        None,
                        body.as_bytes(),
                    )
                    .unwrap();
                let req = CallbackRequest::new(
                    "POST",
                    "/cb",
                    None,
                    headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    body.as_bytes(),
                );
                verify_callback(&req, &*keys, &KeyUrlPolicy::default()).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(keys.len(), 1);
}

// ---- builder -----------------------------------------------------------------

fn decode_fields(callback: &str) -> serde_json::Map<String, Value> {
    let json = BASE64.decode(callback).unwrap();
    match serde_json::from_slice(&json).unwrap() {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn builder_round_trip() {
    let spec = CallbackSpec::new(
        "https://app.example.com/oss/cb?src=web",
        "bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}&n=${x:n}",
    )
    .with_url("http://backup.example.com:8080/cb")
    .with_host("app.example.com")
    .with_var("x:uid", "42")
    .with_var("x:n", "名字 & more");
    let fields = spec.to_fields().unwrap();
    let json = String::from_utf8(BASE64.decode(&fields.callback).unwrap()).unwrap();
    assert_eq!(
        json,
        r#"{"callbackUrl":"https://app.example.com/oss/cb?src=web;http://backup.example.com:8080/cb","callbackHost":"app.example.com","callbackBody":"bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}&n=${x:n}","callbackBodyType":"application/x-www-form-urlencoded"}"#
    );
    assert_eq!(
        fields.vars,
        [
            ("x:uid".to_string(), "42".to_string()),
            ("x:n".to_string(), "名字 & more".to_string())
        ]
    );
    assert_eq!(
        fields
            .clone()
            .into_form_fields()
            .first()
            .map(|(k, _)| k.as_str()),
        Some("callback")
    );

    // Decoding gives the same spec back (without the vars, which are fields).
    let decoded = CallbackSpec::from_base64(&fields.callback).unwrap();
    assert_eq!(decoded.urls(), spec.urls());
    assert_eq!(decoded.host(), Some("app.example.com"));
    assert_eq!(decoded.body(), spec.body());
    assert_eq!(decoded.body_type(), BodyType::FormUrlEncoded);
    assert!(!decoded.sni());
    assert!(decoded.vars().is_empty());
    assert_eq!(
        decoded.with_vars(fields.vars.clone()).to_fields().unwrap(),
        fields
    );
}

#[test]
fn builder_minimal_json_and_sni() {
    let fields = CallbackSpec::new("http://a.example.com/cb", r#"{"object":${object}}"#)
        .with_body_type(BodyType::Json)
        .with_sni(true)
        .to_fields()
        .unwrap();
    let map = decode_fields(&fields.callback);
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "callbackUrl",
            "callbackBody",
            "callbackBodyType",
            "callbackSNI"
        ]
    );
    assert_eq!(map["callbackUrl"], "http://a.example.com/cb");
    assert_eq!(map["callbackBody"], r#"{"object":${object}}"#);
    assert_eq!(map["callbackBodyType"], "application/json");
    assert_eq!(map["callbackSNI"], Value::Bool(true));
    assert!(fields.vars.is_empty());

    let plain = CallbackSpec::new("http://a.example.com/cb", "x=${etag}")
        .to_fields()
        .unwrap();
    let map = decode_fields(&plain.callback);
    assert_eq!(map.len(), 3, "no callbackHost, no callbackSNI: {map:?}");
    assert!(!map.contains_key("callbackSNI"));
    assert!(!map.contains_key("callbackHost"));
}

#[test]
fn builder_accepts_every_system_variable() {
    let body: String = postpolicy::callback::SYSTEM_VARIABLES
        .iter()
        .map(|v| format!("{v}=${{{v}}}"))
        .collect::<Vec<_>>()
        .join("&");
    CallbackSpec::new("https://a.example.com/", body)
        .to_fields()
        .unwrap();
}

#[test]
fn builder_validation_errors() {
    let ok = || {
        CallbackSpec::new("https://a.example.com/cb", "o=${object}&v=${x:v}").with_var("x:v", "1")
    };
    ok().to_fields().unwrap();
    let six: Vec<String> = (0..6)
        .map(|i| format!("https://h{i}.example.com/"))
        .collect();
    let cases: Vec<(CallbackSpec, &str)> = vec![
        (ok().with_urls(Vec::<String>::new()), "CALLBACK_NO_URL"),
        (ok().with_urls(six), "CALLBACK_TOO_MANY_URLS"),
        (
            ok().with_urls(["ftp://a.example.com/"]),
            "CALLBACK_URL_SCHEME",
        ),
        (
            ok().with_urls(["https://a.example.com:99999/"]),
            "CALLBACK_URL_PORT",
        ),
        (
            ok().with_urls(["https://a.example.com:0/"]),
            "CALLBACK_URL_PORT",
        ),
        (
            ok().with_urls(["http://[2001:db8::1]/cb"]),
            "CALLBACK_URL_IPV6",
        ),
        (ok().with_urls(["https:///cb"]), "CALLBACK_URL_INVALID"),
        (
            ok().with_urls(["https://a.example.com/a;b"]),
            "CALLBACK_URL_INVALID",
        ),
        (ok().with_host(""), "CALLBACK_HOST_INVALID"),
        (
            CallbackSpec::new("https://a.example.com/", ""),
            "CALLBACK_EMPTY_BODY",
        ),
        (
            CallbackSpec::new("https://a.example.com/", "a=${object"),
            "CALLBACK_BODY_SYNTAX",
        ),
        (
            CallbackSpec::new("https://a.example.com/", "a=${}"),
            "CALLBACK_BODY_SYNTAX",
        ),
        (
            CallbackSpec::new("https://a.example.com/", "a=${x:${b}}"),
            "CALLBACK_BODY_SYNTAX",
        ),
        (
            CallbackSpec::new("https://a.example.com/", "a=${filename}"),
            "CALLBACK_UNKNOWN_VARIABLE",
        ),
        (
            CallbackSpec::new("https://a.example.com/", "a=${x:Name}").with_var("x:Name", "1"),
            "CALLBACK_VAR_NAME",
        ),
        (ok().with_var("my_var", "1"), "CALLBACK_VAR_NAME"),
        (ok().with_var("X:v2", "1"), "CALLBACK_VAR_NAME"),
        (ok().with_var("x:v", "2"), "CALLBACK_DUPLICATE_VAR"),
        (
            CallbackSpec::new("https://a.example.com/", "a=${x:missing}"),
            "CALLBACK_UNDEFINED_VAR",
        ),
        (ok().with_var("x:unused", "1"), "CALLBACK_UNUSED_VAR"),
    ];
    for (spec, code) in cases {
        let err = spec.to_fields().unwrap_err();
        assert_eq!(err.code(), code, "{spec:?}: {err}");
        assert!(!err.is_verification_failure());
        assert_eq!(spec.validate().unwrap_err(), err);
    }
}

#[test]
fn validation_messages_name_the_problem() {
    let msg = |spec: CallbackSpec| spec.to_fields().unwrap_err().to_string();
    assert_eq!(
        msg(CallbackSpec::new("https://a.example.com/", "t=${mimetype}")),
        "callbackBody uses `${mimetype}`, which is not an OSS system variable (did you mean `${mimeType}`?)"
    );
    assert_eq!(
        msg(CallbackSpec::new("https://a.example.com/", "u=${x:uid}")),
        "callbackBody uses `${x:uid}` but no custom variable `x:uid` is given"
    );
    assert_eq!(
        msg(CallbackSpec::new(
            "https://a.example.com:70000/",
            "s=${size}"
        )),
        "callback URL `https://a.example.com:70000/` has an invalid port `70000`: expected a number from 1 to 65535"
    );
    assert!(msg(CallbackSpec::new("https://a.example.com/", "a=${size")).contains("at byte 2"));
    let urls: Vec<String> = (0..7)
        .map(|i| format!("https://h{i}.example.com/"))
        .collect();
    assert_eq!(
        msg(CallbackSpec::new("x", "s=${size}").with_urls(urls)),
        "callbackUrl lists 7 URLs; OSS accepts at most 5"
    );
}

#[test]
fn decoding_validates_like_the_service() {
    let enc = |json: &str| BASE64.encode(json);
    let code = |b64: &str| CallbackSpec::from_base64(b64).unwrap_err().code();
    assert_eq!(code("@@not base64@@"), "CALLBACK_NOT_BASE64");
    assert_eq!(code(&enc("not json")), "CALLBACK_NOT_JSON");
    assert_eq!(code(&enc("[1]")), "CALLBACK_NOT_JSON");
    assert_eq!(
        code(&enc(r#"{"callbackBody":"a=${size}"}"#)),
        "CALLBACK_MISSING_FIELD"
    );
    assert_eq!(
        code(&enc(r#"{"callbackUrl":"http://a/"}"#)),
        "CALLBACK_MISSING_FIELD"
    );
    assert_eq!(
        code(&enc(r#"{"callbackUrl":"http://a/","callbackBody":""}"#)),
        "CALLBACK_EMPTY_BODY"
    );
    assert_eq!(
        code(&enc(r#"{"callbackUrl":"","callbackBody":"a=${size}"}"#)),
        "CALLBACK_NO_URL"
    );
    assert_eq!(
        code(&enc(
            r#"{"callbackUrl":"http://a/;http://b/;http://c/;http://d/;http://e/;http://f/","callbackBody":"a"}"#
        )),
        "CALLBACK_TOO_MANY_URLS"
    );
    assert_eq!(
        code(&enc(
            r#"{"callbackUrl":"http://a/","callbackBody":"a","callbackBodyType":"text/xml"}"#
        )),
        "CALLBACK_BODY_TYPE"
    );
    assert_eq!(
        code(&enc(r#"{"callbackUrl":"http://a/","callbackBody":7}"#)),
        "CALLBACK_FIELD_TYPE"
    );
    assert_eq!(
        code(&enc(
            r#"{"callbackUrl":"http://a/","callbackBody":"a","callbackSNI":"yes"}"#
        )),
        "CALLBACK_FIELD_TYPE"
    );
    assert_eq!(
        code(&enc(
            r#"{"callbackUrl":"http://a/","callbackBody":"a","calbackBodyType":"application/json"}"#
        )),
        "CALLBACK_UNKNOWN_FIELD"
    );
    assert_eq!(
        code(&enc(
            r#"{"callbackUrl":"http://a/","callbackBody":"a=${imageinfo.width}"}"#
        )),
        "CALLBACK_UNKNOWN_VARIABLE"
    );

    // What the OSS docs and SDKs send decodes fine: scheme-less URL with a
    // port, pretty-printed JSON, `callbackSNI` as a JSON boolean, and the
    // custom variables only referenced (their values are separate fields).
    let spec = CallbackSpec::from_base64(&enc(
        "{\n  \"callbackUrl\": \"121.43.113.8:23456/index.html\",\n  \"callbackBody\": \"{\\\"mimeType\\\":${mimeType},\\\"v\\\":${x:var1}}\",\n  \"callbackBodyType\": \"application/json\",\n  \"callbackSNI\": false\n}",
    ))
    .unwrap();
    assert_eq!(spec.urls(), ["121.43.113.8:23456/index.html"]);
    assert_eq!(spec.body_type(), BodyType::Json);
    // Re-validating with the upload's fields catches a missing value.
    assert_eq!(
        spec.validate().unwrap_err().code(),
        "CALLBACK_UNDEFINED_VAR"
    );
    spec.clone().with_var("x:var1", "1").validate().unwrap();
}

// ---- renderer ----------------------------------------------------------------

fn facts() -> ObjectFacts {
    ObjectFacts {
        bucket: "examplebucket".into(),
        object: "用户/a b+\"q\"\\.jpg".into(),
        etag: "D8E8FCA2DC0F896FD7CB4CB0031BA249".into(),
        size: 5,
        mime_type: "image/jpeg".into(),
        client_ip: "192.0.2.1".into(),
        request_id: "5C1B138A109F4E405B2D****".into(),
        operation: "PostObject".into(),
        content_md5: Some("1B2M2Y8AsgTpgAmY7PhCfg==".into()),
        crc64: Some(18_446_744_073_709_551_615),
        image: Some(ImageInfo {
            width: 810,
            height: 539,
            format: "jpg".into(),
        }),
        vpc_id: None,
    }
}

#[test]
fn renders_form_urlencoded() {
    let vars = vec![("x:my_var".to_string(), "a&b=c ~-_.*/中".to_string())];
    let body = render_body(
        "bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}\
         &h=${imageInfo.height}&w=${imageInfo.width}&f=${imageInfo.format}&crc=${crc64}\
         &md5=${contentMd5}&ip=${clientIp}&req=${reqId}&op=${operation}&vpc=${vpcId}\
         &x:my_var=${x:my_var}&missing=${x:missing}&unknown=${nope}&bad=${oops",
        BodyType::FormUrlEncoded,
        &facts(),
        &vars,
    );
    assert_eq!(
        body,
        "bucket=examplebucket&object=%E7%94%A8%E6%88%B7%2Fa%20b%2B%22q%22%5C.jpg\
         &etag=D8E8FCA2DC0F896FD7CB4CB0031BA249&size=5&mimeType=image%2Fjpeg\
         &h=539&w=810&f=jpg&crc=18446744073709551615\
         &md5=1B2M2Y8AsgTpgAmY7PhCfg%3D%3D&ip=192.0.2.1&req=5C1B138A109F4E405B2D%2A%2A%2A%2A\
         &op=PostObject&vpc=\
         &x:my_var=a%26b%3Dc%20~-_.%2A%2F%E4%B8%AD&missing=&unknown=&bad=${oops"
    );
}

#[test]
fn renders_the_synthetic_vector_body() {
    // cb-05's body is exactly what this template renders to.
    let facts = ObjectFacts {
        bucket: "examplebucket".into(),
        object: "用户/1.jpg".into(),
        etag: "D8E8FCA2DC0F896FD7CB4CB0031BA249".into(),
        size: 5,
        mime_type: "image/jpeg".into(),
        ..ObjectFacts::default()
    };
    let spec = CallbackSpec::new(
        "https://a.example.com/",
        "bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}&x:my_var=${x:my_var}",
    );
    let body = spec.render_body(&facts, &[("x:my_var".into(), "v1".into())]);
    let all = vectors();
    let cb05 = all["callback_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "cb-05-synth-encoded-path-raw-query")
        .unwrap();
    assert_eq!(body, str_of(cb05, "body"));
}

#[test]
fn renders_json_as_oss_does() {
    // The template of the real OSS callback in cb-02/cb-03 (Cloudreve):
    // unquoted string placeholders become JSON strings, numbers stay bare.
    let facts = ObjectFacts {
        object: "1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg".into(),
        size: 114_020,
        image: Some(ImageInfo {
            width: 810,
            height: 539,
            format: "jpg".into(),
        }),
        ..ObjectFacts::default()
    };
    let vars = vec![(
        "x:fname".to_string(),
        "2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg".to_string(),
    )];
    let body = render_body(
        r#"{"name":${x:fname},"source_name":${object},"size":${size},"pic_info":"${imageInfo.width},${imageInfo.height}"}"#,
        BodyType::Json,
        &facts,
        &vars,
    );
    let all = vectors();
    let real = all["callback_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "cb-03-real-tampered-signature")
        .unwrap();
    assert_eq!(body, str_of(real, "body"));

    // A non-image: numeric image fields render empty.
    let plain = ObjectFacts {
        image: None,
        ..facts
    };
    let body = render_body(
        r#"{"pic_info":"${imageInfo.width},${imageInfo.height}","f":${imageInfo.format}}"#,
        BodyType::Json,
        &plain,
        &[],
    );
    assert_eq!(body, r#"{"pic_info":",","f":""}"#);
}

#[test]
fn renders_json_with_special_characters() {
    let vars = vec![(
        "x:note".to_string(),
        "say \"hi\"\\\n\t\u{1}€ </script>".to_string(),
    )];
    let template = r#"{"object":${object},"quoted":"${object}","note":${x:note},"in":"a ${x:note} b","size":${size},"crc":${crc64},"vpc":${vpcId},"md5":"${contentMd5}","esc":"\"${bucket}\""}"#;
    let body = render_body(template, BodyType::Json, &facts(), &vars);
    assert_eq!(
        body,
        r#"{"object":"用户/a b+\"q\"\\.jpg","quoted":"用户/a b+\"q\"\\.jpg","note":"say \"hi\"\\\n\t\u0001€ </script>","in":"a say \"hi\"\\\n\t\u0001€ </script> b","size":5,"crc":"18446744073709551615","vpc":"","md5":"1B2M2Y8AsgTpgAmY7PhCfg==","esc":"\"examplebucket\""}"#
    );
    // And it is valid JSON that round-trips the values.
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed["object"], facts().object);
    assert_eq!(parsed["note"], vars[0].1);
    assert_eq!(parsed["in"], format!("a {} b", vars[0].1));
    assert_eq!(parsed["size"], 5);
}

#[test]
fn error_codes_are_stable_and_distinct() {
    let errors = [
        CallbackError::NoUrl,
        CallbackError::TooManyUrls { count: 6 },
        CallbackError::EmptyBody,
        CallbackError::NotBase64,
        CallbackError::MissingAuthorization,
        CallbackError::MissingPubKeyUrl,
        CallbackError::HeaderNotBase64 {
            header: "authorization",
        },
        CallbackError::UntrustedKeyUrl {
            url: "http://evil/".into(),
            reason: "r".into(),
        },
        CallbackError::InvalidKeyUrlPrefix {
            prefix: "ftp://x/".into(),
            reason: "r".into(),
        },
        CallbackError::KeyFetch {
            url: "u".into(),
            reason: "r".into(),
        },
        CallbackError::InvalidPublicKey {
            url: "u".into(),
            reason: "r".into(),
        },
        CallbackError::BadSignature,
    ];
    let mut codes: Vec<&str> = errors.iter().map(CallbackError::code).collect();
    assert!(codes.iter().all(|c| c.starts_with("CALLBACK_")));
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
    assert_eq!(CallbackError::BadSignature.code(), "CALLBACK_BAD_SIGNATURE");
    assert_eq!(
        CallbackError::UntrustedKeyUrl {
            url: "x".into(),
            reason: "r".into(),
        }
        .code(),
        "CALLBACK_UNTRUSTED_KEY_URL"
    );
    let wrapped = postpolicy::Error::from(CallbackError::BadSignature);
    assert!(wrapped.to_string().contains("signature"));
    let diag: &dyn miette::Diagnostic = &CallbackError::UntrustedKeyUrl {
        url: "x".into(),
        reason: "r".into(),
    };
    assert_eq!(
        diag.code().map(|c| c.to_string()).as_deref(),
        Some("CALLBACK_UNTRUSTED_KEY_URL")
    );
    assert!(diag.help().is_some());
}
