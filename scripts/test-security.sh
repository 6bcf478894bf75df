#!/usr/bin/env bash
# The binding halves of tests/security (the Rust half runs with the workspace
# tests). Needs the Python package and the Node addon built by
# scripts/test-python.sh and scripts/test-node.sh (scripts/test.sh runs those first).
# Usage: bash scripts/test-security.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "-- pytest tests/security/python"
python/.venv/bin/python -m pytest -q tests/security/python

echo "-- node --test tests/security/node"
node --test tests/security/node/
