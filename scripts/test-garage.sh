#!/usr/bin/env bash
# S3 dialect interop against a real Garage server, started here on 127.0.0.1
# in a temporary folder and always stopped at the end (even when a test fails).
#
# - installs `garage` with cargo only when it is not on PATH (a long build:
#   ~30 minutes on 2 cores; its target dir is kept apart from the workspace's);
# - builds the s3_sign / s3_verify examples of the core crate;
# - starts a single node (replication factor 1, region `garage`), creates a
#   bucket and a key with the admin CLI;
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
work="$(mktemp -d "${TMPDIR:-/tmp}/postpolicy-garage.XXXXXX")"
garage_pid=""
stop_garage() {
    if [ -n "$garage_pid" ] && kill -0 "$garage_pid" 2> /dev/null; then
        kill "$garage_pid" 2> /dev/null || true
        for _ in $(seq 50); do
            kill -0 "$garage_pid" 2> /dev/null || break
            sleep 0.1
        done
        kill -9 "$garage_pid" 2> /dev/null || true
        wait "$garage_pid" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap stop_garage EXIT
trap 'exit 130' INT TERM

read -r s3_port rpc_port admin_port < <("$venv/bin/python" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
EOF
)
region="garage"
bucket="uploads"
serve_bucket="served"
rpc_secret="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
key_id="GK$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
key_secret="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
admin_token="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"

cat > "$work/garage.toml" <<EOF
metadata_dir = "$work/meta"
data_dir = "$work/data"
db_engine = "sqlite"
replication_factor = 1

rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$rpc_secret"

[s3_api]
s3_region = "$region"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
admin_token = "$admin_token"
EOF

g() { garage -c "$work/garage.toml" "$@"; }

echo "== starting garage on 127.0.0.1:$s3_port (folder $work) =="
RUST_LOG="${GARAGE_LOG:-garage=warn}" garage -c "$work/garage.toml" server > "$work/garage.log" 2>&1 &
garage_pid=$!

booted=""
for _ in $(seq 120); do
    if g status > /dev/null 2>&1; then
        booted=1
        break
    fi
    kill -0 "$garage_pid" 2> /dev/null || break
    sleep 0.5
done
if [ -z "$booted" ]; then
    echo "garage did not start; its log:" >&2
    tail -50 "$work/garage.log" >&2 || true
    exit 1
fi

node_id="$(g node id -q 2> /dev/null | head -1 | cut -c1-64)"
g layout assign -z dc1 -c 1G "$node_id" > /dev/null
g layout apply --version 1 > /dev/null
g key import --yes -n postpolicy-test "$key_id" "$key_secret" > /dev/null
g bucket create "$bucket" > /dev/null
g bucket allow --read --write --owner "$bucket" --key postpolicy-test > /dev/null
g bucket create "$serve_bucket" > /dev/null
g bucket allow --read --write --owner "$serve_bucket" --key postpolicy-test > /dev/null
# Wait until the S3 API answers (any HTTP answer will do).
"$venv/bin/python" - "$s3_port" <<'EOF'
import sys, time, urllib.error, urllib.request
for _ in range(60):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2)
        break
    except urllib.error.HTTPError:
        break
    except OSError:
        time.sleep(0.5)
EOF

export GARAGE_ENDPOINT="http://127.0.0.1:$s3_port"
export GARAGE_REGION="$region"
export GARAGE_BUCKET="$bucket"
export GARAGE_KEY_ID="$key_id"
export GARAGE_SECRET="$key_secret"
export POSTPOLICY_S3_SIGN="$CARGO_TARGET_DIR/debug/examples/s3_sign"
export POSTPOLICY_S3_VERIFY="$CARGO_TARGET_DIR/debug/examples/s3_verify"
export POSTPOLICY_BIN="$CARGO_TARGET_DIR/debug/postpolicy"
export GARAGE_SERVE_BUCKET="$serve_bucket"

echo "== Garage interop tests =="
status=0
(cd tests/garage && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@") || status=$?
if [ "$status" -ne 0 ]; then
    echo "-- last lines of the garage log:" >&2
    tail -30 "$work/garage.log" >&2 || true
fi
exit "$status"
