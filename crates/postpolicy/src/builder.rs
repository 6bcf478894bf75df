//! [`PolicyBuilder`]: a policy written in code instead of DSL text.
//!
//! Each method adds the condition the equivalent DSL statement would, in call
//! order, so `Policy::builder().key_prefix("user/42/").size(1, 10 << 20)`
//! builds a policy equal to `Policy::parse("key starts-with \"user/42/\"\n
//! content-length 1..10MiB")`. Values are values: no string given here is ever
//! read as policy text. Input that cannot make a sensible policy (a size range
//! with min above max, an empty field name, expires set twice, …) is a
//! [`PolicyError`] from [`PolicyBuilder::build`], so the methods chain.

use chrono::{DateTime, Utc};

use crate::error::PolicyError;
use crate::policy::{ByteRange, Condition, Expiration, Field, Policy};

/// The metadata field prefixes of OSS, S3 and GCS.
const METADATA_PREFIXES: [&str; 3] = ["x-oss-meta-", "x-amz-meta-", "x-goog-meta-"];

/// Builds a [`Policy`] condition by condition. Start with [`Policy::builder`].
///
/// ```
/// use postpolicy::Policy;
///
/// let user_id = "42"; // from the request: a value, never policy text
/// let policy = Policy::builder()
///     .expires_in(std::time::Duration::from_secs(600))
///     .key_prefix(format!("user/{user_id}/"))
///     .content_types(["image/png", "image/jpeg"])
///     .size(1, 10 * 1024 * 1024)
///     .field("success_action_status", "201")
///     .metadata("x-oss-meta-owner", user_id)
///     .build()?;
/// assert_eq!(
///     policy,
///     Policy::parse_with(
///         "expires in 10m
///          key starts-with \"user/{id}/\"
///          content-type in [image/png, image/jpeg]
///          content-length 1..10MiB
///          success_action_status = 201
///          x-oss-meta-owner = {id}",
///         [("id", user_id)],
///     )?
/// );
/// # Ok::<(), postpolicy::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PolicyBuilder {
    expiration: Option<Expiration>,
    conditions: Vec<Condition>,
    /// The first problem met; `build` reports it.
    problem: Option<PolicyError>,
}

impl Policy {
    /// A builder for a policy written in code (see [`PolicyBuilder`]).
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }
}

impl PolicyBuilder {
    /// `expires in …`: valid for `lifetime` from the moment of signing, in
    /// whole seconds (a fraction of a second is an error, not rounded).
    pub fn expires_in(self, lifetime: std::time::Duration) -> Self {
        if lifetime.subsec_nanos() != 0 {
            return self.fail(
                "Invalid Policy: Invalid expiration.",
                format!("expires_in takes whole seconds, got {lifetime:?}"),
            );
        }
        self.expire(Expiration::In {
            seconds: lifetime.as_secs(),
        })
    }

    /// `expires in …` in seconds.
    pub fn expires_in_seconds(self, seconds: u64) -> Self {
        self.expire(Expiration::In { seconds })
    }

    /// `expires at …`: valid until `at`.
    pub fn expires_at(self, at: DateTime<Utc>) -> Self {
        self.expire(Expiration::At(at))
    }

    /// `key starts-with prefix`: the browser picks the rest of the key.
    pub fn key_prefix(self, prefix: impl Into<String>) -> Self {
        self.push(Condition::StartsWith {
            field: Field::new("key"),
            prefix: prefix.into(),
        })
    }

    /// `key = key`: exactly this object key.
    pub fn key(self, key: impl Into<String>) -> Self {
        self.push(Condition::Eq {
            field: Field::new("key"),
            value: key.into(),
        })
    }

    /// `content-type = content_type`.
    pub fn content_type(self, content_type: impl Into<String>) -> Self {
        self.push(Condition::Eq {
            field: Field::new("content-type"),
            value: content_type.into(),
        })
    }

    /// `content-type starts-with prefix` (e.g. `image/`).
    pub fn content_type_prefix(self, prefix: impl Into<String>) -> Self {
        self.push(Condition::StartsWith {
            field: Field::new("content-type"),
            prefix: prefix.into(),
        })
    }

