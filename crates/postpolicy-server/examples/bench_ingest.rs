//! Ingest benchmark client: browser-style multipart form POSTs to several
//! upload endpoints, side by side in one run (`scripts/bench-ingest.sh`
//! starts the servers and runs this).
//!
//! ```text
//! bench_ingest --target LABEL=KIND,URL[,PID] ...   (KIND: oss or s3)
//!              [--sizes 1KiB,1MiB,64MiB] [--clients 16] [--rounds 3]
//!              [--uploads 1KiB=4000,1MiB=256,64MiB=16]
//!              [--rss LABEL=CLIENTS,SIZE ...] [--baseline LABEL]
//! ```
//!
//! - `oss`: a V4 form signed for `postpolicy serve` (its built-in development
//!   key; URL: the endpoint's upload URL, `http://127.0.0.1:PORT/<bucket>`).
//! - `s3`: a presigned POST for an S3 store (URL: `http://HOST:PORT/<bucket>`;
//!   credentials and region from `BENCH_S3_KEY_ID`, `BENCH_S3_SECRET`,
//!   `BENCH_S3_REGION`).
//!
//! Every upload sends its own bytes (a store that deduplicates gains nothing)
//! made before the timed part with their MD5, and every answer's ETag is
//! checked against that MD5; a wrong or missing ETag or a non-2xx answer is a
//! failure. Sizes and targets take turns (the first target rotates each
//! round) and each ratio is taken within one round, so load from elsewhere
//! on the machine falls on both sides of it; the table shows the median of
//! the rounds. `PID` is the server's process id: its peak RSS (VmHWM) is
//! printed. `--rss LABEL=64,64MiB` then sends that many uploads of that size
//! at once (one shared payload) and prints the peak RSS again.
//! Everything is bounded: a fixed number of uploads, a 10-minute timeout
//! per request.
//!
//! On 2 cores the client, the gateway and the store share the CPU, so each
//! run also reads the CPU time (user + system, `/proc/PID/stat`) that this
//! client, the baseline's process and the target's own process spent, per
//! upload: a second table shows where the time goes (the kernel's loopback
//! work lands mostly on the process that sends).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use md5::{Digest as _, Md5};
use postpolicy::{Credentials, OssSigner, Policy, S3Signer, SignOptions, SignedForm};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

#[derive(Clone, Debug)]
struct Target {
    label: String,
    kind: Kind,
    url: String,
    pid: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Oss,
    S3,
}

fn parse_size(text: &str) -> u64 {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("bad size `{text}`"));
    n * match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => KIB,
        "mib" | "m" => MIB,
        "gib" | "g" => 1024 * MIB,
        other => panic!("bad size unit `{other}`"),
    }
}

fn size_name(size: u64) -> String {
    if size >= MIB && size.is_multiple_of(MIB) {
        format!("{} MiB", size / MIB)
    } else if size >= KIB && size.is_multiple_of(KIB) {
        format!("{} KiB", size / KIB)
    } else {
        format!("{size} B")
    }
}

struct Args {
    targets: Vec<Target>,
    sizes: Vec<u64>,
    clients: usize,
    rounds: usize,
    uploads: HashMap<u64, usize>,
    rss: Vec<(String, usize, u64)>,
    baseline: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        targets: Vec::new(),
        sizes: vec![KIB, MIB, 64 * MIB],
        clients: 16,
        rounds: 3,
        uploads: HashMap::new(),
        rss: Vec::new(),
        baseline: None,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        let value = iter
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => {
                let (label, rest) = value
                    .split_once('=')
                    .expect("--target LABEL=KIND,URL[,PID]");
                let mut parts = rest.split(',');
                let kind = match parts.next() {
                    Some("oss") => Kind::Oss,
                    Some("s3") => Kind::S3,
                    other => panic!("--target kind {other:?}: expected oss or s3"),
                };
                let url = parts.next().expect("--target needs a URL").to_owned();
                let pid = parts.next().map(|p| p.parse().expect("PID"));
                args.targets.push(Target {
                    label: label.to_owned(),
                    kind,
                    url,
                    pid,
                });
            }
            "--sizes" => args.sizes = value.split(',').map(parse_size).collect(),
            "--clients" => args.clients = value.parse().expect("--clients N"),
            "--rounds" => args.rounds = value.parse().expect("--rounds N"),
            "--uploads" => {
                for pair in value.split(',') {
                    let (size, n) = pair.split_once('=').expect("--uploads SIZE=N,...");
                    args.uploads.insert(parse_size(size), n.parse().expect("N"));
                }
            }
            "--rss" => {
                let (label, rest) = value.split_once('=').expect("--rss LABEL=CLIENTS,SIZE");
                let (clients, size) = rest.split_once(',').expect("--rss LABEL=CLIENTS,SIZE");
                args.rss.push((
                    label.to_owned(),
                    clients.parse().expect("CLIENTS"),
                    parse_size(size),
                ));
            }
            "--baseline" => args.baseline = Some(value),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!args.targets.is_empty(), "no --target given");
    args
}

