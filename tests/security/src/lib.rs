//! Nothing to export: this crate only holds the security regression tests in
//! `tests/` (Rust) beside `python/` (pytest) and `node/` (`node --test`), one
//! test per observation of the "safe by construction" issue. See README.md.
