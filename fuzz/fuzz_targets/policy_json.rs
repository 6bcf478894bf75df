//! Policy JSON and its base64 form field on arbitrary bytes.
//!
//! - The verifier's single-pass scanner must never accept a document that the
//!   tree parser (the authority) reads differently or refuses.
//! - What parses writes back as compact JSON that parses to the same
//!   conditions (through the scanner), and as DSL that parses back too.
//! - `from_base64` of the text's base64 answers exactly as `from_json`.
//! - The SIMD base64 decoder is exactly as strict as the `base64` crate.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use postpolicy::{Expiration, Policy, scan_and_tree};
use postpolicy_fuzz::{at, wire_instant};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_base64_decoder(text);

    let (scanned, tree) = scan_and_tree(text);
    if let Some(scanned) = &scanned {
        match &tree {
            Ok(tree) => {
                assert_eq!(
                    scanned, tree,
                    "scanner and tree parser disagree on {text:?}"
                );
                let now = at(0);
                assert_eq!(
                    scanned.to_json(now),
                    tree.to_json(now),
                    "field spellings differ on {text:?}"
                );
            }
            Err(e) => panic!("scanner accepts what the tree parser refuses ({e}): {text:?}"),
        }
    }
    let parsed = Policy::from_json(text);
    assert_eq!(parsed.is_ok(), tree.is_ok());

    let b64 = STANDARD.encode(text);
    assert_eq!(Policy::from_base64(&b64), parsed, "base64 path differs");

    let Ok(policy) = parsed else {
        return;
    };
    // Compact output: the scanner's shape, the same conditions.
    // A wire expiration has a four-digit year: always writable.
    let json = match policy.to_json(at(0)) {
        Ok(json) => json,
        Err(e) => panic!("a wire policy cannot be written back: {e}"),
    };
    let (rescanned, _) = scan_and_tree(&json);
    let Some(rescanned) = rescanned else {
        panic!("the scanner leaves our own output to the tree parser: {json}");
    };
    assert_eq!(rescanned.conditions, policy.conditions, "{json}");
    let expires = match policy.expires_at(at(0)) {
        Ok(at) => at,
        Err(e) => panic!("a wire expiration is out of range: {e}"),
    };
    assert_eq!(
        rescanned.expiration,
        Some(Expiration::At(wire_instant(expires))),
        "{json}"
    );

    // Every wire policy has a DSL spelling that reads back.
    let dsl = policy.to_dsl();
    match Policy::parse(&dsl) {
        Ok(back) => assert_eq!(back, policy, "wire → DSL → policy differs\n{dsl}"),
        Err(e) => panic!("the DSL of a wire policy does not parse: {e}\n{dsl:?}"),
    }
});

fn check_base64_decoder(text: &str) {
    let ours = Policy::json_from_base64(text);
    let reference = STANDARD.decode(text.trim());
    match (&ours, &reference) {
        (Ok(json), Ok(bytes)) => assert_eq!(json.as_bytes(), bytes.as_slice()),
        (Err(_), Ok(bytes)) => assert!(
            std::str::from_utf8(bytes).is_err(),
            "SIMD decoder refuses what base64 accepts: {text:?}"
        ),
        (Ok(_), Err(e)) => panic!("SIMD decoder accepts what base64 refuses ({e}): {text:?}"),
        (Err(_), Err(_)) => {}
    }
}
