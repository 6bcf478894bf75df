# shellcheck shell=bash
# Sourced, not run: starts one Garage node on 127.0.0.1 for a script and
# stops it (used by scripts/test-garage.sh and scripts/bench-ingest.sh).
#
#   garage_start BUCKET...   a node in a temporary folder on free ports
#                            (replication factor 1, region `garage`, sqlite),
#                            a random key allowed on each BUCKET; exports
#                            GARAGE_ENDPOINT, GARAGE_REGION, GARAGE_KEY_ID,
#                            GARAGE_SECRET; sets garage_pid and garage_work
#   garage_stop              stops it and removes its folder (idempotent:
#                            call it from the caller's EXIT trap)
#   garage_log_tail [N]      the last N lines of its log
#
# Needs `garage` on PATH and python3.

garage_pid=""
garage_work=""

garage_stop() {
    if [ -n "$garage_pid" ] && kill -0 "$garage_pid" 2> /dev/null; then
        kill "$garage_pid" 2> /dev/null || true
        for _ in $(seq 50); do
            kill -0 "$garage_pid" 2> /dev/null || break
            sleep 0.1
        done
        kill -9 "$garage_pid" 2> /dev/null || true
        wait "$garage_pid" 2> /dev/null || true
    fi
    garage_pid=""
    if [ -n "$garage_work" ]; then rm -rf "$garage_work"; fi
    garage_work=""
}

garage_log_tail() {
    if [ -n "$garage_work" ]; then tail -"${1:-30}" "$garage_work/garage.log" >&2 || true; fi
}

garage_start() {
    garage_work="$(mktemp -d "${TMPDIR:-/tmp}/postpolicy-garage.XXXXXX")"
    local s3_port rpc_port admin_port
    read -r s3_port rpc_port admin_port < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)
    local region="garage"
    local rpc_secret key_id key_secret admin_token
    rpc_secret="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
    key_id="GK$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
    key_secret="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
    admin_token="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"

    cat > "$garage_work/garage.toml" <<TOML
metadata_dir = "$garage_work/meta"
data_dir = "$garage_work/data"
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
TOML

    echo "== starting $(garage --version 2> /dev/null || echo garage) on 127.0.0.1:$s3_port (folder $garage_work) =="
    RUST_LOG="${GARAGE_LOG:-garage=warn}" garage -c "$garage_work/garage.toml" server > "$garage_work/garage.log" 2>&1 &
    garage_pid=$!

    local booted=""
    for _ in $(seq 120); do
        if garage -c "$garage_work/garage.toml" status > /dev/null 2>&1; then
            booted=1
            break
        fi
        kill -0 "$garage_pid" 2> /dev/null || break
        sleep 0.5
    done
    if [ -z "$booted" ]; then
        echo "garage did not start; its log:" >&2
        garage_log_tail 50
        return 1
    fi

    local g=(garage -c "$garage_work/garage.toml")
    local node_id
    node_id="$("${g[@]}" node id -q 2> /dev/null | head -1 | cut -c1-64)"
    "${g[@]}" layout assign -z dc1 -c 1G "$node_id" > /dev/null
    "${g[@]}" layout apply --version 1 > /dev/null
    "${g[@]}" key import --yes -n postpolicy-test "$key_id" "$key_secret" > /dev/null
    local bucket
    for bucket in "$@"; do
        "${g[@]}" bucket create "$bucket" > /dev/null
        "${g[@]}" bucket allow --read --write --owner "$bucket" --key postpolicy-test > /dev/null
    done
    # Wait until the S3 API answers (any HTTP answer will do).
    python3 - "$s3_port" <<'PY'
import sys, time, urllib.error, urllib.request
for _ in range(60):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2)
        break
    except urllib.error.HTTPError:
        break
    except OSError:
        time.sleep(0.5)
PY
    export GARAGE_ENDPOINT="http://127.0.0.1:$s3_port"
    export GARAGE_REGION="$region"
    export GARAGE_KEY_ID="$key_id"
    export GARAGE_SECRET="$key_secret"
}
