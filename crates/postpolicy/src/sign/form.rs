//! The one form builder: the signed form a browser needs, and the rule that
//! keeps fields and conditions from drifting apart: every exact condition
//! yields its field, and every fixed field the signer emits is also an exact
//! condition. A dialect ([`super::Dialect`]) supplies only its own fields.

use chrono::{DateTime, Utc};

use super::Dialect;
use super::fields::FormFields;
use super::prepare::{PolicyPart, SignPlan, prepare};
use super::sigv4::StampBuf;
use crate::error::SignatureError;
use crate::policy::Policy;
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

/// Signs `policy` at `now`: every dialect's `sign_with`, and with the
/// policy's `plan` (if made for this signer) its `sign_planned`.
pub(super) fn sign<D: Dialect>(
    signer: &D,
    policy: &Policy,
    plan: Option<&SignPlan>,
    options: &SignOptions,
    now: DateTime<Utc>,
) -> Result<SignedForm, SignatureError> {
    signer.refuse(policy, options)?;
    // The stamp writes a four-digit year: check `now` before formatting it.
    let now = crate::time::check_instant(now, "`now`")?;
    let expires_at = policy.expires_at(now)?;
    let stamp = StampBuf::at(now);
    let stamp = stamp.stamp();
    let credential = signer.credential(stamp.date());
    let fixed = signer.fixed_conditions(&stamp, &credential);
    let transient;
    let part = match plan.and_then(|plan| plan.part_for(fixed.as_slice(), D::RULES)) {
        Some(part) => part,
        None => {
            transient = PolicyPart::of(policy, fixed.as_slice(), D::SIGNER_FIELDS)?;
            &transient
        }
    };
    let prepared = prepare(policy, part, options, fixed.as_slice())?;
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

/// A plan for signing `policy` many times with `signer`: every dialect's
/// `plan`. Only the names of the signer's own conditions count, so any
/// instant serves to list them.
pub(super) fn plan<D: Dialect>(signer: &D, policy: &Policy) -> Result<SignPlan, SignatureError> {
    let stamp = StampBuf::at(DateTime::<Utc>::UNIX_EPOCH);
    let stamp = stamp.stamp();
    let fixed = signer.fixed_conditions(&stamp, "");
    SignPlan::new(policy, fixed.as_slice(), D::SIGNER_FIELDS, D::RULES)
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
    let stamp = StampBuf::at(now);
    let stamp = stamp.stamp();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Condition;

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
