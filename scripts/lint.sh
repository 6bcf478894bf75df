#!/usr/bin/env bash
# Formatting and lints: rustfmt check, clippy with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)
cargo clippy --workspace --all-targets -- -D warnings
