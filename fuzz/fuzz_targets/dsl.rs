//! The policy DSL parser on arbitrary text. What parses must print as
//! canonical DSL that parses back to an equal policy and prints as itself,
//! lint without panicking, and survive the trip through policy JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postpolicy::{Expiration, Policy, dsl};
use postpolicy_fuzz::{at, wire_instant};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let policy = match dsl::parse(source) {
        Ok(policy) => policy,
        Err(errors) => {
            // Every error renders, and points inside the source.
            for error in errors.iter() {
                assert!(error.span().end <= source.len(), "{error:?}");
                assert!(!error.to_string().is_empty());
            }
            return;
        }
    };
    let canonical = dsl::print(&policy);
    let reparsed = match dsl::parse(&canonical) {
        Ok(p) => p,
        Err(e) => panic!("canonical text does not parse: {e}\n{canonical:?}"),
    };
    assert_eq!(
        reparsed, policy,
        "print→parse changed the policy\n{canonical:?}"
    );
    assert_eq!(
        dsl::print(&reparsed),
        canonical,
        "canonical text is not a fixed point"
    );

    let now = at(1_795_000_000);
    let diagnostics = policy.lint(now);

    // Policy JSON carries the same conditions and the resolved expiration.
    // The services refuse a range whose maximum is below its minimum, which
    // the DSL parses and lint reports as an error.
    // A lifetime that ends after year 9999 cannot be written: an error, and
    // lint says so too.
    let json = match policy.to_json(now) {
        Ok(json) => json,
        Err(e) => {
            assert!(
                diagnostics
                    .iter()
                    .any(|d| d.code == "expiration-out-of-range"),
                "to_json refused ({e}) what lint let through"
            );
            return;
        }
    };
    let expires = match policy.expires_at(now) {
        Ok(at) => at,
        Err(e) => panic!("to_json wrote what expires_at refuses: {e}"),
    };
    let back = match Policy::from_json(&json) {
        Ok(p) => p,
        Err(_) if diagnostics.iter().any(|d| d.code == "range-min-above-max") => return,
        Err(e) => panic!("to_json output is refused: {e}\n{json}"),
    };
    assert_eq!(back.conditions, policy.conditions, "{json}");
    assert_eq!(
        back.expiration,
        Some(Expiration::At(wire_instant(expires))),
        "{json}"
    );
});