    /// `content-type in [...]` (OSS only; at least one type).
    pub fn content_types(self, types: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let values: Vec<String> = types.into_iter().map(Into::into).collect();
        if values.is_empty() {
            return self.fail(
                "Invalid Policy: Invalid Condition: in needs a list of values.",
                "content_types needs at least one type: `content-type in []` allows no upload",
            );
        }
        self.push(Condition::In {
            field: Field::new("content-type"),
            values,
        })
    }

    /// `content-length min..max`: the file size in bytes, both inclusive.
    pub fn size(self, min: u64, max: u64) -> Self {
        if (ByteRange { min, max }).is_empty() {
            return self.fail(
                "Invalid Policy: Invalid content-length-range: max must not be less than min.",
                format!("size: the minimum {min} is above the maximum {max}"),
            );
        }
        self.push(Condition::ContentLengthRange(ByteRange { min, max }))
    }

    /// `name = value`: an exact form field (`success_action_status`,
    /// `x-oss-object-acl`, …). The name is case-insensitive, with or without
    /// `$`, and kept in lower case as the DSL does.
    pub fn field(self, name: &str, value: impl Into<String>) -> Self {
        let Some(field) = field(name) else {
            return self.fail(
                "Invalid Policy: Invalid Condition: empty field name.",
                "field: the field name is empty",
            );
        };
        self.push(Condition::Eq {
            field,
            value: value.into(),
        })
    }

    /// `x-oss-meta-name = value` (or `x-amz-meta-…` for S3, `x-goog-meta-…`
    /// for GCS): user metadata
    /// stored with the object. `name` is the whole field name, prefix
    /// included, so the dialect is explicit.
    pub fn metadata(self, name: &str, value: impl Into<String>) -> Self {
        let lower = name.strip_prefix('$').unwrap_or(name).to_ascii_lowercase();
        let suffix = METADATA_PREFIXES
            .iter()
            .find_map(|prefix| lower.strip_prefix(prefix));
        match suffix {
            Some(suffix) if !suffix.is_empty() => self.push(Condition::Eq {
                field: Field::new(&lower),
                value: value.into(),
            }),
            _ => self.fail(
                "Invalid Policy: Invalid Condition: invalid metadata name.",
                format!(
                    "metadata: `{name}` is not a metadata field name: expected x-oss-meta-NAME or x-amz-meta-NAME"
                ),
            ),
        }
    }

    /// The policy, or the first problem met while building it.
    pub fn build(self) -> Result<Policy, PolicyError> {
        match self.problem {
            Some(problem) => Err(problem),
            None => Ok(Policy::new(self.expiration, self.conditions)),
        }
    }

    fn push(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }

    fn expire(mut self, expiration: Expiration) -> Self {
        if self.expiration.is_some() {
            return self.fail(
                "Invalid Policy: Invalid expiration.",
                "the expiration is set twice: call expires_in or expires_at once",
            );
        }
        self.expiration = Some(expiration);
        self
    }

    fn fail(mut self, service_message: &str, reason: impl Into<String>) -> Self {
        if self.problem.is_none() {
            self.problem = Some(PolicyError::new(service_message, reason));
        }
        self
    }
}

