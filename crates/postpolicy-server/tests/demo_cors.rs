//! The demo application's token endpoint and CORS (`--app-cors-origin`): a
//! front end served from another port fetches its upload tokens there.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Stack;

const FRONT_END: &str = "http://localhost:5173";

#[tokio::test]
async fn configured_front_ends_may_fetch_tokens_with_their_cookies() {
    let stack =
        Stack::start_with(|c| c.app_cors_origins = vec![FRONT_END.to_owned(), "*".to_owned()])
            .await;
    let url = format!("{}upload-token", stack.server.app_url());
    assert_eq!(stack.server.app_cors_origins(), [FRONT_END, "*"]);

    let answer = stack
        .client
        .get(&url)
        .header("Origin", FRONT_END)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    assert_eq!(headers["access-control-allow-origin"], FRONT_END);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["vary"], "Origin");
    assert_eq!(headers["cache-control"], "no-store");
    let token: serde_json::Value = answer.json().await.unwrap();
    // The default policy's size range travels as a browser rule.
    let rules = token["rules"].as_array().unwrap();
    let size = rules
        .iter()
        .find(|r| r["op"] == "content-length-range")
        .unwrap();
    assert_eq!(size["max"], 10 * 1024 * 1024);
    assert_eq!(size["too_large"]["service_code"], "EntityTooLarge");

    // `*` lets any page read a token, without cookies.
    let answer = stack
        .client
        .get(&url)
        .header("Origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://elsewhere.example"
    );
    assert!(
        answer
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );

    let preflight = stack
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", FRONT_END)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], FRONT_END);
    assert_eq!(headers["access-control-allow-methods"], "GET, HEAD");
    assert_eq!(headers["access-control-allow-headers"], "authorization");
    assert_eq!(headers["access-control-allow-credentials"], "true");

    let post = stack
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", FRONT_END)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 403);
    assert!(post.headers().get("access-control-allow-origin").is_none());
    stack.server.shutdown().await;
}

#[tokio::test]
async fn without_app_cors_origins_the_token_is_for_the_demo_page_only() {
    let stack = Stack::start().await;
    let url = format!("{}upload-token", stack.server.app_url());
    let answer = stack
        .client
        .get(&url)
        .header("Origin", FRONT_END)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let preflight = stack
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", FRONT_END)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 403);
    stack.server.shutdown().await;
}

#[tokio::test]
async fn bad_app_cors_origins_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = postpolicy_server::Config::new().unwrap();
    config.oss_port = 0;
    config.app_port = 0;
    config.store = postpolicy_server::StoreSpec::Local(dir.path().to_owned());
    config.app_cors_origins = vec!["localhost:5173".to_owned()];
    let error = postpolicy_server::start(config).await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("--app-cors-origin `localhost:5173`:"),
        "{text}"
    );
}
