//! The `S3Verifier` on arbitrary forms (see `postpolicy_fuzz::form`; many are
//! validly signed). Besides not panicking, every rejection is well-formed and
//! `verify` agrees with `explain`: an accepted form has nothing to explain,
//! and a failed condition is one `explain` reports, word for word.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use postpolicy::{Policy, S3Verifier};
use postpolicy_fuzz::form::{BUCKET, Case, Dialect, S3_REGION, check_rejection, secret};

fn verifier() -> &'static S3Verifier {
    static VERIFIER: OnceLock<S3Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| S3Verifier::new(BUCKET, S3_REGION, secret))
}

fuzz_target!(|data: &[u8]| {
    let Some(Case { submission, now }) = Case::decode(data, Dialect::S3) else {
        return;
    };
    let verifier = verifier();
    let outcome = verifier.verify(&submission, now);
    let policy = submission.field("policy").map(Policy::from_base64);
    match &outcome {
        Ok(accepted) => {
            if let Some(id) = &accepted.access_key_id {
                assert!(secret(id).is_some(), "accepted for an unknown key {id}");
            }
            if let Some(Ok(policy)) = &policy {
                let failures = verifier.explain(policy, &submission, now);
                assert!(
                    failures.is_empty(),
                    "accepted, yet explain says {failures:?}"
                );
            }
        }
        Err(rejected) => {
            check_rejection(rejected, data);
            if let (Some(_), Some(Ok(policy))) = (rejected.condition_index, &policy) {
                let failures = verifier.explain(policy, &submission, now);
                assert!(
                    failures.contains(rejected),
                    "verify rejects with {rejected:?}, explain says {failures:?}"
                );
            }
        }
    }
});
