//! Callback key URLs are trusted by parsed URL (issue 12, item 5).
//!
//! A callback names the URL of the key that signed it; a key URL that a
//! fetcher resolves to somewhere else than the trust check saw lets anyone
//! who can upload a PEM sign callbacks. Every refused form below is refused
//! with the key source never called.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::path::Path;

use base64::Engine as _;

use postpolicy::callback::{
    CachedKeySource, CallbackError, CallbackRequest, CallbackSigner, KEY_CACHE_CAPACITY,
    KeyUrlPolicy, verify_callback,
};

/// The throw-away callback key of the shared vectors.
fn signer() -> CallbackSigner {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/oss-signatures.json"),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn find(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::Object(map) => map
                .get("private_key_pem")
                .and_then(|p| p.as_str().map(str::to_owned))
                .or_else(|| map.values().find_map(find)),
            serde_json::Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    CallbackSigner::from_pem(&find(&json).unwrap()).unwrap()
}

/// A key source that records every URL it is asked for and serves `pem`.
struct Counting {
    pem: String,
    asked: RefCell<Vec<String>>,
}

impl Counting {
    fn new(pem: &str) -> Self {
        Self {
            pem: pem.to_owned(),
            asked: RefCell::new(Vec::new()),
        }
    }

    fn calls(&self) -> usize {
        self.asked.borrow().len()
    }
}

impl postpolicy::callback::KeySource for Counting {
    fn public_key_pem(&self, url: &str) -> Result<String, String> {
        self.asked.borrow_mut().push(url.to_owned());
        Ok(self.pem.clone())
    }
}

const BODY: &[u8] = b"bucket=b&object=o";
const WELL_KNOWN: &str = "http://127.0.0.1:8080/.well-known/postpolicy/";

/// Verifies a callback to `/cb` signed by `signer` that names `key_url`
/// (the signature covers path, query and body, not the key URL).
fn verify(
    signer: &CallbackSigner,
    key_url: &str,
    source: &dyn postpolicy::callback::KeySource,
    policy: &KeyUrlPolicy,
) -> Result<String, CallbackError> {
    // Every test signs with the vector key: one RSA signature per thread.
    thread_local! {
        static AUTHORIZATION: RefCell<Option<String>> = const { RefCell::new(None) };
    }
    let authorization = AUTHORIZATION.with(|slot| {
        slot.borrow_mut()
            .get_or_insert_with(|| signer.sign("/cb", None, BODY).unwrap())
            .clone()
    });
    let key_url_b64 = base64::engine::general_purpose::STANDARD.encode(key_url);
    let req = CallbackRequest::new(
        "POST",
        "/cb",
        None,
        [
            ("authorization", authorization.as_str()),
            ("x-oss-pub-key-url", key_url_b64.as_str()),
        ],
        BODY,
    );
    verify_callback(&req, source, policy).map(|v| v.public_key_url)
}

/// Asserts that a callback naming `key_url` is refused as untrusted under
/// `policy`, and that nothing was fetched.
fn assert_refused_unfetched(policy: &KeyUrlPolicy, key_url: &str) {
    let signer = signer();
    let source = Counting::new(signer.public_key_pem());
    let outcome = verify(&signer, key_url, &source, policy);
    assert!(
        matches!(outcome, Err(CallbackError::UntrustedKeyUrl { .. })),
        "{key_url:?}: {outcome:?}"
    );
    assert_eq!(source.calls(), 0, "{key_url:?} was fetched");
}

fn local_policy() -> KeyUrlPolicy {
    KeyUrlPolicy::default().allow(WELL_KNOWN).unwrap()
}

#[test]
fn a_key_url_inside_the_trusted_folder_verifies_and_is_fetched_as_written() {
    let signer = signer();
    let source = Counting::new(signer.public_key_pem());
    let url = format!("{WELL_KNOWN}callback_pub_key_v1.pem");
    assert_eq!(
        verify(&signer, &url, &source, &local_policy()),
        Ok(url.clone())
    );
    assert_eq!(*source.asked.borrow(), [url]);
}

