//! The callback body OSS sends: the template with every `${…}` substituted.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::spec::BodyType;
use super::template::{self, Piece, VarRef};

/// Everything except the unreserved characters `A-Z a-z 0-9 - _ . ~`.
const FORM_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Width, height and format of an uploaded image (`${imageInfo.*}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    /// e.g. `jpg`, `png`.
    pub format: String,
}

/// What OSS knows about a stored object, i.e. the values of the system
/// variables of a callback body.
///
/// Unknown values are empty strings or `None`; they render as empty, as OSS
/// renders `${imageInfo.*}` for a non-image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectFacts {
    /// `${bucket}`
    pub bucket: String,
    /// `${object}`: the final object key.
    pub object: String,
    /// `${etag}`: as OSS sends it, upper-case hex without quotes.
    pub etag: String,
    /// `${size}`: bytes.
    pub size: u64,
    /// `${mimeType}`
    pub mime_type: String,
    /// `${clientIp}`
    pub client_ip: String,
    /// `${reqId}`: the `x-oss-request-id` of the upload.
    pub request_id: String,
    /// `${operation}`, e.g. `PostObject`.
    pub operation: String,
    /// `${contentMd5}`: base64 MD5 of the content.
    pub content_md5: Option<String>,
    /// `${crc64}`: CRC-64/ECMA as in `x-oss-hash-crc64ecma` (decimal).
    pub crc64: Option<u64>,
    /// `${imageInfo.*}`; `None` for a non-image.
    pub image: Option<ImageInfo>,
    /// `${vpcId}`; `None` when the upload did not come from a VPC.
    pub vpc_id: Option<String>,
}

/// A substituted value: text, or a number (which JSON bodies insert bare).
enum Val<'a> {
    Text(&'a str),
    Owned(String),
    Number(Option<u64>),
}

impl ObjectFacts {
    fn value(&self, name: &str) -> Val<'_> {
        let image = self.image.as_ref();
        match name {
            "bucket" => Val::Text(&self.bucket),
            "object" => Val::Text(&self.object),
            "etag" => Val::Text(&self.etag),
            "size" => Val::Number(Some(self.size)),
            "mimeType" => Val::Text(&self.mime_type),
            "imageInfo.height" => Val::Number(image.map(|i| u64::from(i.height))),
            "imageInfo.width" => Val::Number(image.map(|i| u64::from(i.width))),
            "imageInfo.format" => Val::Text(image.map_or("", |i| i.format.as_str())),
            "crc64" => Val::Owned(self.crc64.map(|c| c.to_string()).unwrap_or_default()),
            "contentMd5" => Val::Text(self.content_md5.as_deref().unwrap_or("")),
            "clientIp" => Val::Text(&self.client_ip),
            "reqId" => Val::Text(&self.request_id),
            "operation" => Val::Text(&self.operation),
            "vpcId" => Val::Text(self.vpc_id.as_deref().unwrap_or("")),
            _ => Val::Text(""),
        }
    }
}

/// Renders a callback body template as OSS sends it.
///
/// - Form-urlencoded: every substituted value is percent-encoded (all but
///   `A-Z a-z 0-9 - _ . ~`, so `/` → `%2F`, space → `%20`); the template text
///   itself is copied unchanged.
/// - JSON: a placeholder inside a JSON string of the template (`"k":"${x:v}"`)
///   gets the value JSON-escaped (`"` `\` and control characters); a
///   placeholder outside a string (`"k":${object}`, the form of the OSS
///   examples) gets a whole JSON value: a quoted string, or a bare number
///   for `${size}`, `${imageInfo.width}` and `${imageInfo.height}`.
///
/// `vars` are the upload's `x:` form fields (names with the prefix). Unknown
/// variables, missing values and malformed `${` render as OSS renders them:
/// unknown and missing as empty, malformed as literal text.
pub fn render_body(
    template: &str,
    body_type: BodyType,
    facts: &ObjectFacts,
    vars: &[(String, String)],
) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut json = JsonContext::default();
    for piece in template::parse_lenient(template) {
        match piece {
            Piece::Text(text) => {
                out.push_str(text);
                if body_type == BodyType::Json {
                    json.advance(text);
                }
            }
            Piece::Var { name, .. } => {
                let value = match template::classify(name) {
                    Ok(VarRef::System(name)) => facts.value(name),
                    Ok(VarRef::Custom(name)) => Val::Text(
                        vars.iter()
                            .find(|(k, _)| k == name)
                            .map_or("", |(_, v)| v.as_str()),
                    ),
                    Err(_) => Val::Text(""),
                };
                match body_type {
                    BodyType::FormUrlEncoded => match &value {
                        Val::Text(s) => out.extend(utf8_percent_encode(s, FORM_VALUE)),
                        Val::Owned(s) => out.extend(utf8_percent_encode(s, FORM_VALUE)),
                        Val::Number(n) => push_number(&mut out, *n),
                    },
                    BodyType::Json => push_json(&mut out, &value, json.in_string),
                }
            }
        }
    }
    out
}

fn push_number(out: &mut String, n: Option<u64>) {
    if let Some(n) = n {
        out.push_str(&n.to_string());
    }
}

fn push_json(out: &mut String, value: &Val<'_>, in_string: bool) {
    let text = match value {
        Val::Number(n) => return push_number(out, *n),
        Val::Text(s) => *s,
        Val::Owned(s) => s.as_str(),
    };
    if in_string {
        push_json_escaped(out, text);
    } else {
        out.push('"');
        push_json_escaped(out, text);
        out.push('"');
    }
}

/// Appends `s` escaped as the content of a JSON string.
fn push_json_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

/// Tracks whether the template text seen so far ends inside a JSON string.
#[derive(Default)]
struct JsonContext {
    in_string: bool,
    escaped: bool,
}

impl JsonContext {
    fn advance(&mut self, text: &str) {
        for c in text.chars() {
            if self.escaped {
                self.escaped = false;
            } else if self.in_string && c == '\\' {
                self.escaped = true;
            } else if c == '"' {
                self.in_string = !self.in_string;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escape() {
        let mut out = String::new();
        push_json_escaped(&mut out, "a\"b\\c\n\u{1}€");
        assert_eq!(out, "a\\\"b\\\\c\\n\\u0001€");
    }

    #[test]
    fn json_context() {
        let mut ctx = JsonContext::default();
        ctx.advance(r#"{"a":"x\"y"#);
        assert!(ctx.in_string);
        ctx.advance(r#"\\","b":"#);
        assert!(!ctx.in_string);
    }
}
