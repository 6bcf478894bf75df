#![allow(clippy::panic, clippy::indexing_slicing)]
//! GCS signing costs: an HMAC key (warm day key) and a service account's
//! RSA-2048 key (Google's test key), on the same typical policy.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use postpolicy::{GcsCredentials, GcsSigner, Policy, ServiceAccountKey, SignOptions};

const POLICY: &str = r#"
expires in 1h
content-type starts-with "image/"
content-length 1..10MiB
success_action_status = 201
x-goog-meta-owner = "42"
"#;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

fn policy() -> Policy {
    Policy::parse(POLICY).unwrap_or_else(|e| panic!("{e}"))
}

fn service_account() -> ServiceAccountKey {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/gcs-post-policy-v4.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    let suite: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    ServiceAccountKey::from_value(&suite["service_account"]).unwrap_or_else(|e| panic!("{e}"))
}

fn benches(c: &mut Criterion) {
    let policy = policy();
    let options = SignOptions::default().key("user/42/${filename}");
    let hmac = GcsCredentials::hmac("GOOG1EBENCHACCESSID", "QmVuY2hTZWNyZXRGb3JHY3NIbWFjS2V5")
        .and_then(|c| GcsSigner::new(c, "bench-bucket"))
        .unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("gcs_sign_hmac_warm", |b| {
        b.iter(|| hmac.sign_with(black_box(&policy), &options, now()))
    });
    let rsa =
        GcsSigner::new(service_account().into(), "bench-bucket").unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("gcs_sign_rsa2048", |b| {
        b.iter(|| rsa.sign_with(black_box(&policy), &options, now()))
    });
}

criterion_group!(gcs, benches);
criterion_main!(gcs);
