//! The digests `serve` computes over every uploaded byte, by the crates it
//! uses and by the ones it replaced: MD5 by OpenSSL (the server's, feature
//! `openssl-md5`) and by `md-5`'s portable code (the server's before, and its
//! fallback); CRC-64/XZ by `crc-fast` (SIMD, the server's) and by the `crc`
//! crate's slice-by-16 tables (the server's before).
//!
//! The machine this runs on is shared, so the contenders take turns, one
//! pass over 4 MiB each per round, and each one's best and median round are
//! printed (the best is the least disturbed by other work).
//! `cargo bench -p postpolicy-server --bench hashing [-- ROUNDS]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

const LEN: usize = 4 * 1024 * 1024;

fn input() -> Vec<u8> {
    // xorshift64: incompressible and deterministic.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..LEN)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect()
}

type Contender = (&'static str, Box<dyn Fn(&[u8]) -> u64>);

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(40);
    let data = input();
    static TABLE: crc::Crc<u64, crc::Table<16>> =
        crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_XZ);
    let contenders: Vec<Contender> = vec![
        (
            "md5   openssl (server)",
            Box::new(|d: &[u8]| {
                let digest = openssl::hash::hash(openssl::hash::MessageDigest::md5(), d);
                digest
                    .ok()
                    .and_then(|d| d.first().copied())
                    .map_or(0, u64::from)
            }),
        ),
        (
            "md5   md-5 portable (before)",
            Box::new(|d: &[u8]| {
                use md5::Digest as _;
                md5::Md5::digest(d).first().copied().map_or(0, u64::from)
            }),
        ),
        (
            "crc64 crc-fast (server)",
            Box::new(|d: &[u8]| crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Xz, d)),
        ),
        (
            "crc64 crc slice-by-16 (before)",
            Box::new(|d: &[u8]| TABLE.checksum(d)),
        ),
    ];
    // The same answers first: a faster wrong digest is no contender.
    {
        use md5::Digest as _;
        assert_eq!(
            openssl::hash::hash(openssl::hash::MessageDigest::md5(), &data)
                .map(|d| d.to_vec())
                .ok(),
            Some(md5::Md5::digest(&data).to_vec())
        );
        assert_eq!(
            crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Xz, &data),
            TABLE.checksum(&data)
        );
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); contenders.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in contenders.iter().enumerate() {
            let started = Instant::now();
            black_box(run(black_box(&data)));
            if let Some(t) = times.get_mut(i) {
                t.push(started.elapsed());
            }
        }
    }
    println!("{rounds} interleaved rounds of {} MiB each:", LEN >> 20);
    for ((name, _), t) in contenders.iter().zip(&mut times) {
        t.sort();
        let rate = |d: Duration| LEN as f64 / d.as_secs_f64() / 1e6;
        let best = t.first().copied().unwrap_or_default();
        let median = t.get(t.len() / 2).copied().unwrap_or_default();
        println!(
            "  {name:<32} best {:>8.0} MB/s   median {:>8.0} MB/s",
            rate(best),
            rate(median)
        );
    }
}
