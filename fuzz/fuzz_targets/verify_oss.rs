//! The OSS `Verifier` on arbitrary forms (see `postpolicy_fuzz::form` for the
//! two input shapes; many are validly signed). Besides not panicking, every
//! rejection is well-formed, and the verifier's fast path (borrowed policy
//! views from the scanner) agrees with `explain` (owned policy): an accepted
//! form has nothing to explain, and a failed condition is the first one
//! `explain` reports, word for word.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use postpolicy::{Policy, Verifier};
use postpolicy_fuzz::form::{BUCKET, Case, Dialect, OSS_REGION, check_rejection, secret};

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| Verifier::new(BUCKET, OSS_REGION, secret))
}

fuzz_target!(|data: &[u8]| {
    let Some(Case { submission, now }) = Case::decode(data, Dialect::Oss) else {
        return;
    };
    let outcome = verifier().verify(&submission, now);
    let policy = submission.field("policy").map(Policy::from_base64);
    match &outcome {
        Ok(accepted) => {
            let raw = submission.field("key").unwrap_or_default();
            let filename = submission.file.as_ref().map_or("", |f| f.filename.as_str());
            assert_eq!(accepted.key, raw.replace("${filename}", filename));
            if let Some(id) = &accepted.access_key_id {
                assert!(secret(id).is_some(), "accepted for an unknown key {id}");
            }
            if let Some(Ok(policy)) = &policy {
                let failures = verifier().explain(policy, &submission, now);
                assert!(
                    failures.is_empty(),
                    "accepted, yet explain says {failures:?}"
                );
            }
        }
        Err(rejected) => {
            check_rejection(rejected, data);
            if let (Some(_), Some(Ok(policy))) = (rejected.condition_index, &policy) {
                let failures = verifier().explain(policy, &submission, now);
                assert!(
                    failures.contains(rejected),
                    "verify rejects with {rejected:?}, explain says {failures:?}"
                );
            }
        }
    }
});
