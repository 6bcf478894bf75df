#!/usr/bin/env bash
# Browser end-to-end test of `postpolicy serve`: Debian's Chromium driven by
# playwright-core (never a downloaded browser) uploads through the demo page
# and through Uppy, and refuses files in the page. `serve` signs
# tests/e2e/e2e.policy and logs every request: the test counts the posts.
# Installs Chromium only when /usr/bin/chromium is missing. Screenshots go to
# tests/e2e/artifacts/.
# Usage: bash scripts/test-browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium =="
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y chromium
fi

echo "== npm ci (tests/e2e) =="
(cd tests/e2e && npm ci --no-audit --no-fund)

echo "== building postpolicy =="
cargo build --locked -p postpolicy-cli
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
bin="$target_dir/debug/postpolicy"

data=$(mktemp -d)
log=$(mktemp)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data" "$log"
}
trap cleanup EXIT

echo "== starting postpolicy serve on free ports =="
env -u OSS_ACCESS_KEY_ID -u OSS_ACCESS_KEY_SECRET -u OSS_SESSION_TOKEN \
    -u ALIBABA_CLOUD_ACCESS_KEY_ID -u ALIBABA_CLOUD_ACCESS_KEY_SECRET -u ALIBABA_CLOUD_SECURITY_TOKEN \
  "$bin" serve --host 127.0.0.1 --port 0 --oss-port 0 --data-dir "$data" \
    --policy "$root/tests/e2e/e2e.policy" >"$log" 2>&1 &
server_pid=$!
app_url=""
oss_url=""
for _ in $(seq 1 300); do
  app_url=$(awk '$1 == "upload" && $2 == "page" {print $3}' "$log")
  oss_url=$(awk '$1 == "OSS" && $2 == "endpoint" {print $3}' "$log")
  if [ -n "$app_url" ] && [ -n "$oss_url" ]; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$log" >&2
    echo "postpolicy serve exited early" >&2
    exit 1
  fi
  sleep 0.2
done
if [ -z "$app_url" ] || [ -z "$oss_url" ]; then
  cat "$log" >&2
  echo "postpolicy serve did not print its URLs" >&2
  exit 1
fi
echo "demo page $app_url, endpoint $oss_url"

echo "== node --test tests/e2e =="
cd "$root/tests/e2e"
POSTPOLICY_APP_URL="$app_url" POSTPOLICY_OSS_URL="$oss_url" POSTPOLICY_SERVE_LOG="$log" \
  POSTPOLICY_BIN="$bin" node --test upload.test.mjs
