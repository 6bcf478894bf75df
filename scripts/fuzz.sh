#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of every parser that reads
# attacker bytes: fuzz/fuzz_targets/*.rs. Prints, per target, the executions
# and the CPU time it got; fails when a target finds a crash (the input is
# saved under fuzz/artifacts/<target>/).
#
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  wall-clock seconds per target (default 20)
#   TARGET   only these targets (default: all, see `cargo fuzz list`)
# Environment:
#   FUZZ_CPU=1      SECONDS is CPU seconds per target instead: the target runs
#                   in rounds of at most FUZZ_ROUND wall seconds (default 300)
#                   until it has had that much CPU (for long runs on a busy box)
#   FUZZ_JOBS=N     run N targets at a time (default 1)
#   FUZZ_LOG_DIR    where each target's libFuzzer output goes
#                   (default fuzz/logs; one <target>.log per target)
#
# Toolchain: cargo-fuzz is installed when missing. It runs on stable Rust with
# `--sanitizer none`: the sanitizer flags are the only nightly-only (-Z) flags
# cargo-fuzz passes, and the crates fuzzed forbid `unsafe`, so AddressSanitizer
# would add cost and nothing else. The coverage instrumentation (sancov), the
# `--cfg fuzzing` hooks, debug assertions and overflow checks all stay on.
# Inputs come from the seeds fuzz/seeds.py writes from the test cases
# (tests/dsl, tests/vectors, tests/conformance, the callback tests) and from
# fuzz/corpus/<target>, which each run grows (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

SECONDS_PER_TARGET="${1:-20}"
shift || true
CPU_MODE="${FUZZ_CPU:-0}"
ROUND="${FUZZ_ROUND:-300}"
JOBS="${FUZZ_JOBS:-1}"
LOG_DIR="${FUZZ_LOG_DIR:-$PWD/fuzz/logs}"
CARGO_FUZZ_VERSION="0.13.2"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION =="
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

python3 fuzz/seeds.py >/dev/null

cd fuzz
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cargo fuzz list)
fi
echo "== building ${#TARGETS[@]} fuzz targets (cargo fuzz build --sanitizer none) =="
cargo fuzz build --sanitizer none
BIN_DIR="$PWD/target/$(rustc -vV | sed -n 's/^host: //p')/release"
mkdir -p "$LOG_DIR"

# Seed folders of one target, besides its own growing corpus.
seed_dirs() {
    case "$1" in
        dsl) echo "../tests/dsl/ok ../tests/dsl/err" ;;
        *) [ -d "seeds/$1" ] && echo "seeds/$1" ;;
    esac
}

# Runs one target; prints `<target> <executions> <cpu seconds> <status>`.
fuzz_one() {
    local target="$1" log="$LOG_DIR/$1.log" execs=0 cpu=0 status=ok round=0
    mkdir -p "corpus/$target" "artifacts/$target"
    : >"$log"
    while :; do
        local budget="$SECONDS_PER_TARGET"
        if [ "$CPU_MODE" = 1 ]; then
            budget=$(awk -v want="$SECONDS_PER_TARGET" -v had="$cpu" -v round="$ROUND" \
                'BEGIN { left = want - had; if (left > round) left = round; print (left < 1) ? 1 : int(left + 0.999) }')
        fi
        round=$((round + 1))
        echo "-- round $round: -max_total_time=$budget" >>"$log"
        local times rc=0
        # shellcheck disable=SC2046 # the seed folders are separate arguments
        times=$( { TIMEFORMAT='%U %S'; time "$BIN_DIR/$target" "corpus/$target" $(seed_dirs "$target") \
            -max_total_time="$budget" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="artifacts/$target/" >>"$log" 2>&1; } 2>&1 ) || rc=$?
        local user sys run_execs
        read -r user sys <<<"$(tail -n 1 <<<"$times")"
        run_execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        execs=$((execs + ${run_execs:-0}))
        cpu=$(awk -v a="$cpu" -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", a + u + s }')
        echo "-- round $round done: executions $execs, cpu ${cpu}s, exit $rc" >>"$log"
        if [ "$rc" != 0 ]; then
            status="CRASH (exit $rc, see $log and fuzz/artifacts/$target/)"
            break
        fi
        [ "$CPU_MODE" = 1 ] || break
        awk -v had="$cpu" -v want="$SECONDS_PER_TARGET" 'BEGIN { exit !(had >= want) }' && break
    done
    echo "$target $execs $cpu $status" | tee -a "$log" >"$LOG_DIR/$target.result"
}

echo "== fuzzing: $SECONDS_PER_TARGET $([ "$CPU_MODE" = 1 ] && echo CPU || echo wall) seconds per target, $JOBS at a time, logs in $LOG_DIR =="
running=0
for target in "${TARGETS[@]}"; do
    rm -f "$LOG_DIR/$target.result"
    fuzz_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

failed=0
printf '%-16s %14s %12s  %s\n' target executions "cpu seconds" status
for target in "${TARGETS[@]}"; do
    if [ -f "$LOG_DIR/$target.result" ]; then
        read -r name execs cpu status <"$LOG_DIR/$target.result"
    else
        name="$target" execs=0 cpu=0 status="did not finish"
    fi
    printf '%-16s %14s %12s  %s\n' "$name" "$execs" "$cpu" "$status"
    [ "$status" = ok ] || failed=1
done
exit "$failed"
