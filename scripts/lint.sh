#!/usr/bin/env bash
# Formatting and lints: rustfmt check, clippy with warnings as errors, ruff
# (lint and format check) over the Python package, tests, examples,
# benchmarks, the Garage and security suites, the vector generators and the
# fuzz seeds, in python/.venv (created when missing), and Biome (lint and
# format check, biome.jsonc) over the JavaScript and TypeScript, from
# node/node_modules (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)
cargo clippy --workspace --all-targets -- -D warnings
# The server without OpenSSL (md-5 computes the MD5): a documented build.
cargo clippy -p postpolicy-server --no-default-features --features s3 -- -D warnings

venv=python/.venv
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-lint.txt
# From python/, where pyproject.toml's per-file patterns are anchored.
(cd python && .venv/bin/ruff check . ../tests/security/python ../tests/garage ../tests/vectors/gen ../fuzz/seeds.py)
(cd python && .venv/bin/ruff format --check . ../tests/security/python ../tests/garage ../tests/vectors/gen ../fuzz/seeds.py)

if [ ! -x node/node_modules/.bin/biome ]; then
    (cd node && POSTPOLICY_SKIP_BUILD=1 npm ci --no-audit --no-fund)
fi
node/node_modules/.bin/biome ci
