#![allow(clippy::panic)]
//! Hot-path costs: DSL parse, OSS signing (V4 warm and cold, V1), verification.

use std::collections::HashMap;
use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use postpolicy::{Credentials, FileInfo, OssSigner, OssVersion, Policy, Submission, Verifier};

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

fn benches(c: &mut Criterion) {
    c.bench_function("dsl_parse_6_conditions", |b| {
        b.iter(|| Policy::parse(black_box(POLICY)))
    });

    let policy = policy();
    let warm = signer(OssVersion::V4);
    c.bench_function("sign_v4_warm", |b| {
        b.iter(|| warm.sign(black_box(&policy), now()))
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
    fields.extend(form.fields.iter().filter(|(n, _)| n != "key").cloned());
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