/// A field named `name` (without `$`, lower-cased), `None` when empty.
fn field(name: &str) -> Option<Field> {
    let name = name.strip_prefix('$').unwrap_or(name);
    (!name.is_empty()).then(|| Field::new(&name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    fn reason(builder: PolicyBuilder) -> String {
        match builder.build() {
            Ok(policy) => panic!("built {policy:?}"),
            Err(e) => e.reason().to_owned(),
        }
    }

    #[test]
    fn every_method_equals_its_dsl_statement() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let cases: Vec<(PolicyBuilder, &str)> = vec![
            (
                Policy::builder().expires_in(Duration::from_secs(5400)),
                "expires in 1h30m",
            ),
            (Policy::builder().expires_in_seconds(0), "expires in 0s"),
            (
                Policy::builder().expires_at(at),
                "expires at 2026-12-01T00:00:00Z",
            ),
            (
                Policy::builder().key_prefix("user/42/"),
                "key starts-with \"user/42/\"",
            ),
            (Policy::builder().key("a b.png"), "key = \"a b.png\""),
            (
                Policy::builder().content_type("image/png"),
                "content-type = image/png",
            ),
            (
                Policy::builder().content_type_prefix("image/"),
                "content-type starts-with image/",
            ),
            (
                Policy::builder().content_types(["image/png", "image/jpeg"]),
                "content-type in [image/png, image/jpeg]",
            ),
            (
                Policy::builder().size(1, 10 << 20),
                "content-length 1..10MiB",
            ),
            (Policy::builder().size(7, 7), "content-length 7..7"),
            (
                Policy::builder().field("Success_Action_Status", "201"),
                "success_action_status = 201",
            ),
            (Policy::builder().field("$bucket", "b"), "bucket = b"),
            (
                Policy::builder().metadata("X-OSS-Meta-Owner", "42"),
                "x-oss-meta-owner = \"42\"",
            ),
            (
                Policy::builder().metadata("x-amz-meta-a", ""),
                "x-amz-meta-a = \"\"",
            ),
        ];
        for (builder, dsl) in cases {
            let built = builder.build().unwrap();
            let parsed = Policy::parse(dsl).unwrap();
            assert_eq!(built, parsed, "{dsl}");
            // Same spelling too, so the signed JSON is the same.
            assert_eq!(built.to_json(at), parsed.to_json(at), "{dsl}");
            assert_eq!(built.to_dsl(), parsed.to_dsl(), "{dsl}");
        }
    }

    #[test]
    fn conditions_keep_call_order_and_values_stay_values() {
        let hostile = "42/\"; expires at 2099-01-01T00:00:00Z #";
        let policy = Policy::builder()
            .size(0, 1)
            .key_prefix(format!("user/{hostile}/"))
            .expires_in_seconds(60)
            .field("x-oss-meta-a", "{b}")
            .build()
            .unwrap();
        assert_eq!(policy.expiration, Some(Expiration::In { seconds: 60 }));
        assert_eq!(
            policy.conditions,
            [
                Condition::content_length(0, 1),
                Condition::starts_with("key", format!("user/{hostile}/")),
                Condition::eq("x-oss-meta-a", "{b}"),
            ]
        );
        assert_eq!(Policy::parse(&policy.to_dsl()), Ok(policy));
        assert_eq!(Policy::builder().build(), Ok(Policy::default()));
    }

    #[test]
    fn bad_input_is_a_policy_error() {
        assert_eq!(
            reason(Policy::builder().size(10, 1)),
            "size: the minimum 10 is above the maximum 1"
        );
        assert_eq!(
            reason(Policy::builder().field("", "x")),
            "field: the field name is empty"
        );
        assert_eq!(
            reason(Policy::builder().field("$", "x")),
            "field: the field name is empty"
        );
        assert_eq!(
            reason(Policy::builder().metadata("owner", "x")),
            "metadata: `owner` is not a metadata field name: expected x-oss-meta-NAME or x-amz-meta-NAME"
        );
        assert_eq!(
            reason(Policy::builder().metadata("x-oss-meta-", "x")),
            "metadata: `x-oss-meta-` is not a metadata field name: expected x-oss-meta-NAME or x-amz-meta-NAME"
        );
        assert_eq!(
            reason(Policy::builder().content_types(Vec::<String>::new())),
            "content_types needs at least one type: `content-type in []` allows no upload"
        );
        assert_eq!(
            reason(Policy::builder().expires_in(Duration::from_millis(1500))),
            "expires_in takes whole seconds, got 1.5s"
        );
        assert_eq!(
            reason(
                Policy::builder()
                    .expires_in_seconds(1)
                    .expires_in_seconds(2)
            ),
            "the expiration is set twice: call expires_in or expires_at once"
        );
        // The first problem is the one reported.
        let error = Policy::builder()
            .size(2, 1)
            .field("", "x")
            .build()
            .unwrap_err();
        assert_eq!(
            error.service_message(),
            "Invalid Policy: Invalid content-length-range: max must not be less than min."
        );
        assert_eq!(crate::Error::from(error).code(), "POLICY_INVALID");
    }
}
