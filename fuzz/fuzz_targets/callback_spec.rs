//! The `callback` form field (base64 callback JSON) as the upload endpoint
//! reads it, and callback bodies rendered from templates.
//!
//! The input is three parts separated by NUL bytes: a flags byte (bit 0: the
//! field is base64, else JSON; bit 1: render the template as a JSON body)
//! followed by the field, then a body template, then `x:` variables as
//! `name=value` lines.
//!
//! Besides not panicking: a spec that decodes writes back to JSON that
//! decodes to the same spec, and a JSON body template that renders to valid
//! JSON with plain text (`x`) still does with values full of quotes,
//! backslashes and control characters (the escaping holds).

#![no_main]

use libfuzzer_sys::fuzz_target;
use postpolicy::callback::{BodyType, CallbackSpec, ImageInfo, ObjectFacts, render_body};

/// Values that need escaping in every body type.
fn nasty_facts() -> ObjectFacts {
    ObjectFacts {
        bucket: "b\"u\\c\u{1}k&e=t".to_owned(),
        object: "dir/\u{7f}\"é😀\n\t\\u0041${object}".to_owned(),
        etag: "\"E\"".to_owned(),
        size: u64::MAX,
        mime_type: "text/html; charset=\"x\"".to_owned(),
        client_ip: "::1".to_owned(),
        request_id: "\u{2028}\u{2029}".to_owned(),
        operation: "PostObject".to_owned(),
        content_md5: Some("a+b/c==".to_owned()),
        crc64: Some(u64::MAX),
        image: Some(ImageInfo {
            width: u32::MAX,
            height: 0,
            format: "\"png\"".to_owned(),
        }),
        vpc_id: Some("\\".to_owned()),
    }
}

/// The same variables with text that needs no escaping anywhere (and the
/// same numbers, which are never escaped).
fn plain_facts() -> ObjectFacts {
    let x = || "x".to_owned();
    ObjectFacts {
        bucket: x(),
        object: x(),
        etag: x(),
        size: u64::MAX,
        mime_type: x(),
        client_ip: x(),
        request_id: x(),
        operation: x(),
        content_md5: Some(x()),
        crc64: Some(u64::MAX),
        image: Some(ImageInfo {
            width: u32::MAX,
            height: 0,
            format: x(),
        }),
        vpc_id: Some(x()),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let first = parts.next().unwrap_or_default();
    let template = parts.next().unwrap_or_default();
    let vars: Vec<(String, String)> = parts
        .next()
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let (n, v) = line.split_once('=').unwrap_or((line, ""));
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let flags = first.bytes().next().unwrap_or_default();
    let field = first.get(1..).unwrap_or_default();

    let decoded = if flags & 1 != 0 {
        CallbackSpec::from_base64(field)
    } else {
        CallbackSpec::from_json(field)
    };
    let facts = nasty_facts();
    match &decoded {
        Ok(spec) => {
            let _ = spec.render_body(&facts, &vars);
            if let Ok(json) = spec.to_json() {
                match CallbackSpec::from_json(&json) {
                    Ok(back) => assert_eq!(&back, spec, "{json}"),
                    Err(e) => panic!("our callback JSON does not decode ({e}): {json}"),
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }

    let body_type = if flags & 2 != 0 {
        BodyType::Json
    } else {
        BodyType::FormUrlEncoded
    };
    let rendered = render_body(template, body_type, &facts, &vars);
    if body_type == BodyType::Json {
        let plain_vars: Vec<(String, String)> = vars
            .iter()
            .map(|(n, _)| (n.clone(), "x".to_owned()))
            .collect();
        let plain = render_body(template, body_type, &plain_facts(), &plain_vars);
        if serde_json::from_str::<serde_json::Value>(&plain).is_ok() {
            assert!(
                serde_json::from_str::<serde_json::Value>(&rendered).is_ok(),
                "renders to JSON only with plain values\n{template}\n{plain}\n{rendered}"
            );
        }
    }
});