#[test]
fn dot_segments_walking_out_of_the_trusted_folder_are_refused_unfetched() {
    let policy = local_policy();
    for url in [
        "http://127.0.0.1:8080/.well-known/postpolicy/../../postpolicy-dev/evil/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/./k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/..",
        "http://127.0.0.1:8080/.well-known/postpolicy/..;x/..;x/postpolicy-dev/evil/k.pem",
    ] {
        assert_refused_unfetched(&policy, url);
    }
}

#[test]
fn percent_encoded_dot_segments_are_refused_unfetched() {
    let policy = local_policy();
    for url in [
        "http://127.0.0.1:8080/.well-known/postpolicy/%2e%2e/%2e%2e/postpolicy-dev/evil/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/%2E%2E/%2E%2E/postpolicy-dev/evil/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/.%2e/.%2E/postpolicy-dev/evil/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/%2e./k.pem",
        // An encoded `/` or `\` lets a server decode its own separators.
        "http://127.0.0.1:8080/.well-known/postpolicy/..%2f..%2fpostpolicy-dev/evil/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/..%2F..%2Fpostpolicy-dev/evil/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/..%5c..%5cpostpolicy-dev/evil/k.pem",
        // Double encoding, for a server that decodes twice.
        "http://127.0.0.1:8080/.well-known/postpolicy/%252e%252e/k.pem",
        // A `%` that is no escape at all.
        "http://127.0.0.1:8080/.well-known/postpolicy/%zz.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/k.pem%",
        // An encoded control character.
        "http://127.0.0.1:8080/.well-known/postpolicy/k%0a.pem",
    ] {
        assert_refused_unfetched(&policy, url);
    }
}

#[test]
fn backslashes_are_refused_unfetched() {
    let policy = local_policy();
    for url in [
        "http://127.0.0.1:8080/.well-known/postpolicy/..\\..\\postpolicy-dev/evil/k.pem",
        "http://127.0.0.1:8080\\.well-known/postpolicy/k.pem",
    ] {
        assert_refused_unfetched(&policy, url);
    }
}

#[test]
fn a_prefix_matches_at_a_path_segment_boundary_only() {
    let policy = KeyUrlPolicy::none()
        .allow("https://k.example.com/oss")
        .unwrap();
    assert_refused_unfetched(&policy, "https://k.example.com/oss-uploads/evil.pem");
    assert_refused_unfetched(&policy, "https://k.example.com/ossevil.pem");
    assert_refused_unfetched(&policy, "https://k.example.com/evil.pem");
    assert_eq!(
        policy.check("https://k.example.com/oss/k.pem").unwrap(),
        "https://k.example.com/oss/k.pem"
    );
    // A prefix ending at the host covers the origin, not a longer port or host.
    let origin = KeyUrlPolicy::none().allow("http://127.0.0.1:8080").unwrap();
    assert_eq!(origin.prefixes(), ["http://127.0.0.1:8080/"]);
    assert_refused_unfetched(&origin, "http://127.0.0.1:80801/k.pem");
    assert_refused_unfetched(&origin, "http://127.0.0.1:8080.evil.com/k.pem");
    assert!(origin.is_trusted("http://127.0.0.1:8080/k.pem"));
}

#[test]
fn scheme_host_and_port_must_match_exactly() {
    let policy = KeyUrlPolicy::none()
        .allow("https://k.example.com/oss/")
        .unwrap();
    for url in [
        "http://k.example.com/oss/k.pem",
        "https://k.example.com:8443/oss/k.pem",
        "https://k.example.com.evil.com/oss/k.pem",
        "https://evil.com/https://k.example.com/oss/k.pem",
        "https://k.example.com./oss/k.pem",
    ] {
        assert_refused_unfetched(&policy, url);
    }
}

