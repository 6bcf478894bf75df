//! The dev stack's demo app refuses a forged callback whose key URL walks out
//! of the trusted `/.well-known/postpolicy/` folder to a key an attacker
//! uploaded (issue 12, item 5).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use chrono::Utc;
use postpolicy::callback::CallbackSigner;
use postpolicy::{OssSigner, Policy, SignOptions};
use postpolicy_server::{CALLBACK_KEY_PATH, Config, Server, StoreSpec};

/// The throw-away callback key of the shared vectors: the dev stack signs
/// its callbacks with it here, so the test can sign a genuine one.
fn vector_signer() -> CallbackSigner {
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

async fn start(dir: &Path) -> Server {
    let mut config = Config::new().unwrap();
    config.oss_port = 0;
    config.app_port = 0;
    config.store = StoreSpec::Local(dir.to_owned());
    config.callback_signer = Some(vector_signer());
    config.callback_timeout = Duration::from_secs(5);
    postpolicy_server::start(config).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Uploads `bytes` as object `key` through the dev endpoint, as a browser would.
async fn upload(server: &Server, key: &str, bytes: Vec<u8>) {
    let signer = OssSigner::new(
        postpolicy_server::dev_credentials().unwrap(),
        "cn-hangzhou",
        "postpolicy-dev",
    )
    .unwrap()
    .with_endpoint(&server.upload_url())
    .unwrap();
    let policy = Policy::parse("key starts-with \"evil/\"").unwrap();
    let form = signer
        .sign_with(&policy, &SignOptions::default().key(key), Utc::now())
        .unwrap();
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in form.fields.clone() {
        multipart = multipart.text(name, value);
    }
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name("k.pem")
        .mime_str("text/plain")
        .unwrap();
    let response = client()
        .post(&form.url)
        .multipart(multipart.part("file", part))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// Posts a callback to the demo app signed by `signer`, naming `key_url`.
async fn post_callback(
    server: &Server,
    signer: &CallbackSigner,
    key_url: &str,
) -> (u16, serde_json::Value) {
    let body = br#"{"bucket":"postpolicy-dev","object":"uploads/x/a.txt","etag":"E","size":1,"mimeType":"text/plain","session":"0123456789abcdef"}"#;
    let authorization = signer.sign("/callback", None, body).unwrap();
    let response = client()
        .post(format!("{}callback", server.app_url()))
        .header("authorization", authorization)
        .header(
            "x-oss-pub-key-url",
            base64::engine::general_purpose::STANDARD.encode(key_url),
        )
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn a_forged_callback_whose_key_url_walks_out_of_the_well_known_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let origin = server.oss_origin();

    // The attacker's key, uploaded as an ordinary object of the bucket.
    let attacker = postpolicy_server::generate_callback_signer().unwrap();
    upload(
        &server,
        "evil/k.pem",
        attacker.public_key_pem().as_bytes().to_vec(),
    )
    .await;
    // A fetcher that resolves dot segments (as URL parsers do) gets it.
    let walk = format!("{origin}/.well-known/postpolicy/../../postpolicy-dev/evil/k.pem");
    let fetched = client()
        .get(&walk)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(fetched.trim(), attacker.public_key_pem().trim());

    for key_url in [
        walk.clone(),
        format!("{origin}/.well-known/postpolicy/%2e%2e/%2e%2e/postpolicy-dev/evil/k.pem"),
        format!("{origin}/.well-known/postpolicy/%2E%2E/%2E%2E/postpolicy-dev/evil/k.pem"),
        format!("{origin}/.well-known/postpolicy/..%2f..%2fpostpolicy-dev/evil/k.pem"),
        format!("{origin}/postpolicy-dev/evil/k.pem"),
        format!("{origin}/.well-known/postpolicy-dev/evil/k.pem"),
        format!("{origin}/.well-known/postpolicy/callback_pub_key_v1.pem?v=1"),
    ] {
        let (status, answer) = post_callback(&server, &attacker, &key_url).await;
        assert_eq!(status, 400, "{key_url}: {answer}");
        assert_eq!(
            answer["code"], "CALLBACK_UNTRUSTED_KEY_URL",
            "{key_url}: {answer}"
        );
    }
    assert!(
        server.callbacks().is_empty(),
        "no forged callback was recorded"
    );

    // The same request signed with the dev stack's own key, naming its own
    // key URL, is accepted: the refusals above are about the key URL.
    let genuine = format!("{origin}{CALLBACK_KEY_PATH}");
    let (status, answer) = post_callback(&server, &vector_signer(), &genuine).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.callbacks().len(), 1);
    server.shutdown().await;
}
