#!/usr/bin/env bash
# Runs every test: Rust, Python, Node, browser. Installs what it needs itself.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

# `postpolicy serve` hashes MD5 with OpenSSL by default (its `openssl-md5`
# feature): the build needs OpenSSL's headers, which a fresh Debian machine
# may lack.
if ! pkg-config --exists openssl 2> /dev/null; then
    echo "== installing Debian's libssl-dev and pkg-config =="
    sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y libssl-dev pkg-config
fi

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
