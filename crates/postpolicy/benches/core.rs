#![allow(clippy::panic)]
//! Hot-path costs: DSL parse, OSS signing (V4 warm and cold, V1), verification,
//! and a plain reference signer to compare warm V4 signing with.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;

use base64::Engine as _;
use chrono::{DateTime, Datelike as _, TimeDelta, Timelike as _, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use postpolicy::{
    Credentials, FileInfo, OssSigner, OssVersion, Policy, SignOptions, Submission, Verifier,
};
use sha2::Sha256;

const POLICY: &str = r#"
expires in 1h
key starts-with "user/42/"
content-type in [image/png, image/jpeg]
content-length 1..10MiB
success_action_status = 201
x-oss-meta-owner = "42"
cache-control not-in [no-store]
"#;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

fn credentials() -> Credentials {
    match Credentials::new(
        "LTAI5tBenchKeyId",
        "BenchSecretKZo149BD9GLPNiDIEmdQ7d",
        None,
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn signer(version: OssVersion) -> OssSigner {
    match OssSigner::new(credentials(), "cn-hangzhou", "examplebucket") {
        Ok(s) => s.with_version(version),
        Err(e) => panic!("{e}"),
    }
}

fn policy() -> Policy {
    match Policy::parse(POLICY) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// The simplest correct V4 form signer for [`POLICY`], written the way an
/// application would without this crate: the policy JSON from fixed strings
/// and `format!`, the dates from chrono's fields, the `base64` crate,
/// HMAC-SHA256 with the derived key kept from one call to the next. No DSL,
/// no checks, no options, no browser rules: what our warm V4 signing is
/// measured against.
struct Reference {
    access_key_id: &'static str,
    /// (yyyymmdd, HMAC keyed with the derived signing key of that day).
    day_key: (String, Hmac<Sha256>),
}

impl Reference {
    const SECRET: &'static str = "BenchSecretKZo149BD9GLPNiDIEmdQ7d";

    fn new(now: DateTime<Utc>) -> Self {
        let date = now.format("%Y%m%d").to_string();
        let mac = |key: &[u8], message: &str| -> Vec<u8> {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|e| panic!("{e}"));
            mac.update(message.as_bytes());
            mac.finalize().into_bytes().to_vec()
        };
        let k_date = mac(format!("aliyun_v4{}", Self::SECRET).as_bytes(), &date);
        let k_region = mac(&k_date, "cn-hangzhou");
        let k_service = mac(&k_region, "oss");
        let k_signing = mac(&k_service, "aliyun_v4_request");
        let keyed = Hmac::<Sha256>::new_from_slice(&k_signing).unwrap_or_else(|e| panic!("{e}"));
        Self {
            access_key_id: "LTAI5tBenchKeyId",
            day_key: (date, keyed),
        }
    }

    /// The form fields, in the order our signer writes them.
    fn sign(&self, now: DateTime<Utc>) -> Vec<(String, String)> {
        let (date, key) = &self.day_key;
        let x_oss_date = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            now.year(),
            now.month(),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let end = now + TimeDelta::hours(1);
        let expiration = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            end.year(),
            end.month(),
            end.day(),
            end.hour(),
            end.minute(),
            end.second(),
            end.timestamp_subsec_millis()
        );
        let credential = format!(
            "{}/{date}/cn-hangzhou/oss/aliyun_v4_request",
            self.access_key_id
        );
        let json = format!(
            r#"{{"expiration":"{expiration}","conditions":[{{"bucket":"examplebucket"}},{{"x-oss-signature-version":"OSS4-HMAC-SHA256"}},{{"x-oss-credential":"{credential}"}},{{"x-oss-date":"{x_oss_date}"}},["starts-with","$key","user/42/"],["in","$content-type",["image/png","image/jpeg"]],["content-length-range",1,10485760],{{"success_action_status":"201"}},{{"x-oss-meta-owner":"42"}},["not-in","$cache-control",["no-store"]]]}}"#
        );
        let policy = base64::engine::general_purpose::STANDARD.encode(json);
        let mut mac = key.clone();
        mac.update(policy.as_bytes());
        let mut signature = String::with_capacity(64);
        for byte in mac.finalize().into_bytes() {
            let _ = write!(signature, "{byte:02x}");
        }
        vec![
            ("success_action_status".to_owned(), "201".to_owned()),
            ("x-oss-meta-owner".to_owned(), "42".to_owned()),
            ("policy".to_owned(), policy),
            (
                "x-oss-signature-version".to_owned(),
                "OSS4-HMAC-SHA256".to_owned(),
            ),
            ("x-oss-credential".to_owned(), credential),
            ("x-oss-date".to_owned(), x_oss_date),
            ("x-oss-signature".to_owned(), signature),
        ]
    }
}

fn benches(c: &mut Criterion) {
    c.bench_function("dsl_parse_6_conditions", |b| {
        b.iter(|| Policy::parse(black_box(POLICY)))
    });

    let policy = policy();
    let warm = signer(OssVersion::V4);
    c.bench_function("sign_v4_warm", |b| {
        b.iter(|| warm.sign(black_box(&policy), now()))
    });
    // A handler that keeps a plan of its one policy next to the signer.
    let plan = match warm.plan(&policy) {
        Ok(plan) => plan,
        Err(e) => panic!("{e}"),
    };
    c.bench_function("sign_v4_planned", |b| {
        b.iter(|| warm.sign_planned(black_box(&plan), &SignOptions::default(), now()))
    });
    // What a web handler does: sign, then write the browser's token (which
    // builds the browser rules).
    c.bench_function("sign_v4_warm_token", |b| {
        b.iter(|| warm.sign(black_box(&policy), now()).map(|f| f.to_json()))
    });
    let reference = Reference::new(now());
    match warm.sign(&policy, now()) {
        Ok(form) if form.fields == reference.sign(now()) => {}
        other => panic!("the reference must sign exactly as we do: {other:?}"),
    }
    c.bench_function("sign_v4_reference", |b| {
        b.iter(|| reference.sign(black_box(now())))
    });
    c.bench_function("sign_v4_cold", |b| {
        b.iter(|| signer(OssVersion::V4).sign(black_box(&policy), now()))
    });
    let v1 = signer(OssVersion::V1);
    c.bench_function("sign_v1", |b| b.iter(|| v1.sign(black_box(&policy), now())));

    let form = match warm.sign(&policy, now()) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    let mut fields = vec![("key".to_owned(), "user/42/cat.png".to_owned())];
    fields.extend(form.fields.to_vec().into_iter().filter(|(n, _)| n != "key"));
    fields.push(("Content-Type".to_owned(), "image/png".to_owned()));
    fields.push(("Cache-Control".to_owned(), "max-age=60".to_owned()));
    let submission = Submission {
        fields,
        fields_after_file: Vec::new(),
        file: Some(FileInfo {
            filename: "cat.png".into(),
            content_type: Some("image/png".into()),
            size: Some(12_345),
        }),
    };
    let keys: HashMap<String, String> = [(
        "LTAI5tBenchKeyId".to_owned(),
        "BenchSecretKZo149BD9GLPNiDIEmdQ7d".to_owned(),
    )]
    .into();
    let verifier = Verifier::new("examplebucket", "cn-hangzhou", keys);
    if let Err(e) = verifier.verify(&submission, now()) {
        panic!("bench form must verify: {e}");
    }
    c.bench_function("verify_v4_typical", |b| {
        b.iter(|| verifier.verify(black_box(&submission), now()))
    });
}

criterion_group!(core, benches);
criterion_main!(core);
