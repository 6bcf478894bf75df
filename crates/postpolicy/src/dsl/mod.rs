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
//! [`print`] writes the canonical form, which parses back to an equal policy.

mod error;
mod lexical;
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
    parser::parse_all(source)
}

/// Prints a policy as canonical DSL: `expires` first, then one condition per
/// line, each line ending in `\n`.
pub fn print(policy: &Policy) -> String {
    printer::print(policy)
}
