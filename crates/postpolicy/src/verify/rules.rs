//! The one evaluation loop: every condition of a policy against a form, the
//! reason each failure gets, and the file sizes the policy allows. What the
//! dialects do differently is read from their [`Dialect`] constants.

use crate::policy::{ByteRange, Condition};
use crate::wire::{self, ConditionView};

use super::{Dialect, FORM_LIMIT, Rejected, Submission, expanded_key};

const CONDITION_FAILED: &str = "Invalid according to Policy: Policy Condition failed: ";
const EXTRA_FIELDS: &str = "Invalid according to Policy: Extra input fields: ";

/// The failures found (the first only, or all for `explain`) and the sizes
/// the file may have.
pub(super) struct Outcome {
    pub failures: Vec<Rejected>,
    pub size_limit: ByteRange,
}

/// Evaluates `conditions` in order against `submission`: the fields, then
/// (S3) the fields no condition names, and the file's size against every
/// `content-length-range`, whose intersection is the size limit. `bucket`
/// conditions are judged only when the target `bucket` is known.
pub(super) fn evaluate<D: Dialect>(
    conditions: &[ConditionView<'_>],
    submission: &Submission,
    bucket: Option<&str>,
    first_only: bool,
) -> Outcome {
    let key = if D::EXPANDS_KEY_FIRST {
        expanded_key(submission)
    } else {
        submission.field("key").map(Into::into)
    };
    let form = Form {
        submission,
        bucket,
        key: key.as_deref(),
    };
    let size = submission.file.as_ref().and_then(|f| f.size);
    let mut outcome = Outcome {
        failures: Vec::new(),
        size_limit: FORM_LIMIT,
    };
    let done = |outcome: &Outcome| first_only && !outcome.failures.is_empty();
    for (index, condition) in conditions.iter().enumerate() {
        if done(&outcome) {
            return outcome;
        }
        let failure = match condition {
            ConditionView::ContentLengthRange(range) => {
                outcome.size_limit.min = outcome.size_limit.min.max(range.min);
                outcome.size_limit.max = outcome.size_limit.max.min(range.max);
                match size {
                    Some(size) if !D::SIZE_AFTER_FIELDS => size_failure(range, size),
                    _ => None,
                }
            }
            _ => condition_failure::<D>(condition, &form),
        };
        outcome.failures.extend(failure.map(|r| r.at(index)));
    }
    if let Some(coverage) = &D::COVERAGE {
        if done(&outcome) {
            return outcome;
        }
        let extra = uncovered_fields(conditions, submission, coverage);
        if !extra.is_empty() {
            outcome.failures.push(Rejected::new(
                403,
                "AccessDenied",
                format!("{EXTRA_FIELDS}{}", extra.join(", ")),
                format!(
                    "the form sends {} that no policy condition covers; {}",
                    quoted_list(&extra),
                    coverage.rule
                ),
            ));
        }
    }
    if let (true, Some(size)) = (D::SIZE_AFTER_FIELDS, size) {
        for (index, condition) in conditions.iter().enumerate() {
            if done(&outcome) {
                break;
            }
            if let ConditionView::ContentLengthRange(range) = condition {
                outcome
                    .failures
                    .extend(size_failure(range, size).map(|r| r.at(index)));
            }
        }
    }
    outcome
}

/// What a condition is judged against.
struct Form<'a> {
    submission: &'a Submission,
    /// The target bucket, when known.
    bucket: Option<&'a str>,
    /// `key` as the dialect checks it (expanded or not).
    key: Option<&'a str>,
}

/// The file size against one `content-length-range`.
pub(super) fn size_failure(range: &ByteRange, size: u64) -> Option<Rejected> {
    if size < range.min {
        Some(Rejected::new(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size.",
            format!(
                "the file is {size} bytes, below the minimum of {} bytes (content-length-range {}..{})",
                range.min, range.min, range.max
            ),
        ))
    } else if size > range.max {
        Some(Rejected::new(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size.",
            format!(
                "the file is {size} bytes, above the maximum of {} bytes (content-length-range {}..{})",
                range.max, range.min, range.max
            ),
        ))
    } else {
        None
    }
}