fn uploads_for(args: &Args, size: u64) -> usize {
    if let Some(n) = args.uploads.get(&size) {
        return *n;
    }
    // About 256 MiB per round, at least one per client and at most 4,000.
    let n = (256 * MIB / size.max(1)) as usize;
    n.clamp(args.clients, 4000)
}

/// The signed form of a target, with the key taken from the file name.
fn sign(target: &Target) -> SignedForm {
    let policy = Policy::parse("expires in 2h\ncontent-length 0..1GiB\n").unwrap();
    let options = SignOptions::default().key("bench/${filename}");
    match target.kind {
        Kind::Oss => OssSigner::new(
            postpolicy_server::dev_credentials().unwrap(),
            "cn-hangzhou",
            "postpolicy-dev",
        )
        .unwrap()
        .with_endpoint(&target.url)
        .unwrap()
        .sign_with(&policy, &options, Utc::now())
        .unwrap(),
        Kind::S3 => {
            let env =
                |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
            let (endpoint, bucket) = target
                .url
                .trim_end_matches('/')
                .rsplit_once('/')
                .expect("s3 URL: http://HOST:PORT/<bucket>");
            let credentials =
                Credentials::new(env("BENCH_S3_KEY_ID"), env("BENCH_S3_SECRET"), None).unwrap();
            S3Signer::new(credentials, &env("BENCH_S3_REGION"), bucket)
                .unwrap()
                .with_endpoint(endpoint)
                .unwrap()
                .with_path_style(true)
                .sign_with(&policy, &options, Utc::now())
                .unwrap()
        }
    }
}

const BOUNDARY: &str = "----postpolicyBenchBoundary7MA4YWxkTrZu0gW";

/// The form fields and the file part's head, as a browser sends them.
fn form_head(form: &SignedForm, filename: &str) -> Bytes {
    let mut head = String::new();
    for (name, value) in &form.fields {
        head.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    head.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ));
    Bytes::from(head)
}

fn form_tail() -> Bytes {
    Bytes::from(format!("\r\n--{BOUNDARY}--\r\n"))
}

/// One upload: its file name, bytes and their MD5 (upper-case hex).
struct Upload {
    name: String,
    payload: Bytes,
    md5: String,
}

