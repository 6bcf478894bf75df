//! The store's memory limits (`Limits::store`): uploads far larger than the
//! whole budget, many at once, all complete byte for byte within it; limits
//! no upload could work within are refused at start.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Stack, etag_of};
use postpolicy_server::{Config, StoreLimits};

const POLICY: &str = "content-length 0..10MiB\n";

fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_larger_than_the_whole_budget_complete_within_it() {
    // 64 KiB for every upload together, 16 KiB pieces, one at a time each.
    let stack = Stack::start_with(|config: &mut Config| {
        config.limits.store = StoreLimits {
            memory_bytes: 64 * 1024,
            local_write_bytes: 16 * 1024,
            writes_in_flight: 1,
            ..StoreLimits::default()
        };
    })
    .await;
    let sizes = [
        0,
        1,
        1024,
        16 * 1024,
        16 * 1024 + 1,
        40_000,
        300_000,
        1_000_000,
    ];
    let uploads = sizes.iter().enumerate().map(|(i, &len)| {
        let stack = &stack;
        async move {
            let key = format!("budget/{i}.bin");
            let form = stack.sign(POLICY, &key);
            let bytes = body(len, i as u8);
            let response = stack.upload(&form, &[], "b.bin", bytes.clone()).await;
            assert_eq!(response.status().as_u16(), 204, "{len} bytes");
            assert_eq!(
                response.headers()["etag"].to_str().unwrap(),
                etag_of(&bytes),
                "{len} bytes"
            );
            (key, bytes)
        }
    });
    let stored = futures_util::future::join_all(uploads).await;
    for (key, bytes) in &stored {
        let got = stack
            .client
            .get(stack.object_url(key))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status().as_u16(), 200, "{key}");
        assert_eq!(got.headers()["etag"].to_str().unwrap(), etag_of(bytes));
        assert_eq!(got.bytes().await.unwrap().to_vec(), *bytes, "{key}");
    }
    // One record and one blob per object: no piece or temporary left.
    assert_eq!(stack.objects().len(), sizes.len());
    assert_eq!(stack.files().len(), 2 * sizes.len(), "{:?}", stack.files());
}

#[tokio::test]
async fn limits_no_upload_could_work_within_are_refused_at_start() {
    let mut config = Config::new().unwrap();
    config.oss_port = 0;
    config.app_port = 0;
    let dir = tempfile::tempdir().unwrap();
    config.store = postpolicy_server::StoreSpec::Local(dir.path().to_owned());
    config.limits.store = StoreLimits {
        memory_bytes: 1024,
        local_write_bytes: 64 * 1024,
        ..StoreLimits::default()
    };
    let error = postpolicy_server::start(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("memory_bytes (1024) is below one write (65536 bytes)"),
        "{error}"
    );
}
