//! Property tests of the DSL: printing any policy and parsing the text gives
//! the same policy back (parse ∘ print = identity), and parsing never panics,
//! whatever the input. Values full of braces and `${` check that the printer
//! escapes what the parser would read as a placeholder.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chrono::{DateTime, Utc};
use postpolicy::{ByteRange, Condition, Expiration, Field, Policy, dsl};
use proptest::prelude::*;

/// Characters that stress quoting and escaping.
const TRICKY: &[char] = &[
    '"',
    '\\',
    '\n',
    '\r',
    '\t',
    '\u{0}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '#',
    ';',
    ',',
    '[',
    ']',
    ' ',
    '=',
    '$',
    'u',
    '{',
    '}',
    '.',
    'a',
    'Z',
    '0',
    'é',
    '日',
    '😀',
    '\u{a0}',
    '\u{200b}',
    '\u{202e}',
    '\u{2028}',
    '\u{3000}',
    '\u{feff}',
    '\u{fffe}',
    '\u{e000}',
    '\u{10ffff}',
];

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY), 0..12).prop_map(String::from_iter)
}

/// Text made of what placeholders, `${…}` and brace escapes are made of.
fn braces() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "{",
        "}",
        "{{",
        "}}",
        "$",
        "${",
        "{id}",
        "${filename}",
        "a",
        "_",
        "9",
        "\\",
        "\"",
        "\\u{7b}",
        " ",
    ];
    prop::collection::vec(prop::sample::select(PIECES), 0..10).prop_map(|p| p.concat())
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        tricky_string(),
        braces(),
        "[a-z0-9/._=$'-]{0,16}",
        "\\PC{0,12}",
        Just(String::new()),
    ]
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "bucket",
            "key",
            "Content-Type",
            "$Cache-Control",
            "success_action_status",
            "success_action_redirect",
            "x-oss-object-acl",
            // Statement keywords used as field names must be quoted.
            "expires",
            "content-length",
            "content-length-range",
            "Content-Length",
            "$expires",
            "in",
            "eq",
        ])
        .prop_map(str::to_owned),
        "\\$?[a-zA-Z0-9_:.-]{1,16}",
        "\\$?x-(oss|amz)-meta-[a-zA-Z0-9-]{1,10}",
        "x:[a-z_][a-z0-9_]{0,10}",
        any::<String>(),
        tricky_string(),
        braces(),
    ]
}

fn size() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..100_000,
        any::<u64>(),
        (0u64..=u64::MAX >> 10).prop_map(|n| n << 10),
        (0u64..=u64::MAX >> 20).prop_map(|n| n << 20),
        (0u64..=u64::MAX >> 30).prop_map(|n| n << 30),
        // Above the 5 GB form-upload limit.
        (5u64 << 30)..=u64::MAX,
        Just(u64::MAX),
        Just(0),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    let values = || prop::collection::vec(value(), 0..5);
    prop_oneof![
        (field_name(), value()).prop_map(|(f, v)| Condition::Eq {
            field: Field::new(&f),
            value: v,
        }),
        (field_name(), value()).prop_map(|(f, v)| Condition::StartsWith {
            field: Field::new(&f),
            prefix: v,
        }),
        (field_name(), values()).prop_map(|(f, v)| Condition::In {
            field: Field::new(&f),
            values: v,
        }),
        (field_name(), values()).prop_map(|(f, v)| Condition::NotIn {
            field: Field::new(&f),
            values: v,
        }),
        (size(), size())
            .prop_map(|(min, max)| Condition::ContentLengthRange(ByteRange { min, max })),
    ]
}

/// 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z: the years RFC 3339 can write.
const FIRST_SECOND: i64 = -62_167_219_200;
const LAST_SECOND: i64 = 253_402_300_799;

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let nanos = prop_oneof![
        Just(0u32),
        (0u32..1000).prop_map(|ms| ms * 1_000_000),
        (0u32..1_000_000).prop_map(|us| us * 1_000),
        0u32..1_000_000_000,
    ];
    let ordinary = (FIRST_SECOND..=LAST_SECOND, nanos)
        .prop_filter_map("in range", |(s, n)| DateTime::from_timestamp(s, n));
    // A leap second: the last second of a minute with nanoseconds ≥ 10⁹.
    let leap = (
        FIRST_SECOND / 60..=LAST_SECOND / 60,
        1_000_000_000u32..2_000_000_000,
    )
        .prop_filter_map("leap second", |(m, n)| {
            DateTime::from_timestamp(m * 60 + 59, n)
        });
    prop_oneof![
        8 => ordinary,
        1 => leap,
        1 => Just(DateTime::from_timestamp(FIRST_SECOND, 0).unwrap()),
        1 => Just(DateTime::from_timestamp(LAST_SECOND, 999_999_999).unwrap()),
    ]
}

