#!/usr/bin/env bash
# S3 dialect interop against a real Garage server, started here on 127.0.0.1
# in a temporary folder and always stopped at the end (even when a test fails).
#
# - installs `garage` with cargo only when it is not on PATH (a long build:
#   ~30 minutes on 2 cores; its target dir is kept apart from the workspace's);
# - builds the s3_sign / s3_verify examples of the core crate;
# - starts a single node (replication factor 1, region `garage`), creates a
#   bucket and a key with the admin CLI (scripts/garage-lib.sh);
# - runs tests/garage (pytest): test_interop.py (our S3Signer's forms vs
#   boto3's, Garage's verdicts vs our S3Verifier's) and test_serve.py
#   (`postpolicy serve --store s3://…` keeps its objects in the same Garage).
# Usage: bash scripts/test-garage.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if ! command -v garage > /dev/null 2>&1; then
    echo "== installing garage (cargo install, takes a long while on a small machine) =="
    CARGO_TARGET_DIR="${GARAGE_BUILD_DIR:-${TMPDIR:-/tmp}/garage-build}" \
        cargo install garage --locked --no-default-features --features bundled-libs,sqlite
fi
echo "== $(garage --version 2>/dev/null || echo garage) =="

echo "== building the s3_sign / s3_verify examples and the postpolicy command =="
cargo build --locked -q -p postpolicy --example s3_sign --example s3_verify
cargo build --locked -q -p postpolicy-cli

venv="$CARGO_TARGET_DIR/garage-venv"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/garage/requirements.txt

# ---- start Garage ----------------------------------------------------------
bucket="uploads"
serve_bucket="served"
# shellcheck source=scripts/garage-lib.sh
source scripts/garage-lib.sh
trap garage_stop EXIT
trap 'exit 130' INT TERM
garage_start "$bucket" "$serve_bucket"

export GARAGE_BUCKET="$bucket"
export POSTPOLICY_S3_SIGN="$CARGO_TARGET_DIR/debug/examples/s3_sign"
export POSTPOLICY_S3_VERIFY="$CARGO_TARGET_DIR/debug/examples/s3_verify"
export POSTPOLICY_BIN="$CARGO_TARGET_DIR/debug/postpolicy"
export GARAGE_SERVE_BUCKET="$serve_bucket"

echo "== Garage interop tests =="
status=0
(cd tests/garage && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@") || status=$?
if [ "$status" -ne 0 ]; then
    echo "-- last lines of the garage log:" >&2
    garage_log_tail 30
fi
exit "$status"
