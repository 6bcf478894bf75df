#!/usr/bin/env bash
# Bounded load test of `postpolicy serve` (release build), each phase against a
# separately started server process on 127.0.0.1:
#   1. 200 concurrent uploads of random sizes up to 1 MiB: all stored, all
#      MD5-correct, none lost;
#   2. one 2 GiB upload generated on the fly: the server's peak RSS (VmHWM from
#      /proc/<pid>/status) must stay under 64 MiB.
# Prints throughput (MB/s) and peak RSS; no timing is asserted.
# Usage: bash scripts/load-test.sh   (needs ~2.2 GB free disk in $TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --release -p postpolicy-cli
cargo test --locked --release -p postpolicy-server --test load --no-run
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release/postpolicy"

server_pid=""
data=""
log=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
  if [ -n "$data" ]; then rm -rf "$data"; data=""; fi
  if [ -n "$log" ]; then rm -f "$log"; log=""; fi
}
trap stop_server EXIT

start_server() {
  data=$(mktemp -d)
  log=$(mktemp)
  env -u OSS_ACCESS_KEY_ID -u OSS_ACCESS_KEY_SECRET -u OSS_SESSION_TOKEN \
      -u ALIBABA_CLOUD_ACCESS_KEY_ID -u ALIBABA_CLOUD_ACCESS_KEY_SECRET -u ALIBABA_CLOUD_SECURITY_TOKEN \
    "$bin" serve --port 0 --oss-port 0 --data-dir "$data" --quiet >"$log" 2>&1 &
  server_pid=$!
  oss_url=""
  for _ in $(seq 1 150); do
    oss_url=$(awk '$1 == "OSS" && $2 == "endpoint" {print $3}' "$log")
    if [ -n "$oss_url" ]; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  cat "$log" >&2
  echo "postpolicy serve did not start" >&2
  exit 1
}

run_phase() {
  start_server
  echo "== $1 (server pid $server_pid, $oss_url) =="
  POSTPOLICY_OSS_URL="$oss_url" POSTPOLICY_PID="$server_pid" timeout 900 \
    cargo test --locked --release -p postpolicy-server --test load -- --ignored --exact "$1" --nocapture
  stop_server
}

run_phase concurrent_uploads
run_phase two_gib_upload
