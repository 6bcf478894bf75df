//! The one form builder: the signed form a browser needs, and the rule that
//! keeps fields and conditions from drifting apart: every exact condition
//! yields its field, and every fixed field the signer emits is also an exact
//! condition. A dialect ([`super::Dialect`]) supplies only its own fields.

use chrono::{DateTime, Utc};

use super::Dialect;
use super::fields::FormFields;
use super::sigv4::Stamp;
use crate::error::{PolicyError, SignatureError};
use crate::policy::{Condition, Field, Policy};
use crate::rules::Rules;
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

    /// Adds a built callback (see [`crate::callback::CallbackSpec::to_fields`]).
    pub fn callback_fields(self, fields: crate::callback::CallbackFields) -> Self {
        self.callback(fields.callback, fields.vars)
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
    pub fields: FormFields,
    pub expires_at: DateTime<Utc>,
    /// Fields the page must still fill (under `starts-with`, `in`, `not-in`).
    pub fields_to_fill: Vec<String>,
    /// What a browser can check before it sends the file (size, key,
    /// content type), with the verifier's wording: see [`crate::rules`].
    pub rules: Rules,
}

impl SignedForm {
    /// The value of field `name` (ASCII case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name)
    }

    /// The JSON token for the browser:
    /// `{"url", "fields": {…in order…}, "expires_at", "fields_to_fill", "rules"}`.
    pub fn to_json(&self) -> String {
        let mut out =
            String::with_capacity(256 + self.fields.as_parts().0.len() + 6 * self.fields.len());
        out.push_str("{\"url\":");
        wire::push_string(&mut out, &self.url);
        out.push_str(",\"fields\":{");
        for (i, (name, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            wire::push_string(&mut out, name);
            out.push(':');
            wire::push_string(&mut out, value);
        }
        out.push_str("},\"expires_at\":\"");
        wire::push_timestamp(&mut out, self.expires_at);
        out.push_str("\",\"fields_to_fill\":[");
        for (i, name) in self.fields_to_fill.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            wire::push_string(&mut out, name);
        }
        out.push_str("],\"rules\":");
        self.rules.write_json(&mut out);
        out.push('}');
        out
    }
}

/// The form's fields, starting with `leading`, with room for the signer's
/// own: the base64 of `policy_json`, the credential and about 200 bytes.
pub(super) fn form_fields(
    leading: &[(&str, &str)],
    policy_json: &str,
    credential: &str,
) -> FormFields {
    let bytes = leading
        .iter()
        .map(|(n, v)| n.len() + v.len())
        .sum::<usize>()
        + policy_json.len().div_ceil(3) * 4
        + credential.len()
        + 200;
    let mut fields = FormFields::with_capacity(leading.len() + 7, bytes);
    for (name, value) in leading {
        fields.push(name, value);
    }
    fields
}

/// Up to five `(field, value)` exact conditions, on the stack.
#[derive(Debug, Default)]
pub(crate) struct Fixed<'s> {
    items: [(&'static str, &'s str); 5],
    len: usize,
}

impl<'s> Fixed<'s> {
    pub(crate) fn push(&mut self, name: &'static str, value: &'s str) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = (name, value);
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[(&'static str, &'s str)] {
        self.items.get(..self.len).unwrap_or_default()
    }
}

/// Signs `policy` at `now`: every dialect's `sign_with`.
pub(super) fn sign<D: Dialect>(
    signer: &D,
    policy: &Policy,
    options: &SignOptions,
    now: DateTime<Utc>,
) -> Result<SignedForm, SignatureError> {
    signer.refuse(policy, options)?;
    // The stamp writes a four-digit year: check `now` before formatting it.
    let now = crate::time::check_instant(now, "`now`")?;
    let expires_at = policy.expires_at(now)?;
    let stamp = Stamp::at(now);
    let credential = signer.credential(stamp.date());
    let fixed = signer.fixed_conditions(&stamp, &credential);
    let prepared = prepare(policy, options, fixed.as_slice(), D::SIGNER_FIELDS)?;
    let fields = prepared.with_policy_json(expires_at, |json| {
        let mut fields = form_fields(&prepared.leading_fields, json, &credential);
        signer.push_signature_fields(&mut fields, json, &stamp, &credential);
        fields
    });
    let (rules, fields_to_fill) = prepared.into_parts(D::RULES);
    Ok(SignedForm {
        url: signer.url().to_owned(),
        fields,
        expires_at,
        fields_to_fill,
        rules,
    })
}

/// Signs an exact policy text without changing a byte of it: every
/// dialect's `sign_json`. Only the signature fields come back.
pub(super) fn sign_json<D: Dialect>(
    signer: &D,
    policy_json: &str,
    now: DateTime<Utc>,
) -> Result<SignedForm, SignatureError> {
    let now = crate::time::check_instant(now, "`now`")?;
    let policy = wire::from_json(policy_json).map_err(SignatureError::Policy)?;
    let expires_at = policy.expires_at(now)?;
    let stamp = Stamp::at(now);
    let credential = signer.credential(stamp.date());
    let mut fields = form_fields(&[], policy_json, &credential);
    signer.push_signature_fields(&mut fields, policy_json, &stamp, &credential);
    Ok(SignedForm {
        url: signer.url().to_owned(),
        fields,
        expires_at,
        fields_to_fill: Vec::new(),
        rules: Rules::of(&policy.conditions, 0, D::RULES),
    })
}

