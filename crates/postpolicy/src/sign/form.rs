//! The signed form a browser needs, and the rule that keeps fields and
//! conditions from drifting apart: every exact condition yields its field, and
//! every fixed field the signer emits is also an exact condition.

use chrono::{DateTime, Utc};

use crate::error::{PolicyError, SignatureError};
use crate::policy::{Condition, Field, Policy};
use crate::wire;

/// Options for one signing call.
#[derive(Clone, Debug)]
pub struct SignOptions {
    /// The object key, or a key template ending in `${filename}` (boto3's
    /// rule: a template yields `starts-with $key <prefix>`, a plain key `eq`).
    pub key: Option<String>,
    /// The base64 `callback` field (see [`crate::callback`]).
    pub callback: Option<String>,
    /// The `x:<name>` custom callback variables.
    pub callback_vars: Vec<(String, String)>,
    /// Pin the callback and its variables in the policy (default true): an
    /// unpinned callback can be swapped by the browser.
    pub pin_callback: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            key: None,
            callback: None,
            callback_vars: Vec::new(),
            pin_callback: true,
        }
    }
}

impl SignOptions {
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn callback(
        mut self,
        callback_b64: impl Into<String>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        self.callback = Some(callback_b64.into());
        self.callback_vars = vars.into_iter().collect();
        self
    }

    pub fn pin_callback(mut self, pin: bool) -> Self {
        self.pin_callback = pin;
        self
    }
}

/// A signed upload form: POST `fields` (in this order) to `url`, with the file
/// as the **last** part, named `file` — services ignore fields after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedForm {
    pub url: String,
    pub fields: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
    /// Fields the page must still fill (under `starts-with`, `in`, `not-in`).
    pub fields_to_fill: Vec<String>,
}

impl SignedForm {
    /// The value of field `name` (ASCII case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON token for the browser:
    /// `{"url", "fields": {…in order…}, "expires_at", "fields_to_fill"}`.
    pub fn to_json(&self) -> String {
        let fields: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::json!({
            "url": self.url,
            "fields": fields,
            "expires_at": wire::format_timestamp(self.expires_at),
            "fields_to_fill": self.fields_to_fill,
        })
        .to_string()
    }
}

/// A policy made ready for one signature: the signer's own conditions first,
/// the user's after, and the fields those conditions pin.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub policy: Policy,
    pub leading_fields: Vec<(String, String)>,
    pub fields_to_fill: Vec<String>,
}

/// The canonical spelling of well-known form fields (names are
/// case-insensitive, but SDKs and docs use these).
fn canonical_name(field: &Field) -> String {
    const KNOWN: [&str; 8] = [
        "Content-Type",
        "Cache-Control",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Expires",
        "Content-MD5",
        "Content-Length",
    ];
    KNOWN
        .iter()
        .find(|k| field.is(k))
        .map_or_else(|| field.written().to_owned(), |k| (*k).to_owned())
}

/// Merges the signer's `fixed` conditions (bucket, scheme fields) with the
/// user's policy and the options, and derives the form fields.
pub(crate) fn prepare(
    policy: &Policy,
    options: &SignOptions,
    fixed: Vec<Condition>,
    emitted_by_signer: &[&str],
) -> Result<Prepared, SignatureError> {
    let mut conditions = fixed;
    let fixed_count = conditions.len();
    for (index, condition) in policy.conditions.iter().enumerate() {
        if let Condition::ContentLengthRange(range) = condition {
            if range.max < range.min {
                return Err(SignatureError::Policy(PolicyError::new(
                    "Invalid Policy: Invalid content-length-range: max must not be less than min.",
                    format!(
                        "condition {index}: content-length-range maximum {} is below minimum {}",
                        range.max, range.min
                    ),
                )));
            }
        }
        if let Condition::Eq { field, value } = condition {
            let pinned = conditions.iter().take(fixed_count).find_map(|c| match c {
                Condition::Eq { field: f, value: v } if f == field => Some(v),
                _ => None,
            });
            match pinned {
                Some(v) if v == value => continue,
                Some(v) => {
                    return Err(SignatureError::Policy(PolicyError::new(
                        "Invalid Policy: conflicting condition.",
                        format!(
                            "condition {index} requires {field} = `{value}`, but the signer sets it to `{v}`"
                        ),
                    )));
                }
                None => {}
            }
        }
        conditions.push(condition.clone());
    }
    if let Some(key) = &options.key {
        match key.strip_suffix("${filename}") {
            Some(prefix) => conditions.push(Condition::starts_with("key", prefix)),
            None => conditions.push(Condition::eq("key", key.clone())),
        }
    }
    if let Some(callback) = &options.callback {
        if options.pin_callback {
            conditions.push(Condition::eq("callback", callback.clone()));
            for (name, value) in &options.callback_vars {
                conditions.push(Condition::eq(name, value.clone()));
            }
        }
    }

    let mut leading_fields: Vec<(String, String)> = Vec::new();
    let push_field = |fields: &mut Vec<(String, String)>, name: String, value: String| {
        if !fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            fields.push((name, value));
        }
    };
    if let Some(key) = &options.key {
        push_field(&mut leading_fields, "key".to_owned(), key.clone());
    }
    for condition in &conditions {
        if let Condition::Eq { field, value } = condition {
            let signer_owned =
                field.is("bucket") || emitted_by_signer.iter().any(|name| field.is(name));
            if !signer_owned {
                push_field(&mut leading_fields, canonical_name(field), value.clone());
            }
        }
    }
    if let Some(callback) = &options.callback {
        push_field(&mut leading_fields, "callback".to_owned(), callback.clone());
        for (name, value) in &options.callback_vars {
            push_field(&mut leading_fields, name.clone(), value.clone());
        }
    }
    let mut fields_to_fill: Vec<String> = Vec::new();
    for condition in &conditions {
        if let Condition::StartsWith { field, .. }
        | Condition::In { field, .. }
        | Condition::NotIn { field, .. } = condition
        {
            let name = canonical_name(field);
            let known = leading_fields
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(&name));
            if !known && !fields_to_fill.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                fields_to_fill.push(name);
            }
        }
    }
    Ok(Prepared {
        policy: Policy::new(policy.expiration, conditions),
        leading_fields,
        fields_to_fill,
    })
}
