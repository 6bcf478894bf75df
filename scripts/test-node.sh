#!/usr/bin/env bash
# Node package tests: installs what it needs, builds the native addon from
# source, type-checks the typed example, runs `node --test`.
# Usage: bash scripts/test-node.sh        (needs node >= 18, npm, cargo)
set -euo pipefail
cd "$(dirname "$0")/../node"

echo "-- npm ci"
# The package's prepare script would build the addon too; it is built below,
# once, with the exact command of the issue.
POSTPOLICY_SKIP_BUILD=1 npm ci --no-audit --no-fund

echo "-- napi build (release, workspace target/)"
npx --no-install napi build --platform --release \
  --manifest-path ../bindings/node/Cargo.toml \
  --output-dir . --js native.js --dts native.d.ts

if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  if ! git diff --quiet -- native.js native.d.ts; then
    echo "warning: the generated native.js / native.d.ts differ from the committed ones; commit them" >&2
    git --no-pager diff --stat -- native.js native.d.ts >&2
  fi
fi

echo "-- tsc --noEmit --strict (typed example)"
npx --no-install tsc --noEmit --strict -p test/types
npx --no-install tsc --noEmit --strict -p test/types-browser

echo "-- node --test"
node --test
