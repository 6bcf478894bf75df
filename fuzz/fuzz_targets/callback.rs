//! `verify_callback` on arbitrary requests, with a stub key source.
//!
//! The input is a raw request: `METHOD TARGET` on the first line, then
//! `name: value` header lines, a blank line and the body (bytes). Two
//! pseudo-headers steer the target: `x-fuzz-sign: URL` signs the request with
//! the test key and puts the signature headers (key URL `URL`) before the
//! others; `x-fuzz-pem: PEM` (with `\n` written as a backslash and `n`) is what
//! the key source serves instead of the test key's PEM.
//!
//! Besides not panicking: a request signed by the key the source serves,
//! under a trusted URL, verifies; a key URL that is not trusted never reaches
//! the key source and never verifies.

#![no_main]

use std::cell::Cell;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use postpolicy::callback::{
    CallbackRequest, CallbackSigner, KeyUrlPolicy, string_to_sign, verify_callback,
};

fn signer() -> &'static CallbackSigner {
    static SIGNER: OnceLock<CallbackSigner> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/oss-signatures.json"))
                .unwrap_or_default();
        let pem = vectors["callback"]["synthetic_test_key"]["private_key_pem"]
            .as_str()
            .unwrap_or_default();
        match CallbackSigner::from_pem(pem) {
            Ok(signer) => signer,
            Err(e) => panic!("the test key does not load: {e}"),
        }
    })
}

/// OSS's own key URLs and a local dev endpoint.
fn policy() -> &'static KeyUrlPolicy {
    static POLICY: OnceLock<KeyUrlPolicy> = OnceLock::new();
    POLICY.get_or_init(
        || match KeyUrlPolicy::default().allow("http://127.0.0.1:8080/") {
            Ok(policy) => policy,
            Err(e) => panic!("the fuzz key prefix is refused: {e}"),
        },
    )
}

fuzz_target!(|data: &[u8]| {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(at) => (
            data.get(..at).unwrap_or_default(),
            data.get(at + 2..).unwrap_or_default(),
        ),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or_default();
    let (method, rest) = first.split_once(' ').unwrap_or((first, ""));
    let target = rest.split(' ').next().unwrap_or_default();

    let mut sign_url = None;
    let mut served_pem = None;
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.trim_start();
        match name {
            "x-fuzz-sign" => sign_url = Some(value),
            "x-fuzz-pem" => served_pem = Some(value.replace("\\n", "\n")),
            _ => headers.push((name, value)),
        }
    }
    let unsigned = CallbackRequest::from_raw_path_and_query(method, target, Vec::new(), body);
    let signer = signer();
    let signed = match sign_url {
        Some(url) => match signer.headers(url, unsigned.path, unsigned.query, body) {
            Ok(headers) => headers,
            Err(e) => panic!("signing with the test key fails: {e}"),
        },
        None => Vec::new(),
    };
    let all: Vec<(&str, &str)> = signed
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(headers)
        .collect();
    let request = CallbackRequest::new(method, unsigned.path, unsigned.query, all, body);
    let _ = string_to_sign(&request);

    let fetched = Cell::new(false);
    let pem = served_pem.as_deref().unwrap_or(signer.public_key_pem());
    let source = |url: &str| -> Result<String, String> {
        fetched.set(true);
        assert!(policy().is_trusted(url), "fetched an untrusted URL {url:?}");
        Ok(pem.to_owned())
    };
    let outcome = verify_callback(&request, &source, policy());
    if let Err(e) = &outcome {
        assert!(!e.to_string().is_empty() && !e.code().is_empty());
    }
    let key_url = request
        .header("x-oss-pub-key-url")
        .and_then(|v| STANDARD.decode(v.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if !key_url.is_some_and(|url| policy().is_trusted(&url)) {
        assert!(
            !fetched.get(),
            "the key source was asked for an untrusted URL"
        );
        assert!(outcome.is_err(), "verified under an untrusted key URL");
    }
    if let Some(url) = sign_url {
        if served_pem.is_none() && policy().is_trusted(url) {
            assert!(
                outcome.is_ok(),
                "a correctly signed callback fails: {outcome:?}"
            );
        }
    }
});
