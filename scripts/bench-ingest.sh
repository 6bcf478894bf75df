#!/usr/bin/env bash
# Ingest benchmark: `postpolicy serve` against Garage, side by side in one run
# on this machine (everything on 127.0.0.1, started here, stopped on exit).
#
# Targets, each sent the same browser-style multipart POSTs (16 concurrent
# clients, distinct bytes per upload, every ETag checked against the MD5 sent):
#   serve local      `postpolicy serve` (release) storing on local disk
#   Garage direct    a single-node Garage (scripts/garage-lib.sh), S3 POST
#   serve → Garage   `postpolicy serve --store s3://…` into that Garage
#   serve before     with POSTPOLICY_BENCH_BEFORE=<an older postpolicy binary>,
#                    that binary storing on local disk (before/after)
#   fwd → Garage     with BENCH_INGEST_FLOOR=1: Garage's S3 POSTs through a
#                    bare TCP forwarder (examples/tcp_forward.rs), the
#                    cheapest gateway: the bound of a gateway that hands
#                    Garage the same request (issue #16)
#   fwd+MD5 → Garage the same forwarder also MD5-hashing every byte it sends
#                    to Garage, as serve must for the ETag (also FLOOR=1)
# Sizes 1 KiB, 1 MiB and 64 MiB take turns, 3 rounds each (the order of the
# targets rotates per round); then 64 concurrent 64 MiB uploads into each
# serve, for its peak RSS. Prints each target's median as a ratio to Garage
# direct (min–max of the rounds), the CPU time per upload of the client,
# Garage and the target's own process, and its peak RSS (VmHWM). The machine
# is shared: absolute numbers are noisy, the ratios within a round less so.
#
# Usage: bash scripts/bench-ingest.sh [bench_ingest args: --rounds N,
#          --sizes 1KiB,1MiB, --uploads 1MiB=256, --clients 16, ...]
#   BENCH_INGEST_NO_GARAGE=1   local targets only (no Garage needed)
#   BENCH_INGEST_FLOOR=1       also the two forwarder targets (needs Garage)
#   BENCH_INGEST_NO_RSS=1      skip the 64 × 64 MiB peak-RSS uploads
#   e.g. BENCH_INGEST_FLOOR=1 bash scripts/bench-ingest.sh --rounds 3
# Needs `garage` on PATH (bash scripts/test-garage.sh installs it), python3,
# and about 10 GB free in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

no_garage="${BENCH_INGEST_NO_GARAGE:-}"
floor="${BENCH_INGEST_FLOOR:-}"
if [ -n "$floor" ] && [ -n "$no_garage" ]; then
    echo "bench-ingest: BENCH_INGEST_FLOOR forwards to Garage; it cannot go with BENCH_INGEST_NO_GARAGE" >&2
    exit 1
fi
if [ -z "$no_garage" ] && ! command -v garage > /dev/null 2>&1; then
    echo "bench-ingest: garage is not on PATH (bash scripts/test-garage.sh installs it," >&2
    echo "or set BENCH_INGEST_NO_GARAGE=1 for the local targets only)" >&2
    exit 1
fi

echo "== building postpolicy and the bench client (release) =="
cargo build --locked --release -q -p postpolicy-cli
cargo build --locked --release -q -p postpolicy-server --example bench_ingest --example tcp_forward
bin="$CARGO_TARGET_DIR/release/postpolicy"
client="$CARGO_TARGET_DIR/release/examples/bench_ingest"
forwarder="$CARGO_TARGET_DIR/release/examples/tcp_forward"

