//! The one evaluation loop: every condition of a policy against a form, the
//! reason each failure gets (worded by [`crate::rules`], which the browser
//! rules of a signed form share), and the file sizes the policy allows. What
//! the dialects do differently is read from their [`Dialect`] constants.

use crate::policy::{ByteRange, Condition};
use crate::rules::{self, Failure};
use crate::wire::ConditionView;

use super::{Dialect, FORM_LIMIT, Rejected, Submission, expanded_key};

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
                coverage.status,
                coverage.service_code,
                format!("{}{}", coverage.message, extra.join(", ")),
                format!(
                    "the form sends {} that no policy condition covers; {}",
                    rules::quoted_list(&extra),
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
    let failure = if size < range.min {
        rules::too_small(range)
    } else if size > range.max {
        rules::too_large(range)
    } else {
        return None;
    };
    let size = size.to_string();
    let reason = failure.reason.render(&[("size", &size)]);
    Some(rejected(failure, reason))
}

fn rejected(failure: Failure, reason: String) -> Rejected {
    Rejected::new(
        failure.status,
        failure.service_code,
        failure.message,
        reason,
    )
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
    let known = super::knows::<D>(view);
    // S3 reads a comma-separated Content-Type as a list of types.
    let type_list = D::CONTENT_TYPE_LISTS && view.is_on("content-type");
    let holds = match (view, sent) {
        (_, None) => false,
        (_, Some(_)) if !known => false,
        (ConditionView::Eq { value, .. }, Some(v)) => v == *value,
        (ConditionView::StartsWith { prefix, .. }, Some(v)) if type_list => {
            v.split(',').all(|item| item.starts_with(*prefix))
        }
        (ConditionView::StartsWith { prefix, .. }, Some(v)) => v.starts_with(*prefix),
        (ConditionView::In { values, .. }, Some(v)) => values.contains(v),
        (ConditionView::NotIn { values, .. }, Some(v)) => !values.contains(v),
        (ConditionView::ContentLengthRange(_), Some(_)) => true,
    };
    if holds {
        return None;
    }
    // A failure is rare and explained at length: from the owned condition.
    let condition = &view.into_condition();
    let field = condition.field()?;
    let failure = rules::condition_failed(condition);
    let reason = match (condition, sent) {
        (_, None) => rules::missing_reason(condition, D::RULES),
        (condition, Some(_)) if !known => format!(
            "`{}` conditions are OSS-only; {} does not know them",
            condition.operator(),
            D::NAME
        ),
        (Condition::Eq { value, .. }, Some(v)) if field.is("bucket") => {
            format!("the policy is for bucket `{value}`, but the upload targets bucket `{v}`")
        }
        (Condition::StartsWith { prefix, .. }, Some(v))
            if type_list && v.split(',').any(|item| !item.starts_with(prefix.as_str())) =>
        {
            match v.split(',').find(|item| !item.starts_with(prefix.as_str())) {
                Some(bad) if bad != v => rules::list_item_reason(condition, v, bad),
                _ => failure.reason.render(&[("value", v), ("hint", "")]),
            }
        }
        (_, Some(v)) => {
            let as_sent = (D::EXPANDS_KEY_FIRST && field.is("key"))
                .then(|| form.submission.field("key"))
                .flatten();
            let hint = rules::hint(condition, v, as_sent);
            failure.reason.render(&[("value", v), ("hint", hint)])
        }
    };
    Some(rejected(failure, reason))
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