/// A policy made ready for one signature: the signer's own conditions first,
/// the user's after (minus those the signer already pins), then the key and
/// callback conditions; and the fields those conditions pin.
#[derive(Debug)]
pub(crate) struct Prepared<'p, 'f> {
    /// The signer's exact conditions as (field, value), written first.
    fixed: &'f [(&'static str, &'f str)],
    policy: &'p Policy,
    /// Which of the user's conditions the signer already pins (`None`: none
    /// does, the usual case), decided once: every pass over the conditions
    /// would otherwise compare each against the signer's names again.
    pinned: Option<Vec<bool>>,
    trailing: Vec<Condition>,
    /// The pinned fields (names and values borrowed from the policy and the
    /// options), written before the signer's own.
    pub leading_fields: Vec<(&'p str, &'p str)>,
    pub fields_to_fill: Vec<String>,
}

impl<'p> Prepared<'p, '_> {
    /// The user's and the trailing conditions, in order (after `fixed`).
    pub(crate) fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.user_conditions().chain(self.trailing.iter())
    }

    /// The user's conditions, less those the signer pins.
    fn user_conditions(&self) -> impl Iterator<Item = &'p Condition> + '_ {
        let pinned = self.pinned.as_deref();
        self.policy
            .conditions
            .iter()
            .enumerate()
            .filter(move |(i, _)| !pinned.is_some_and(|p| p.get(*i).copied().unwrap_or(false)))
            .map(|(_, c)| c)
    }

    /// The browser rules and the fields to fill: the trailing conditions
    /// (the key's and the callback's, made for this call) move into the
    /// rules, where the user's are copied.
    fn into_parts(self, dialect: crate::rules::Dialect) -> (Rules, Vec<String>) {
        let mut rules = Rules::of(self.user_conditions(), self.fixed.len(), dialect);
        let offset = self.fixed.len() + self.user_conditions().count();
        rules.extend_owned(self.trailing, offset);
        (rules, self.fields_to_fill)
    }

    /// The compact policy JSON to sign.
    #[cfg(test)]
    pub fn json(&self, expires_at: DateTime<Utc>) -> String {
        let mut out = String::new();
        wire::write_json(&mut out, expires_at, self.fixed, self.conditions());
        out
    }

    /// Hands the compact policy JSON to `sign`. It is written into a
    /// per-thread buffer, since only its base64 (in the form) outlives the
    /// call.
    pub fn with_policy_json<R>(
        &self,
        expires_at: DateTime<Utc>,
        sign: impl FnOnce(&str) -> R,
    ) -> R {
        thread_local! {
            static JSON: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let write = |out: &mut String| {
            out.clear();
            wire::write_json(out, expires_at, self.fixed, self.conditions());
        };
        JSON.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffer) => {
                write(&mut buffer);
                let signed = sign(&buffer);
                if buffer.capacity() > 64 * 1024 {
                    *buffer = String::new();
                }
                signed
            }
            Err(_) => {
                let mut own = String::new();
                write(&mut own);
                sign(&own)
            }
        })
    }
}

/// The value the signer pins for an `eq` condition's field, when it does.
fn pinned_value<'f>(condition: &Condition, fixed: &[(&'static str, &'f str)]) -> Option<&'f str> {
    let Condition::Eq { field, .. } = condition else {
        return None;
    };
    fixed
        .iter()
        .find(|(name, _)| field.is(name))
        .map(|(_, v)| *v)
}

/// The canonical spelling of well-known form fields (names are
/// case-insensitive, but SDKs and docs use these).
fn canonical_name(field: &Field) -> &str {
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
        .copied()
        .unwrap_or(field.written())
}

/// The condition the `key` option adds to the signed policy: `starts-with
/// $key PREFIX` for a template ending in `${filename}` (as boto3 does), else
/// `key = KEY`.
pub(crate) fn key_condition(key: &str) -> Condition {
    match key.strip_suffix("${filename}") {
        Some(prefix) => Condition::starts_with("key", prefix),
        None => Condition::eq("key", key),
    }
}