#[test]
fn userinfo_is_refused_unfetched() {
    let policy = local_policy();
    for url in [
        "http://127.0.0.1:8080@evil.com/.well-known/postpolicy/k.pem",
        "http://user:pw@127.0.0.1:8080/.well-known/postpolicy/k.pem",
        "http://user@127.0.0.1:8080/.well-known/postpolicy/k.pem",
        "http://@127.0.0.1:8080/.well-known/postpolicy/k.pem",
    ] {
        assert_refused_unfetched(&policy, url);
    }
}

#[test]
fn a_query_is_refused_and_a_thousand_of_them_fetch_and_cache_nothing() {
    let signer = signer();
    let policy = local_policy();
    let cache = CachedKeySource::new(Counting::new(signer.public_key_pem()));
    for i in 0..1000 {
        let url = format!("{WELL_KNOWN}callback_pub_key_v1.pem?v={i}");
        let outcome = verify(&signer, &url, &cache, &policy);
        assert!(
            matches!(outcome, Err(CallbackError::UntrustedKeyUrl { .. })),
            "{url}: {outcome:?}"
        );
    }
    assert_eq!(cache.inner().calls(), 0);
    assert_eq!(cache.len(), 0);
    assert_refused_unfetched(&policy, &format!("{WELL_KNOWN}k.pem?"));
}

#[test]
fn a_fragment_is_refused_unfetched() {
    let policy = local_policy();
    assert_refused_unfetched(&policy, &format!("{WELL_KNOWN}k.pem#x"));
    assert_refused_unfetched(&policy, &format!("{WELL_KNOWN}k.pem#"));
}

#[test]
fn forms_a_parser_would_rewrite_are_refused_unfetched() {
    let policy = local_policy();
    for url in [
        // The URL parser drops tabs and newlines.
        "http://127.0.0.1:8080/.well-known/postpolicy/k.pem\n",
        "http://127.0.0.1:8080/.well-known/post\tpolicy/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/k.pem\r\nHost: evil",
        " http://127.0.0.1:8080/.well-known/postpolicy/k.pem",
        // Upper case, a spelled-out default port, other IPv4 spellings.
        "HTTP://127.0.0.1:8080/.well-known/postpolicy/k.pem",
        "http://0x7f.0.0.1:8080/.well-known/postpolicy/k.pem",
        "http://2130706433:8080/.well-known/postpolicy/k.pem",
        "http://127.1:8080/.well-known/postpolicy/k.pem",
        "http://127.0.0.1:08080/.well-known/postpolicy/k.pem",
        // Empty segments, non-ASCII, relative, other schemes.
        "http://127.0.0.1:8080/.well-known//postpolicy/k.pem",
        "http://127.0.0.1:8080/.well-known/postpolicy/ｋ.pem",
        "//127.0.0.1:8080/.well-known/postpolicy/k.pem",
        "/.well-known/postpolicy/k.pem",
        "file:///.well-known/postpolicy/k.pem",
        "http:127.0.0.1:8080/.well-known/postpolicy/k.pem",
    ] {
        assert_refused_unfetched(&policy, url);
    }
    assert!(matches!(
        policy.check(""),
        Err(CallbackError::UntrustedKeyUrl { .. })
    ));
    let long = format!("{WELL_KNOWN}{}.pem", "a".repeat(4096));
    assert_refused_unfetched(&policy, &long);
    let oss = KeyUrlPolicy::default();
    for url in [
        "HTTP://gosspublic.alicdn.com/callback_pub_key_v1.pem",
        "http://GOSSPUBLIC.alicdn.com/callback_pub_key_v1.pem",
        "http://gosspublic.alicdn.com:80/callback_pub_key_v1.pem",
        "http://gosspublic.alicdn.com",
        "http://ｇosspublic.alicdn.com/callback_pub_key_v1.pem",
        "http://gosspublic.alicdn.com.evil.com/k.pem",
    ] {
        assert_refused_unfetched(&oss, url);
    }
}

