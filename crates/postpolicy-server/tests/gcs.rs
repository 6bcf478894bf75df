//! The endpoint judging Google Cloud Storage V4 forms (`serve --dialect
//! gcs`): a form our GcsSigner makes uploads over real HTTP, and forms that
//! break their policy are refused with GCS's answers.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use chrono::Utc;
use common::{Stack, xml_field};
use postpolicy::{GcsCredentials, GcsSigner, Policy, SignOptions, SignedForm};

fn credentials() -> GcsCredentials {
    GcsCredentials::hmac("GOOG1ESERVETEST", "c2VydmUtdGVzdC1zZWNyZXQ=").unwrap()
}

async fn gcs_stack() -> Stack {
    Stack::start_with(|config| config.gcs = Some(credentials())).await
}

fn sign(stack: &Stack, dsl: &str, key: &str) -> SignedForm {
    let origin = stack.server.oss_origin();
    let signer = GcsSigner::new(credentials(), "postpolicy-dev")
        .unwrap()
        .with_endpoint(&origin)
        .unwrap();
    let policy = Policy::parse(dsl).unwrap();
    signer
        .sign_with(&policy, &SignOptions::default().key(key), Utc::now())
        .unwrap()
}

#[tokio::test]
async fn a_gcs_form_uploads_and_reads_back() {
    let stack = gcs_stack().await;
    let form = sign(
        &stack,
        "content-length 1..1MiB\nx-goog-meta-owner = \"42\"\nsuccess_action_status = 201\n",
        "docs/${filename}",
    );
    assert!(form.url.ends_with("/postpolicy-dev/"), "{}", form.url);
    let response = stack
        .upload(&form, &[], "hello.txt", b"hello gcs".to_vec())
        .await;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        xml_field(&body, "Key").as_deref(),
        Some("docs/hello.txt"),
        "{body}"
    );
    let got = stack
        .client
        .get(stack.object_url("docs/hello.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), b"hello gcs".to_vec());
}

#[tokio::test]
async fn violations_get_gcs_answers() {
    let stack = gcs_stack().await;
    let form = sign(&stack, "content-length 1..8\n", "small/${filename}");

    let too_big = stack.upload(&form, &[], "big.txt", vec![b'x'; 64]).await;
    let status = too_big.status().as_u16();
    let body = too_big.text().await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        xml_field(&body, "Code").as_deref(),
        Some("EntityTooLarge"),
        "{body}"
    );

    let extra = stack
        .upload(&form, &[("submit", "Upload")], "a.txt", b"abc".to_vec())
        .await;
    let status = extra.status().as_u16();
    let body = extra.text().await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        xml_field(&body, "Code").as_deref(),
        Some("InvalidPolicyDocument"),
        "{body}"
    );
    assert!(
        body.contains("Policy did not reference these fields: submit"),
        "{body}"
    );

    let mut forged = form.clone();
    forged.fields.set("x-goog-signature", &"0".repeat(64));
    let bad = stack.upload(&forged, &[], "a.txt", b"abc".to_vec()).await;
    let status = bad.status().as_u16();
    let body = bad.text().await.unwrap();
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        xml_field(&body, "Code").as_deref(),
        Some("SignatureDoesNotMatch"),
        "{body}"
    );
    assert!(stack.objects().is_empty(), "{:?}", stack.objects());

    // An OSS form is not a GCS form: unsigned as far as GCS can tell.
    let oss_form = stack.sign("content-length 1..8\n", "oss/${filename}");
    let oss = stack.upload(&oss_form, &[], "a.txt", b"abc".to_vec()).await;
    assert_ne!(oss.status().as_u16(), 204);
}