/// One field condition against the form: `None` when it holds (or names
/// the bucket when the target is unknown).
fn condition_failure<D: Dialect>(view: &ConditionView<'_>, form: &Form<'_>) -> Option<Rejected> {
    let sent = if view.is_on("bucket") {
        Some(form.bucket?)
    } else if view.is_on("key") {
        form.key
    } else {
        form.submission.field(view.field()?)
    };
    let known = D::OPERATORS.contains(&view.operator());
    // S3 reads a comma-separated Content-Type as a list of types.
    let type_list = D::CONTENT_TYPE_LISTS && view.is_on("content-type");
    let holds = match (view, sent) {
        (_, None) => false,
        (_, Some(_)) if !known => false,
        (ConditionView::Eq { value, .. }, Some(v)) => v == value,
        (ConditionView::StartsWith { prefix, .. }, Some(v)) if type_list => {
            v.split(',').all(|item| item.starts_with(&**prefix))
        }
        (ConditionView::StartsWith { prefix, .. }, Some(v)) => v.starts_with(&**prefix),
        (ConditionView::In { values, .. }, Some(v)) => values.iter().any(|x| x == v),
        (ConditionView::NotIn { values, .. }, Some(v)) => !values.iter().any(|x| x == v),
        (ConditionView::ContentLengthRange(_), Some(_)) => true,
    };
    if holds {
        return None;
    }
    // A failure is rare and explained at length: from the owned condition.
    let condition = &view.to_condition();
    let field = condition.field()?;
    let name = field.name();
    let expanded = |v: &str| {
        D::EXPANDS_KEY_FIRST && field.is("key") && form.submission.field("key") != Some(v)
    };
    let reason = match (condition, sent) {
        (_, None) => format!(
            "the form has no `{}` field, and the policy requires {}",
            field.written(),
            requirement(condition)
        ),
        (condition, Some(_)) if !known => format!(
            "`{}` conditions are OSS-only; {} does not know them",
            condition.operator(),
            D::NAME
        ),
        (Condition::Eq { value, .. }, Some(v)) if field.is("bucket") => {
            format!("the policy is for bucket `{value}`, but the upload targets bucket `{v}`")
        }
        (Condition::Eq { value, .. }, Some(v)) => {
            let hint = if v.eq_ignore_ascii_case(value) {
                " (values are case-sensitive)"
            } else if expanded(v) {
                " (after ${filename} expansion)"
            } else {
                ""
            };
            format!("{name} `{v}` is not `{value}`{hint}")
        }
        (Condition::StartsWith { prefix, .. }, Some(v)) if type_list => {
            match v.split(',').find(|item| !item.starts_with(prefix.as_str())) {
                Some(bad) if bad != v => format!(
                    "{name} `{v}` is a list, and its item `{bad}` does not start with `{prefix}` (every item must)"
                ),
                _ => format!("{name} `{v}` does not start with `{prefix}`"),
            }
        }
        (Condition::StartsWith { prefix, .. }, Some(v)) => {
            let hint = if expanded(v) {
                " (after ${filename} expansion)"
            } else {
                ""
            };
            format!("{name} `{v}` does not start with `{prefix}`{hint}")
        }
        (Condition::In { values, .. }, Some(v)) => {
            format!("{name} `{v}` is not one of {}", quoted_list(values))
        }
        (Condition::NotIn { values, .. }, Some(v)) => {
            format!(
                "{name} `{v}` is one of the forbidden values {}",
                quoted_list(values)
            )
        }
        (Condition::ContentLengthRange(_), Some(_)) => String::new(),
    };
    Some(Rejected::new(
        403,
        "AccessDenied",
        format!("{CONDITION_FAILED}{}", wire::echo_condition(condition)),
        reason,
    ))
}

/// What a condition asks of a field, for a form that lacks it.
fn requirement(condition: &Condition) -> String {
    match condition {
        Condition::Eq { value, .. } => format!("it to be `{value}`"),
        Condition::StartsWith { prefix, .. } => format!("it to start with `{prefix}`"),
        Condition::In { values, .. } => format!("it to be one of {}", quoted_list(values)),
        Condition::NotIn { values, .. } => format!("it, and not one of {}", quoted_list(values)),
        Condition::ContentLengthRange(_) => "a file size in range".to_owned(),
    }
}

fn quoted_list(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    items.join(", ")
}

impl super::Coverage {
    fn exempts(&self, lower: &str) -> bool {
        self.exempt.contains(&lower) || lower.starts_with(self.exempt_prefix)
    }
}

/// Fields before the file that no condition names (S3's "Extra input
/// fields"), in form order, lower case.
fn uncovered_fields(
    conditions: &[ConditionView<'_>],
    submission: &Submission,
    coverage: &super::Coverage,
) -> Vec<String> {
    let mut extra: Vec<String> = Vec::new();
    for (name, _) in &submission.fields {
        let lower = name.to_ascii_lowercase();
        let bare = lower.strip_prefix('$').unwrap_or(&lower);
        let covered = conditions.iter().any(|c| c.is_on(bare));
        if !coverage.exempts(&lower) && !covered && !extra.contains(&lower) {
            extra.push(lower);
        }
    }
    extra
}
