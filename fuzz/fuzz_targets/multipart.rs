//! The multipart form reader on arbitrary bodies and boundaries, driven by a
//! current-thread tokio runtime: `postpolicy_server::form::parse_multipart`,
//! which runs the upload endpoint's own bounded reader (`form::read_form`,
//! multer behind its byte scanner) with the default limits.
//!
//! The input is `BOUNDARY NUL BODY`, or just `BODY` (no NUL byte), in which
//! case the reader takes the boundary from the body's first line. Besides not
//! panicking: the file size it counts never exceeds the body, and the core
//! verifier judges what it read without panicking.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use postpolicy::Verifier;
use postpolicy_fuzz::at;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(
        || match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime,
            Err(e) => panic!("no tokio runtime: {e}"),
        },
    )
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        Verifier::new("examplebucket", "cn-hangzhou", |_: &str| None).allow_anonymous(true)
    })
}

fuzz_target!(|data: &[u8]| {
    let (boundary, body) = match data.iter().position(|b| *b == 0) {
        Some(at) => (
            Some(String::from_utf8_lossy(data.get(..at).unwrap_or_default()).into_owned()),
            data.get(at + 1..).unwrap_or_default(),
        ),
        None => (None, data),
    };
    let length = body.len() as u64;
    let parsed = runtime().block_on(postpolicy_server::form::parse_multipart(
        body.to_vec(),
        boundary.as_deref(),
    ));
    let Ok(submission) = parsed else {
        return;
    };
    if let Some(size) = submission.file.as_ref().and_then(|f| f.size) {
        assert!(size <= length, "file of {size} bytes in a body of {length}");
    }
    let _ = verifier().verify(&submission, at(1_795_000_000));
});