/// xorshift64* bytes from `seed`.
fn fill(out: &mut [u8], seed: u64) {
    let mut state = seed | 1;
    for chunk in out.chunks_mut(8) {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// `count` distinct payloads of `size` bytes with their MD5, made on two
/// threads (before the timed part).
fn make_uploads(prefix: &str, count: usize, size: u64, seed: u64) -> Vec<Upload> {
    let make = |i: usize| {
        let mut payload = vec![0u8; size as usize];
        fill(
            &mut payload,
            seed ^ ((i as u64 + 1) * 0x9E37_79B9_7F4A_7C15),
        );
        let md5 = hex::encode_upper(Md5::digest(&payload));
        Upload {
            name: format!("{prefix}-{i:05}.bin"),
            payload: Bytes::from(payload),
            md5,
        }
    };
    let half = count / 2;
    std::thread::scope(|scope| {
        let first = scope.spawn(|| (0..half).map(make).collect::<Vec<_>>());
        let second: Vec<Upload> = (half..count).map(make).collect();
        let mut all = first.join().unwrap();
        all.extend(second);
        all
    })
}

/// Linux's `USER_HZ`, the unit of `/proc/PID/stat` times (100 on every
/// architecture this runs on).
const USER_HZ: u64 = 100;

/// User and system CPU time of a process so far, in microseconds: all its
/// threads, ended ones included.
fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (in parentheses, which may hold spaces) comes
    // field 3; utime and stime are fields 14 and 15.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / USER_HZ)
}

/// The processes whose CPU time a run of target `t` is charged with: this
/// client, the baseline's process, the target's own (when not the baseline's).
fn watched(args: &Args, t: usize) -> [Option<u32>; 3] {
    let base_pid = args
        .baseline
        .as_ref()
        .and_then(|b| args.targets.iter().find(|t| &t.label == b))
        .and_then(|t| t.pid);
    let own = args.targets[t].pid.filter(|p| Some(*p) != base_pid);
    [Some(std::process::id()), base_pid, own]
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[derive(Clone, Copy, Debug, Default)]
struct Outcome {
    uploads: usize,
    bytes: u64,
    seconds: f64,
    failures: usize,
}

impl Outcome {
    fn per_second(&self) -> f64 {
        self.uploads as f64 / self.seconds
    }
    fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
}

/// Sends every upload with `clients` at once; counts what failed.
async fn run(
    client: &reqwest::Client,
    form: &SignedForm,
    uploads: Arc<Vec<Upload>>,
    clients: usize,
    report: bool,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let tail = form_tail();
    let heads: Arc<Vec<Bytes>> =
        Arc::new(uploads.iter().map(|u| form_head(form, &u.name)).collect());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url) = (client.clone(), form.url.clone());
        let (uploads, heads, next, failures, tail) = (
            Arc::clone(&uploads),
            Arc::clone(&heads),
            Arc::clone(&next),
            Arc::clone(&failures),
            tail.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (Some(upload), Some(head)) = (uploads.get(i), heads.get(i)) else {
                    break;
                };
                let length = head.len() + upload.payload.len() + tail.len();
                let parts = [head.clone(), upload.payload.clone(), tail.clone()];
                let body = reqwest::Body::wrap_stream(futures_util::stream::iter(
                    parts.into_iter().map(Ok::<_, std::io::Error>),
                ));
                let sent = client
                    .post(&url)
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .header("content-length", length)
                    .body(body)
                    .send()
                    .await;
                let ok = match sent {
                    Ok(response) => {
                        let status = response.status();
                        let etag = response
                            .headers()
                            .get("etag")
                            .and_then(|v| v.to_str().ok())
                            .map(|v| v.trim_matches('"').to_ascii_uppercase());
                        let _ = response.bytes().await;
                        let ok =
                            status.is_success() && etag.as_deref() == Some(upload.md5.as_str());
                        if !ok && report {
                            eprintln!("  failed: {} -> {status}, ETag {etag:?}", upload.name);
                        }
                        ok
                    }
                    Err(e) => {
                        if report {
                            eprintln!("  failed: {} -> {e}", upload.name);
                        }
                        false
                    }
                };
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Outcome {
        uploads: uploads.len(),
        bytes: uploads.iter().map(|u| u.payload.len() as u64).sum(),
        seconds: started.elapsed().as_secs_f64(),
        failures: failures.load(Ordering::Relaxed),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(args));
}

async fn bench(args: Args) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(args.clients.max(64))
        .build()
        .unwrap();
    let forms: Vec<SignedForm> = args.targets.iter().map(sign).collect();
    // results[size][target] = outcome per round; cpu[size][target] = per
    // round, the CPU µs per upload of the `watched` processes.
    let mut results: Vec<Vec<Vec<Outcome>>> = Vec::new();
    let mut cpu: Vec<Vec<Vec<[Option<f64>; 3]>>> = Vec::new();
    let mut failures = 0usize;
    for (s, &size) in args.sizes.iter().enumerate() {
        let count = uploads_for(&args, size);
        println!(
            "== {}: {count} uploads per target and round, {} clients, {} rounds",
            size_name(size),
            args.clients,
            args.rounds
        );
        let mut per_target = vec![Vec::new(); args.targets.len()];
        let mut cpu_per_target = vec![Vec::new(); args.targets.len()];
        for round in 0..args.rounds {
            for k in 0..args.targets.len() {
                let t = (k + round) % args.targets.len();
                let (target, form) = (&args.targets[t], &forms[t]);
                let seed = ((s * 1000 + round) * 100 + t) as u64;
                let prefix = format!("{}-{}-r{round}", target.label, size);
                let uploads = Arc::new(
                    tokio::task::spawn_blocking(move || make_uploads(&prefix, count, size, seed))
                        .await
                        .unwrap(),
                );
                // Let the pool see connections the server closed meanwhile.
                tokio::time::sleep(Duration::from_millis(200)).await;
                let pids = watched(&args, t);
                let cpu_before = pids.map(|p| p.and_then(cpu_us));
                let outcome = run(&client, form, uploads, args.clients, true).await;
                let cpu_after = pids.map(|p| p.and_then(cpu_us));
                let mut spent = [None; 3];
                for (i, slot) in spent.iter_mut().enumerate() {
                    if let (Some(a), Some(b)) = (cpu_before[i], cpu_after[i]) {
                        *slot = Some(b.saturating_sub(a) as f64 / outcome.uploads.max(1) as f64);
                    }
                }
                failures += outcome.failures;
                let shown: Vec<String> = spent
                    .iter()
                    .flatten()
                    .map(|us| format!("{us:.0}"))
                    .collect();
                println!(
                    "   round {round} {:<14} {:>9.0} uploads/s {:>9.1} MB/s  {:>6.2} s  failures {}  CPU µs/upload {}",
                    target.label,
                    outcome.per_second(),
                    outcome.mb_per_second(),
                    outcome.seconds,
                    outcome.failures,
                    shown.join(" + ")
                );
                per_target[t].push(outcome);
                cpu_per_target[t].push(spent);
            }
        }
        results.push(per_target);
        cpu.push(cpu_per_target);
    }

    for (label, clients, size) in &args.rss {
        let Some(t) = args.targets.iter().position(|t| &t.label == label) else {
            panic!("--rss {label}: no such target");
        };
        let (target, form) = (&args.targets[t], &forms[t]);
        let before = target.pid.and_then(vm_hwm_kib);
        // One payload shared by every upload (the server sees as many
        // concurrent streams; the client holds it once).
        let shared = make_uploads(&format!("{label}-rss"), 1, *size, 4242).remove(0);
        let uploads: Vec<Upload> = (0..*clients)
            .map(|i| Upload {
                name: format!("{label}-rss-{i:03}.bin"),
                payload: shared.payload.clone(),
                md5: shared.md5.clone(),
            })
            .collect();
        let outcome = run(&client, form, Arc::new(uploads), *clients, true).await;
        failures += outcome.failures;
        let after = target.pid.and_then(vm_hwm_kib);
        println!(
            "== RSS {label}: {clients} concurrent uploads of {}: {:.1} MB/s, failures {}; peak RSS (VmHWM) {} -> {}",
            size_name(*size),
            outcome.mb_per_second(),
            outcome.failures,
            before.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            after.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        );
    }

    // The table: every target as the median of its rounds; with a baseline,
    // the others also as the median of their per-round ratios to it.
    let base = args
        .baseline
        .as_ref()
        .and_then(|b| args.targets.iter().position(|t| &t.label == b));
    println!();
    let mut header = "| size |".to_owned();
    for target in &args.targets {
        header.push_str(&format!(" {} |", target.label));
    }
    println!("{header}");
    println!("|---|{}", "---|".repeat(args.targets.len()));
    for (s, &size) in args.sizes.iter().enumerate() {
        let small = size < 64 * KIB;
        let rate = |o: &Outcome| {
            if small {
                o.per_second()
            } else {
                o.mb_per_second()
            }
        };
        let unit = if small { "uploads/s" } else { "MB/s" };
        let mut row = format!("| {} |", size_name(size));
        for (t, _) in args.targets.iter().enumerate() {
            let outcomes = &results[s][t];
            let value = median(outcomes.iter().map(rate).collect());
            match base {
                Some(b) if b != t => {
                    let ratios: Vec<f64> = outcomes
                        .iter()
                        .zip(&results[s][b])
                        .map(|(o, base)| rate(o) / rate(base))
                        .collect();
                    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = ratios.iter().copied().fold(0.0, f64::max);
                    row.push_str(&format!(
                        " {:.2}× ({lo:.2}–{hi:.2}; {value:.0} {unit}) |",
                        median(ratios)
                    ));
                }
                _ => row.push_str(&format!(" {value:.0} {unit} |")),
            }
        }
        println!("{row}");
    }
    println!();
    // Where the CPU went: the median over the rounds of each process's CPU
    // time per upload, and of their sum.
    let base_label = args.baseline.as_deref().unwrap_or("baseline");
    println!("CPU time per upload, µs (user + system, median of the rounds):");
    println!("| size | target | client | {base_label} process | target's own process | sum |");
    println!("|---|---|---|---|---|---|");
    for (s, &size) in args.sizes.iter().enumerate() {
        for (t, target) in args.targets.iter().enumerate() {
            let rounds = &cpu[s][t];
            let cell = |i: usize| {
                let values: Vec<f64> = rounds.iter().filter_map(|r| r[i]).collect();
                if values.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{:.0}", median(values))
                }
            };
            let sum = median(
                rounds
                    .iter()
                    .map(|r| r.iter().flatten().sum::<f64>())
                    .collect(),
            );
            println!(
                "| {} | {} | {} | {} | {} | {sum:.0} |",
                size_name(size),
                target.label,
                cell(0),
                cell(1),
                cell(2)
            );
        }
    }
    println!();
    for target in &args.targets {
        if let Some(kib) = target.pid.and_then(vm_hwm_kib) {
            println!(
                "peak RSS (VmHWM) of {}: {:.1} MiB",
                target.label,
                kib as f64 / 1024.0
            );
        }
    }
    let total: usize = results.iter().flatten().flatten().map(|o| o.uploads).sum();
    println!(
        "{total} timed uploads, {failures} failures (every ETag checked against the MD5 sent)"
    );
    if failures > 0 {
        std::process::exit(1);
    }
}