/// Merges the signer's `fixed` conditions (bucket, scheme fields) with the
/// user's policy and the options, and derives the form fields.
pub(crate) fn prepare<'p, 'f>(
    policy: &'p Policy,
    options: &'p SignOptions,
    fixed: &'f [(&'static str, &'f str)],
    emitted_by_signer: &[&str],
) -> Result<Prepared<'p, 'f>, SignatureError> {
    let mut pinned: Option<Vec<bool>> = None;
    for (index, condition) in policy.conditions.iter().enumerate() {
        if let Condition::ContentLengthRange(range) = condition {
            range.check(index)?;
        }
        let Some(v) = pinned_value(condition, fixed) else {
            continue;
        };
        if let Condition::Eq { field, value } = condition
            && v != value.as_str()
        {
            return Err(SignatureError::Policy(PolicyError::new(
                "Invalid Policy: conflicting condition.",
                format!(
                    "condition {index} requires {field} = `{value}`, but the signer sets it to `{v}`"
                ),
            )));
        }
        let marks = pinned.get_or_insert_with(|| vec![false; policy.conditions.len()]);
        if let Some(mark) = marks.get_mut(index) {
            *mark = true;
        }
    }
    let mut prepared = Prepared {
        fixed,
        policy,
        pinned,
        trailing: Vec::new(),
        leading_fields: Vec::new(),
        fields_to_fill: Vec::new(),
    };
    if let Some(key) = &options.key {
        let condition = key_condition(key);
        // A policy that already says the same thing needs no second copy.
        if !prepared.conditions().any(|c| *c == condition) {
            prepared.trailing.push(condition);
        }
    }
    if let Some(callback) = &options.callback
        && options.pin_callback
    {
        prepared
            .trailing
            .push(Condition::eq("callback", callback.clone()));
        for (name, value) in &options.callback_vars {
            prepared.trailing.push(Condition::eq(name, value.clone()));
        }
    }

    let pinned = prepared
        .user_conditions()
        .filter(|c| matches!(c, Condition::Eq { .. }))
        .count();
    let mut leading_fields: Vec<(&'p str, &'p str)> =
        Vec::with_capacity(pinned + 2 + options.callback_vars.len());
    let push_field = |fields: &mut Vec<(&'p str, &'p str)>, name: &'p str, value: &'p str| {
        if !fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            fields.push((name, value));
        }
    };
    if let Some(key) = &options.key {
        push_field(&mut leading_fields, "key", key);
    }
    // The trailing conditions are the key's and the callback's, whose fields
    // come from the options (before and after these).
    for condition in prepared.user_conditions() {
        if let Condition::Eq { field, value } = condition {
            let signer_owned =
                field.is("bucket") || emitted_by_signer.iter().any(|name| field.is(name));
            if !signer_owned {
                push_field(&mut leading_fields, canonical_name(field), value);
            }
        }
    }
    if let Some(callback) = &options.callback {
        push_field(&mut leading_fields, "callback", callback);
        for (name, value) in &options.callback_vars {
            push_field(&mut leading_fields, name, value);
        }
    }
    let mut fields_to_fill: Vec<String> = Vec::new();
    for condition in prepared.conditions() {
        if let Condition::StartsWith { field, .. }
        | Condition::In { field, .. }
        | Condition::NotIn { field, .. } = condition
        {
            let name = canonical_name(field);
            let known = leading_fields
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name));
            if !known && !fields_to_fill.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                fields_to_fill.push(name.to_owned());
            }
        }
    }
    prepared.leading_fields = leading_fields;
    prepared.fields_to_fill = fields_to_fill;
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_template_adds_its_prefix_once() {
        let policy = Policy::new(None, vec![Condition::starts_with("key", "user/42/")]);
        let options = SignOptions::default().key("user/42/${filename}");
        let prepared = prepare(&policy, &options, &[], &[]).unwrap();
        let json = prepared.json(DateTime::from_timestamp(0, 0).unwrap());
        assert_eq!(json.matches("starts-with").count(), 1, "{json}");
        assert_eq!(
            prepared.leading_fields,
            vec![("key", "user/42/${filename}")]
        );
        let other = SignOptions::default().key("user/43/${filename}");
        let json = prepare(&policy, &other, &[], &[])
            .unwrap()
            .json(DateTime::from_timestamp(0, 0).unwrap());
        assert_eq!(json.matches("starts-with").count(), 2, "{json}");
    }

    #[test]
    fn token_json_is_valid_and_ordered() {
        let form = SignedForm {
            url: "https://b.oss-cn-hangzhou.aliyuncs.com".into(),
            fields: [("key", "user/\"q\"/${filename}"), ("policy", "e30=")]
                .into_iter()
                .collect(),
            expires_at: DateTime::from_timestamp(0, 0).unwrap(),
            fields_to_fill: vec!["Content-Type".into()],
            rules: Rules::of(
                &[Condition::content_length(1, 2)],
                4,
                crate::rules::Dialect::Oss,
            ),
        };
        let json = form.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["fields"]["key"], "user/\"q\"/${filename}");
        assert_eq!(value["expires_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(value["fields_to_fill"][0], "Content-Type");
        assert_eq!(value["rules"][0]["op"], "required");
        assert_eq!(value["rules"][1]["index"], 4);
        assert_eq!(value["rules"][1]["max"], 2);
        assert!(json.find("\"key\"").unwrap() < json.find("\"policy\"").unwrap());
    }
}
