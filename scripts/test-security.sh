#!/usr/bin/env bash
# The binding halves of tests/security (the Rust half runs with the workspace
# tests). Needs the Python package and the Node addon built by
# scripts/test-python.sh and scripts/test-node.sh (scripts/test.sh runs those first).
# Usage: bash scripts/test-security.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "-- pytest tests/security/python"
python/.venv/bin/python -m pytest -q tests/security/python

echo "-- napi build --features test-hooks (the addon with __testPanic, for tests/security/node only)"
# Release builds leave the panic hook out; this one goes to its own folder and
# the tests load it through the loader's NAPI_RS_NATIVE_LIBRARY_PATH. Only the
# binding crate is rebuilt: the dependencies are shared with test-node.sh.
hooks="${CARGO_TARGET_DIR:-$PWD/target}/node-test-hooks"
(cd node && npx --no-install napi build --platform --release --features test-hooks \
  --manifest-path ../bindings/node/Cargo.toml --output-dir "$hooks" --no-js --dts native.d.ts)
addon="$(ls "$hooks"/postpolicy.*.node)"

echo "-- node --test tests/security/node"
NAPI_RS_NATIVE_LIBRARY_PATH="$addon" node --test tests/security/node/
