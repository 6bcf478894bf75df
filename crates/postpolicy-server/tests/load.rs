//! Bounded load test against a separately started `postpolicy serve`
//! (scripts/load-test.sh starts it, runs these with `--ignored`, stops it).
//!
//! - `concurrent_uploads`: 200 concurrent uploads of random sizes up to
//!   1 MiB; every one stored, every one MD5-correct, none lost.
//! - `two_gib_upload`: one 2 GiB upload generated on the fly and streamed (the
//!   client never holds it); the server's peak RSS (VmHWM) must stay under
//!   64 MiB. Throughput is printed, never asserted.
//!
//! Environment: `POSTPOLICY_OSS_URL` (the endpoint's upload URL) and, for the
//! RSS check, `POSTPOLICY_PID` (the server's process id).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use futures_util::StreamExt as _;
use md5::{Digest as _, Md5};
use postpolicy::{OssSigner, Policy, SignOptions};

const UPLOADS: usize = 200;
const MIB: u64 = 1024 * 1024;
const BIG: u64 = 2 * 1024 * MIB;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set; run scripts/load-test.sh"))
}

fn signer(url: &str) -> OssSigner {
    OssSigner::new(
        postpolicy_server::dev_credentials().unwrap(),
        "cn-hangzhou",
        "postpolicy-dev",
    )
    .unwrap()
    .with_endpoint(url)
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap()
}

/// xorshift64*: deterministic sizes and contents.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&next(&mut state).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn vm_hwm_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test: run scripts/load-test.sh"]
async fn concurrent_uploads() {
    let url = env("POSTPOLICY_OSS_URL");
    let policy = Policy::parse("content-length 0..1MiB\n").unwrap();
    let form = signer(&url)
        .sign_with(
            &policy,
            &SignOptions::default().key("load/${filename}"),
            Utc::now(),
        )
        .unwrap();
    let client = client();
    let mut seed = 0x5EED_u64;
    let files: Vec<(String, Vec<u8>)> = (0..UPLOADS)
        .map(|i| {
            let size = (next(&mut seed) % (MIB + 1)) as usize;
            (format!("file-{i:03}.bin"), random_bytes(size, i as u64 + 1))
        })
        .collect();
    let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (name, bytes) in files.iter().cloned() {
        let client = client.clone();
        let form = form.clone();
        tasks.push(tokio::spawn(async move {
            let mut multipart = reqwest::multipart::Form::new();
            for (n, v) in &form.fields {
                multipart = multipart.text(n.to_owned(), v.to_owned());
            }
            let part = reqwest::multipart::Part::bytes(bytes)
                .file_name(name)
                .mime_str("application/octet-stream")
                .unwrap();
            multipart = multipart.part("file", part);
            let response = client
                .post(&form.url)
                .multipart(multipart)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let etag = response
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, etag)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    for ((name, bytes), (status, etag)) in files.iter().zip(&answers) {
        assert_eq!(*status, 204, "{name}");
        let expected = format!("\"{}\"", hex::encode_upper(Md5::digest(bytes)));
        assert_eq!(etag.as_deref(), Some(expected.as_str()), "{name}");
    }
    // Read every object back: none lost, every byte right.
    for (name, bytes) in &files {
        let got = client
            .get(format!("{url}/load/{name}"))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status().as_u16(), 200, "{name}");
        let body = got.bytes().await.unwrap();
        assert_eq!(Md5::digest(&body), Md5::digest(bytes), "{name}");
    }
    let mb = total as f64 / 1e6;
    println!(
        "LOAD concurrent: {UPLOADS} uploads, {mb:.1} MB in {:.2} s = {:.1} MB/s, all stored and MD5-correct",
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64()
    );
    if let Ok(pid) = std::env::var("POSTPOLICY_PID")
        && let Some(kib) = vm_hwm_kib(&pid)
    {
        println!(
            "LOAD concurrent: server peak RSS (VmHWM) {:.1} MiB",
            kib as f64 / 1024.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test: run scripts/load-test.sh"]
async fn two_gib_upload() {
    let url = env("POSTPOLICY_OSS_URL");
    let pid = env("POSTPOLICY_PID");
    let policy = Policy::parse("content-length 1..5GiB\n").unwrap();
    let form = signer(&url)
        .sign_with(
            &policy,
            &SignOptions::default().key("load/two-gib.bin"),
            Utc::now(),
        )
        .unwrap();
    let before = vm_hwm_kib(&pid).expect("cannot read the server's VmHWM");

    // 2 GiB made on the fly, 1 MiB at a time, hashed as it is sent.
    let block = Arc::new(random_bytes(MIB as usize, 99));
    let md5 = Arc::new(Mutex::new(Md5::new()));
    let hasher = Arc::clone(&md5);
    let stream = futures_util::stream::iter(0..BIG / MIB).map(move |i| {
        let mut chunk = block.as_ref().clone();
        chunk[..8].copy_from_slice(&i.to_le_bytes());
        hasher.lock().unwrap().update(&chunk);
        Ok::<_, std::io::Error>(Bytes::from(chunk))
    });
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), BIG)
            .file_name("two-gib.bin")
            .mime_str("application/octet-stream")
            .unwrap();
    let mut multipart = reqwest::multipart::Form::new();
    for (n, v) in &form.fields {
        multipart = multipart.text(n.to_owned(), v.to_owned());
    }
    multipart = multipart.part("file", part);
    let started = Instant::now();
    let response = client()
        .post(&form.url)
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(response.status().as_u16(), 204);
    let digest = md5.lock().unwrap().clone().finalize();
    let expected = format!("\"{}\"", hex::encode_upper(digest));
    assert_eq!(response.headers()["etag"].to_str().unwrap(), expected);
    let head = client()
        .head(format!("{url}/load/two-gib.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        BIG.to_string()
    );

    let peak = vm_hwm_kib(&pid).expect("cannot read the server's VmHWM");
    let mb = BIG as f64 / 1e6;
    println!(
        "LOAD 2 GiB: {mb:.0} MB in {:.2} s = {:.1} MB/s; server VmHWM before {:.1} MiB, peak {:.1} MiB",
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64(),
        before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    assert!(
        peak < 64 * 1024,
        "the server's peak RSS was {peak} KiB, above 64 MiB"
    );
}
