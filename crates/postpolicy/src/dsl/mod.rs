//! The policy DSL: text ⇄ [`Policy`].
//!
//! ```text
//! expires in 1h                       # or: expires at 2026-12-01T00:00:00Z
//! bucket = examplebucket              # exact match (eq)
//! key starts-with "user/42/"          # starts-with; "" allows anything
//! content-type in [image/png, image/jpeg]
//! content-length 1..10MiB             # content-length-range, inclusive
//! ```
//!
//! [`parse`] reports every syntax error with its line and column;
//! [`parse_with`] fills `{name}` placeholders from parameters, as data;
//! [`print()`] writes the canonical form, which parses back to an equal policy.

mod error;
mod lexical;
mod params;
mod parser;
mod printer;

pub use error::{SyntaxError, SyntaxErrors};
pub(crate) use printer::format_duration;

use crate::policy::Policy;

/// Parses DSL text into a policy, reporting every syntax error.
///
/// ```
/// let policy = postpolicy::dsl::parse("bucket = b\ncontent-length 0..10MiB").unwrap();
/// assert_eq!(policy.conditions.len(), 2);
/// let errors = postpolicy::dsl::parse("key starts-with").unwrap_err();
/// assert_eq!(errors.first().to_string(), "line 1, column 16: expected value, found end of input");
/// ```
pub fn parse(source: &str) -> Result<Policy, SyntaxErrors> {
    parser::parse_all(source, &mut params::Params::default())
}

/// Parses DSL text whose `{name}` placeholders are filled from `params`
/// (name, value pairs: an array of pairs, a `&HashMap`, …).
///
/// A placeholder stands for one whole value, or part of a quoted one, and is
/// filled in after its statement has been read: whatever a parameter holds
/// (quotes, line breaks, `#`, `;`, braces) is part of that value and nothing
/// else. A placeholder without a parameter, a parameter no placeholder uses,
/// a name given twice and a placeholder anywhere but in a value (a field
/// name, an operator, a size, a duration or a timestamp) are syntax errors
/// that name the parameter.
///
/// ```
/// let user_id = "42\"; expires at 2099-01-01T00:00:00Z #";
/// let policy = postpolicy::dsl::parse_with(
///     "expires in 10m\nkey starts-with \"user/{user}/\"",
///     [("user", user_id)],
/// ).unwrap();
/// assert_eq!(policy.conditions, [postpolicy::Condition::starts_with("key", format!("user/{user_id}/"))]);
/// assert_eq!(policy.expiration, Some(postpolicy::Expiration::In { seconds: 600 }));
///
/// let errors = postpolicy::dsl::parse_with("key = {user}", [("id", "42")]).unwrap_err();
/// assert_eq!(
///     errors.first().to_string(),
///     "line 1, column 7: expected a parameter for {user}, found none among the parameters given (id)"
/// );
/// ```
pub fn parse_with<K, V>(
    source: &str,
    params: impl IntoIterator<Item = (K, V)>,
) -> Result<Policy, SyntaxErrors>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let pairs: Vec<(K, V)> = params.into_iter().collect();
    let mut params = params::Params::new(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
    parser::parse_all(source, &mut params)
}

/// Prints a policy as canonical DSL: `expires` first, then one condition per
/// line, each line ending in `\n`.
pub fn print(policy: &Policy) -> String {
    printer::print(policy)
}
