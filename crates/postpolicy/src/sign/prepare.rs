//! Merging the signer's conditions with a policy and the options: which of
//! the user's conditions the signer already pins, which become form fields,
//! which the page must fill, and the conditions the options add.
//!
//! What depends on the policy alone is a [`PolicyPart`]: worked out for each
//! signature, or once for many in a [`SignPlan`], which also keeps its
//! conditions' JSON and browser rules. Either way the same code decides.

use chrono::{DateTime, Utc};

use super::form::SignOptions;
use crate::error::{PolicyError, SignatureError};
use crate::policy::{Condition, Field, Policy};
use crate::rules::{self, Rules};
use crate::wire;

/// A policy made ready for signing many forms with one signer: which of its
/// conditions the signer pins, which become form fields, their JSON and the
/// browser rules are worked out once (see `OssSigner::plan`). Each form then
/// adds only the time, the key and the callback. A plan made by another
/// signer's kind (or one with a security token where this has none) still
/// signs correctly, as if there were no plan.
#[derive(Clone, Debug)]
pub struct SignPlan {
    policy: Policy,
    part: PolicyPart,
}

impl SignPlan {
    /// The policy this plan signs.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A plan for `policy`, for a signer whose own exact conditions are
    /// `fixed` (only their names count), who writes `emitted` fields itself
    /// and whose verifier words the rules as `dialect`'s.
    pub(crate) fn new(
        policy: &Policy,
        fixed: &[(&'static str, &str)],
        emitted: &[&str],
        dialect: rules::Dialect,
    ) -> Result<Self, SignatureError> {
        let mut part = PolicyPart::of(policy, fixed, emitted)?;
        let mut json = String::new();
        wire::write_conditions(&mut json, part.user_conditions(policy));
        let rules = Rules::of(part.user_conditions(policy), fixed.len(), dialect);
        part.kept = Some(Box::new(Kept {
            fixed: fixed.iter().map(|(name, _)| *name).collect(),
            dialect,
            json,
            rules,
        }));
        Ok(Self {
            policy: policy.clone(),
            part,
        })
    }

    /// The plan's part, when it was made for a signer like this one: the
    /// same own conditions and wording, which tell the kinds of signer
    /// apart (each kind writes its own fields), else `None` and the caller
    /// works one out.
    pub(crate) fn part_for(
        &self,
        fixed: &[(&'static str, &str)],
        dialect: rules::Dialect,
    ) -> Option<&PolicyPart> {
        let kept = self.part.kept.as_ref()?;
        let same = kept.dialect == dialect
            && kept.fixed.len() == fixed.len()
            && kept.fixed.iter().zip(fixed).all(|(a, (b, _))| a == b);
        same.then_some(&self.part)
    }
}

/// Condition indices: the first 64 inline (every usual policy), the rest
/// in words on the heap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Marks {
    low: u64,
    high: Vec<u64>,
}

impl Marks {
    fn set(&mut self, index: usize) {
        let bit = 1u64 << (index % 64);
        match index.checked_sub(64) {
            None => self.low |= bit,
            Some(rest) => {
                let word = rest / 64;
                if self.high.len() <= word {
                    self.high.resize(word + 1, 0);
                }
                if let Some(w) = self.high.get_mut(word) {
                    *w |= bit;
                }
            }
        }
    }

    fn has(&self, index: usize) -> bool {
        let bit = 1u64 << (index % 64);
        match index.checked_sub(64) {
            None => self.low & bit != 0,
            Some(rest) => self.high.get(rest / 64).is_some_and(|w| w & bit != 0),
        }
    }

    fn is_empty(&self) -> bool {
        self.low == 0 && self.high.iter().all(|w| *w == 0)
    }
}

/// What a signature takes from the policy's conditions alone, given the
/// names of the signer's own exact conditions.
#[derive(Clone, Debug, Default)]
pub(crate) struct PolicyPart {
    /// The user's `eq` conditions on a field the signer sets itself: checked
    /// against the signer's values at each signature, then left out.
    pinned: Marks,
    /// The other `eq` conditions: each pins a form field (the first of
    /// each name, when several do).
    leading: Marks,
    /// The conditions on a field the page may have to fill (`starts-with`,
    /// `in`, `not-in`), unless an `eq` pins it.
    fill: Marks,
    /// How many of the user's conditions are not pinned.
    count: usize,
    /// A plan's own: what it was made for, and what it wrote once.
    kept: Option<Box<Kept>>,
}

#[derive(Clone, Debug)]
struct Kept {
    fixed: Vec<&'static str>,
    dialect: rules::Dialect,
    json: String,
    rules: Rules,
}

impl PolicyPart {
    /// The part of `policy` for a signer whose own exact conditions are
    /// `fixed` (only their names count here) and who writes `emitted`.
    pub(crate) fn of(
        policy: &Policy,
        fixed: &[(&'static str, &str)],
        emitted: &[&str],
    ) -> Result<Self, SignatureError> {
        let mut part = PolicyPart::default();
        for (index, condition) in policy.conditions.iter().enumerate() {
            match condition {
                Condition::ContentLengthRange(range) => {
                    range.check(index)?;
                }
                Condition::Eq { field, .. } => {
                    if fixed.iter().any(|(name, _)| field.is(name)) {
                        part.pinned.set(index);
                        continue;
                    }
                    if part_leading(field, emitted) {
                        part.leading.set(index);
                    }
                }
                Condition::StartsWith { .. } | Condition::In { .. } | Condition::NotIn { .. } => {
                    part.fill.set(index);
                }
            }
            part.count += 1;
        }
        Ok(part)
    }

    /// The user's conditions, less those the signer pins.
    #[inline]
    fn user_conditions<'p>(&self, policy: &'p Policy) -> impl Iterator<Item = &'p Condition> {
        let pinned = (!self.pinned.is_empty()).then_some(&self.pinned);
        policy
            .conditions
            .iter()
            .enumerate()
            .filter(move |(i, _)| !pinned.is_some_and(|p| p.has(*i)))
            .map(|(_, c)| c)
    }
}

/// Whether an `eq` condition on `field` becomes a form field: not when the
/// signer writes that field itself.
fn part_leading(field: &Field, emitted: &[&str]) -> bool {
    !(field.is("bucket") || emitted.iter().any(|name| field.is(name)))
}

/// The field a condition leaves to the page, in its canonical spelling.
fn fill_name(condition: &Condition) -> Option<&str> {
    match condition {
        Condition::StartsWith { field, .. }
        | Condition::In { field, .. }
        | Condition::NotIn { field, .. } => Some(canonical_name(field)),
        _ => None,
    }
}

/// A policy made ready for one signature: the signer's own conditions first,
/// the user's after (minus those the signer already pins), then the key and
/// callback conditions; and the fields those conditions pin.
#[derive(Debug)]
pub(crate) struct Prepared<'p, 'f> {
    /// The signer's exact conditions as (field, value), written first.
    fixed: &'f [(&'static str, &'f str)],
    policy: &'p Policy,
    part: &'p PolicyPart,
    /// The condition the key option adds (if the policy lacks it), then the
    /// callback's: apart, so that the usual call allocates no list.
    key: Option<Condition>,
    callback: Vec<Condition>,
    /// The pinned fields (names and values borrowed from the policy and the
    /// options), written before the signer's own.
    pub leading_fields: Vec<(&'p str, &'p str)>,
    pub fields_to_fill: Vec<String>,
}

impl<'p> Prepared<'p, '_> {
    /// The user's and the trailing conditions, in order (after `fixed`).
    #[inline]
    pub(crate) fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.part
            .user_conditions(self.policy)
            .chain(self.trailing())
    }

    /// The conditions made for this call, after the user's.
    fn trailing(&self) -> impl Iterator<Item = &Condition> {
        self.key.iter().chain(self.callback.iter())
    }

    /// The browser rules and the fields to fill: the trailing conditions
    /// (the key's and the callback's, made for this call) move into the
    /// rules, where the user's are copied (or a plan's cloned).
    pub(crate) fn into_parts(self, dialect: rules::Dialect) -> (Rules, Vec<String>) {
        let mut rules = match &self.part.kept {
            Some(kept) => kept.rules.clone_with_room(self.trailing().count()),
            None => Rules::of(
                self.part.user_conditions(self.policy),
                self.fixed.len(),
                dialect,
            ),
        };
        let trailing = self.key.into_iter().chain(self.callback);
        rules.extend_owned(trailing, self.fixed.len() + self.part.count);
        (rules, self.fields_to_fill)
    }

    /// The compact policy JSON to sign.
    #[cfg(test)]
    pub fn json(&self, expires_at: DateTime<Utc>) -> String {
        let mut out = String::new();
        self.write_json(&mut out, expires_at);
        out
    }

    fn write_json(&self, out: &mut String, expires_at: DateTime<Utc>) {
        match &self.part.kept {
            Some(kept) => {
                wire::write_json_after(out, expires_at, self.fixed, &kept.json, self.trailing())
            }
            None => wire::write_json(out, expires_at, self.fixed, self.conditions()),
        }
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
            self.write_json(out, expires_at);
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
    let field = Field::known("key");
    match key.strip_suffix("${filename}") {
        Some(prefix) => Condition::StartsWith {
            field,
            prefix: prefix.to_owned(),
        },
        None => Condition::Eq {
            field,
            value: key.to_owned(),
        },
    }
}

/// Merges the signer's `fixed` conditions (bucket, scheme fields) with the
/// user's policy and the options, and derives the form fields. `part` is
/// the policy's, worked out for this call or kept in a plan.
pub(crate) fn prepare<'p, 'f>(
    policy: &'p Policy,
    part: &'p PolicyPart,
    options: &'p SignOptions,
    fixed: &'f [(&'static str, &'f str)],
) -> Result<Prepared<'p, 'f>, SignatureError> {
    check_pinned(policy, part, fixed)?;
    let mut prepared = Prepared {
        fixed,
        policy,
        part,
        key: None,
        callback: Vec::new(),
        leading_fields: Vec::new(),
        fields_to_fill: Vec::new(),
    };
    if let Some(key) = &options.key {
        let condition = key_condition(key);
        // A policy that already says the same thing needs no second copy.
        if !prepared.conditions().any(|c| *c == condition) {
            prepared.key = Some(condition);
        }
    }
    if let Some(callback) = &options.callback
        && options.pin_callback
    {
        prepared
            .callback
            .push(Condition::eq("callback", callback.clone()));
        for (name, value) in &options.callback_vars {
            prepared.callback.push(Condition::eq(name, value.clone()));
        }
    }

    let mut leading_fields: Vec<(&'p str, &'p str)> =
        Vec::with_capacity(prepared.part.count + 2 + options.callback_vars.len());
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
    for (index, condition) in policy.conditions.iter().enumerate() {
        if let Condition::Eq { field, value } = condition
            && prepared.part.leading.has(index)
        {
            push_field(&mut leading_fields, canonical_name(field), value);
        }
    }
    if let Some(callback) = &options.callback {
        push_field(&mut leading_fields, "callback", callback);
        for (name, value) in &options.callback_vars {
            push_field(&mut leading_fields, name, value);
        }
    }
    let mut fields_to_fill: Vec<String> = Vec::new();
    if !prepared.part.fill.is_empty() {
        for (index, condition) in policy.conditions.iter().enumerate() {
            let Some(name) = fill_name(condition).filter(|_| prepared.part.fill.has(index)) else {
                continue;
            };
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

/// Refuses a policy whose `eq` condition on one of the signer's own fields
/// asks for another value than the signer sets.
fn check_pinned(
    policy: &Policy,
    part: &PolicyPart,
    fixed: &[(&'static str, &str)],
) -> Result<(), SignatureError> {
    if part.pinned.is_empty() {
        return Ok(());
    }
    for (index, condition) in policy.conditions.iter().enumerate() {
        let Condition::Eq { field, value } = condition else {
            continue;
        };
        if !part.pinned.has(index) {
            continue;
        }
        let Some((_, v)) = fixed.iter().find(|(name, _)| field.is(name)) else {
            continue;
        };
        if *v != value.as_str() {
            return Err(SignatureError::Policy(PolicyError::new(
                "Invalid Policy: conflicting condition.",
                format!(
                    "condition {index} requires {field} = `{value}`, but the signer sets it to `{v}`"
                ),
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_template_adds_its_prefix_once() {
        let policy = Policy::new(None, vec![Condition::starts_with("key", "user/42/")]);
        let options = SignOptions::default().key("user/42/${filename}");
        let part = PolicyPart::of(&policy, &[], &[]).unwrap();
        let prepared = prepare(&policy, &part, &options, &[]).unwrap();
        let json = prepared.json(DateTime::from_timestamp(0, 0).unwrap());
        assert_eq!(json.matches("starts-with").count(), 1, "{json}");
        assert_eq!(
            prepared.leading_fields,
            vec![("key", "user/42/${filename}")]
        );
        let other = SignOptions::default().key("user/43/${filename}");
        let json = prepare(&policy, &part, &other, &[])
            .unwrap()
            .json(DateTime::from_timestamp(0, 0).unwrap());
        assert_eq!(json.matches("starts-with").count(), 2, "{json}");
    }

    #[test]
    fn marks_hold_any_index() {
        let mut marks = Marks::default();
        assert!(marks.is_empty());
        for i in [0, 5, 63, 64, 130, 1000] {
            marks.set(i);
        }
        for i in 0..1100 {
            assert_eq!(marks.has(i), [0, 5, 63, 64, 130, 1000].contains(&i), "{i}");
        }
        assert!(!marks.is_empty());
    }
}