#[test]
fn oss_key_host_is_fetched_over_https_whatever_the_header_says() {
    let signer = signer();
    let source = Counting::new(signer.public_key_pem());
    let http = "http://gosspublic.alicdn.com/callback_pub_key_v1.pem";
    let https = "https://gosspublic.alicdn.com/callback_pub_key_v1.pem";
    let policy = KeyUrlPolicy::default();
    assert_eq!(
        verify(&signer, http, &source, &policy),
        Ok(https.to_owned())
    );
    assert_eq!(
        verify(&signer, https, &source, &policy),
        Ok(https.to_owned())
    );
    assert_eq!(*source.asked.borrow(), [https, https]);
    // And the cache holds one key for both spellings.
    let cache = CachedKeySource::new(Counting::new(signer.public_key_pem()));
    verify(&signer, http, &cache, &policy).unwrap();
    verify(&signer, https, &cache, &policy).unwrap();
    assert_eq!((cache.len(), cache.inner().calls()), (1, 1));
}

#[test]
fn the_key_cache_is_bounded_and_drops_the_least_recently_used() {
    let signer = signer();
    let policy = local_policy();
    let cache = CachedKeySource::new(Counting::new(signer.public_key_pem()));
    let url = |i: usize| format!("{WELL_KNOWN}k{i}.pem");
    for i in 0..KEY_CACHE_CAPACITY + 8 {
        verify(&signer, &url(i), &cache, &policy).unwrap();
        // Key 0 stays in use, so it is never the least recently used.
        verify(&signer, &url(0), &cache, &policy).unwrap();
    }
    assert_eq!(KEY_CACHE_CAPACITY, 32);
    assert_eq!(cache.len(), KEY_CACHE_CAPACITY);
    assert_eq!(cache.inner().calls(), KEY_CACHE_CAPACITY + 8);
    // Key 0 is still cached; key 1 went first and is fetched again.
    verify(&signer, &url(0), &cache, &policy).unwrap();
    assert_eq!(cache.inner().calls(), KEY_CACHE_CAPACITY + 8);
    verify(&signer, &url(1), &cache, &policy).unwrap();
    assert_eq!(cache.inner().calls(), KEY_CACHE_CAPACITY + 9);
    assert_eq!(cache.len(), KEY_CACHE_CAPACITY);
}

#[test]
fn a_prefix_that_is_not_an_http_url_is_a_configuration_error() {
    for prefix in [
        "",
        "not a url",
        "127.0.0.1:8080/keys/",
        "/keys/",
        "ftp://k.example.com/keys/",
        "file:///etc/",
        "https://user@k.example.com/keys/",
        "https://k.example.com/keys/?v=1",
        "https://k.example.com/keys/#x",
        "https://k.example.com/keys/../other/",
        "https://k.example.com/keys/%2e%2e/",
        "https://k.example.com\\keys\\",
        "https://k.example.com/keys/\n",
        "https:///keys/",
    ] {
        let error = KeyUrlPolicy::default().allow(prefix).unwrap_err();
        assert!(
            matches!(error, CallbackError::InvalidKeyUrlPrefix { .. }),
            "{prefix:?}: {error:?}"
        );
        assert_eq!(error.code(), "CALLBACK_KEY_URL_PREFIX");
        assert!(
            error.to_string().contains("trusted key URL prefix"),
            "{error}"
        );
    }
}

#[test]
fn the_refusal_message_escapes_control_characters() {
    let error = KeyUrlPolicy::default()
        .check("http://gosspublic.alicdn.com/k.pem\n[app] POST /callback -> verified")
        .unwrap_err();
    let message = error.to_string();
    assert!(!message.contains('\n'), "{message:?}");
    assert!(message.contains("k.pem\\n[app]"), "{message:?}");
    assert!(
        message.contains("whitespace or a control character"),
        "{message}"
    );
}