fn expiration() -> impl Strategy<Value = Option<Expiration>> {
    prop_oneof![
        Just(None),
        any::<u64>().prop_map(|seconds| Some(Expiration::In { seconds })),
        (0u64..1_000_000).prop_map(|seconds| Some(Expiration::In { seconds })),
        instant().prop_map(|at| Some(Expiration::At(at))),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (expiration(), prop::collection::vec(condition(), 0..8))
        .prop_map(|(expiration, conditions)| Policy::new(expiration, conditions))
}

/// Fragments of the DSL, glued together at random.
const TOKENS: &[&str] = &[
    "expires",
    "in",
    "at",
    " in ",
    " at ",
    "EXPIRES",
    "key",
    "$key",
    "bucket",
    "x:var",
    "x-oss-meta-a",
    "content-length",
    "content-length-range",
    "content-type",
    "=",
    " = ",
    "eq",
    "starts-with",
    "not-in",
    "[",
    "]",
    ",",
    ";",
    "\n",
    "\r\n",
    "#",
    "# c\n",
    " ",
    "\t",
    "\"",
    "\"a b\"",
    "\\",
    "\\u{",
    "\\u{41}",
    "\\u{D800}",
    "\\n",
    "}",
    "{",
    "{{",
    "}}",
    "{id}",
    "\"{id}\"",
    "{9}",
    "${",
    "${filename}",
    "..",
    ".",
    "$",
    "0",
    "1",
    "10",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "B",
    "KB",
    "MiB",
    "GiB",
    "XB",
    "s",
    "m",
    "h",
    "d",
    "1h30m",
    "30m1h",
    "0s",
    "2026-12-01T00:00:00Z",
    "2026-12-01T00:00:00.5Z",
    "2026-02-30T00:00:00Z",
    "T",
    "Z",
    ":",
    "-",
    "é",
    "日本",
    "\u{0}",
    "\u{feff}",
    "\u{2028}",
    "\u{3000}",
    "\u{10ffff}",
];

fn dsl_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|tokens| tokens.concat())
}

/// Parses `source` and checks what any parse must satisfy: errors point
/// inside the source, and a policy prints to text that parses back to it.
fn check_parse(source: &str) -> Result<(), TestCaseError> {
    match dsl::parse(source) {
        Ok(policy) => {
            let printed = dsl::print(&policy);
            let reparsed = dsl::parse(&printed);
            prop_assert_eq!(reparsed.as_ref(), Ok(&policy), "printed:\n{}", printed);
            prop_assert_eq!(&dsl::print(&policy), &printed);
        }
        Err(errors) => {
            // `SyntaxErrors` is never empty by construction: check that its
            // parts agree (the first error leads the list and the message).
            prop_assert_eq!(errors.len(), errors.iter().count());
            prop_assert_eq!(errors.iter().next(), Some(errors.first()));
            prop_assert!(errors.to_string().starts_with(&errors.first().to_string()));
            for error in errors.iter() {
                let span = error.span();
                prop_assert!(
                    span.start <= span.end && span.end <= source.len(),
                    "{:?}",
                    span
                );
                prop_assert!(
                    source.is_char_boundary(span.start) && source.is_char_boundary(span.end)
                );
                prop_assert!(error.line() >= 1 && error.column() >= 1);
                prop_assert!(!error.expected().is_empty() && !error.found().is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn print_then_parse_is_identity(policy in policy()) {
        let printed = dsl::print(&policy);
        let parsed = dsl::parse(&printed);
        prop_assert!(parsed.is_ok(), "printed:\n{}\nerrors: {:?}", printed, parsed);
        let parsed = parsed.unwrap();
        prop_assert_eq!(&parsed, &policy, "printed:\n{}", printed);
        prop_assert_eq!(&dsl::print(&parsed), &printed);
        // Every condition remembers the line it was printed on.
        for (index, line) in printed.lines().skip(usize::from(policy.expiration.is_some())).enumerate() {
            let span = parsed.origin(index).unwrap();
            prop_assert_eq!(&printed[span.start..span.end], line);
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_strings(source in any::<String>()) {
        check_parse(&source)?;
    }

    #[test]
    fn parse_never_panics_on_dsl_like_text(source in dsl_soup()) {
        check_parse(&source)?;
    }

    #[test]
    fn parse_never_panics_on_edited_policies(policy in policy(), cut in any::<prop::sample::Index>(), insert in prop::sample::select(TOKENS)) {
        // A printed policy with one fragment inserted somewhere: nearly valid text.
        let mut text = dsl::print(&policy);
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert_str(at, insert);
        check_parse(&text)?;
    }
}
