//! Upload callbacks (placeholder until the callback work lands in this file).

/// A callback could not be built or verified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    #[error("invalid callback: {0}")]
    Invalid(String),
}
