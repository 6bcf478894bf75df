#!/usr/bin/env bash
# Runs every test: Rust, Python, Node, browser. Installs what it needs itself.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== Rust: workspace tests =="
cargo test --workspace --locked

echo "== Lint: rustfmt, clippy -D warnings, ruff, Biome =="
bash scripts/lint.sh

echo "== Fuzz smoke: every fuzz target for 20 s =="
bash scripts/fuzz.sh 20

echo "== Python =="
bash scripts/test-python.sh

echo "== Node =="
bash scripts/test-node.sh

echo "== Packages: npm tarballs, wheel on Python 3.9-3.13, sdist, crates (no Rust for users) =="
bash scripts/test-packages.sh

echo "== Security (Python and Node halves) =="
bash scripts/test-security.sh

echo "== S3 interop against a local Garage server =="
bash scripts/test-garage.sh

echo "== Browser end to end =="
bash scripts/test-browser.sh