# shellcheck source=scripts/garage-lib.sh
source scripts/garage-lib.sh
child_pids=()
scratch="$(mktemp -d "${TMPDIR:-/tmp}/postpolicy-bench.XXXXXX")"
cleanup() {
    for pid in "${child_pids[@]}"; do
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    garage_stop
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# first_line NAME PID LOG AWK: what the awk program AWK prints from LOG once
# it prints anything (the listening address), waiting up to 30 s while PID
# runs; else the log and a failure.
first_line() {
    local name=$1 pid=$2 log=$3 program=$4 value=""
    for _ in $(seq 150); do
        # The log may not exist yet (the shell that opens it runs in the
        # background); awk's failure would end the script under `set -e`.
        value=$(awk "$program" "$log" 2> /dev/null || true)
        if [ -n "$value" ]; then
            echo "$value"
            return 0
        fi
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.2
    done
    cat "$log" >&2
    echo "bench-ingest: $name did not start" >&2
    return 1
}

# start_serve NAME BINARY ARGS...: sets serve_url and serve_pid.
start_serve() {
    local name=$1 binary=$2
    shift 2
    local log="$scratch/$name.log"
    env -u OSS_ACCESS_KEY_ID -u OSS_ACCESS_KEY_SECRET -u OSS_SESSION_TOKEN \
        -u ALIBABA_CLOUD_ACCESS_KEY_ID -u ALIBABA_CLOUD_ACCESS_KEY_SECRET -u ALIBABA_CLOUD_SECURITY_TOKEN \
        "$binary" serve --port 0 --oss-port 0 --quiet "$@" > "$log" 2>&1 &
    serve_pid=$!
    child_pids+=("$serve_pid")
    # shellcheck disable=SC2016 # an awk program
    serve_url=$(first_line "postpolicy serve ($name)" "$serve_pid" "$log" \
        '$1 == "OSS" && $2 == "endpoint" {print $3}') || exit 1
}

# start_forward NAME TARGET_HOST:PORT ARGS...: sets forward_addr and forward_pid.
start_forward() {
    local name=$1
    shift
    local log="$scratch/$name.log"
    "$forwarder" "$@" > "$log" 2>&1 &
    forward_pid=$!
    child_pids+=("$forward_pid")
    # shellcheck disable=SC2016 # an awk program
    forward_addr=$(first_line "tcp_forward ($name)" "$forward_pid" "$log" \
        '$1 == "listening" && $2 == "on" {print $3}') || exit 1
}

targets=()
rss=()
baseline=()
start_serve local "$bin" --data-dir "$scratch/local"
targets+=(--target "serve local=oss,$serve_url,$serve_pid")
rss+=(--rss "serve local=64,64MiB")
if [ -z "$no_garage" ]; then
    garage_start bench-direct bench-serve
    garage_pid_for_bench=$garage_pid
    AWS_ACCESS_KEY_ID="$GARAGE_KEY_ID" AWS_SECRET_ACCESS_KEY="$GARAGE_SECRET" \
        start_serve garage "$bin" \
        --store "s3://bench-serve?endpoint=$GARAGE_ENDPOINT&region=$GARAGE_REGION"
    targets+=(--target "Garage direct=s3,$GARAGE_ENDPOINT/bench-direct,$garage_pid_for_bench")
    targets+=(--target "serve → Garage=oss,$serve_url,$serve_pid")
    if [ -n "$floor" ]; then
        garage_addr="${GARAGE_ENDPOINT#http://}"
        start_forward forward "$garage_addr"
        targets+=(--target "fwd → Garage=s3,http://$forward_addr/bench-direct,$forward_pid")
        start_forward forward-md5 "$garage_addr" --md5
        targets+=(--target "fwd+MD5 → Garage=s3,http://$forward_addr/bench-direct,$forward_pid")
    fi
    rss+=(--rss "serve → Garage=64,64MiB")
    baseline=(--baseline "Garage direct")
    export BENCH_S3_KEY_ID="$GARAGE_KEY_ID" BENCH_S3_SECRET="$GARAGE_SECRET" \
        BENCH_S3_REGION="$GARAGE_REGION"
fi
if [ -n "${POSTPOLICY_BENCH_BEFORE:-}" ]; then
    start_serve before "$POSTPOLICY_BENCH_BEFORE" --data-dir "$scratch/before"
    targets+=(--target "serve before=oss,$serve_url,$serve_pid")
    if [ -n "$no_garage" ]; then baseline=(--baseline "serve before"); fi
fi

echo "== $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg) =="
if [ -n "${BENCH_INGEST_NO_RSS:-}" ]; then rss=(); fi
timeout 3600 "$client" "${targets[@]}" "${baseline[@]}" "${rss[@]}" "$@"
