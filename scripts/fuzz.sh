#!/usr/bin/env bash
# The fuzz tier (docs/fuzzing.md): builds the libFuzzer targets with clang
# (build/fuzz) and runs each one for a bounded time, starting from the
# committed seed corpus (tests/fuzz/corpus/TARGET, replayed first) plus what
# earlier runs on this machine found (build/fuzz/corpus/TARGET).  A crash,
# leak, sanitizer report or broken invariant fails its target; the input is
# left in build/fuzz/artifacts/.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60; FUZZ_JOBS=N runs N
#                                           targets at once, default 1)
# Prints per target: runs, exec/s, coverage; ends with
# "fuzz: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

seconds=${1:-60}
jobs=${FUZZ_JOBS:-1}
targets=(dispatcher control topology)

ensure_packages "${BUILD_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
mkdir -p build/logs
if ! build_fuzz >build/logs/fuzz-build.log 2>&1; then
    tail -n 30 build/logs/fuzz-build.log
    echo "fuzz: 0 passed, 1 failed (the targets did not build)"
    exit 1
fi
mkdir -p build/fuzz/artifacts
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# run_target NAME: one target for $seconds; its log in build/logs/fuzz-NAME.log.
run_target() {
    local name=$1 work=build/fuzz/corpus/$1
    mkdir -p "$work"
    # -rss_limit_mb: a target that grows past 2 GiB is a leak the fuzzer
    # reports; -timeout: one input taking 10 s is a hang.
    build/fuzz/tests/fuzz/fuzz_"$name" "$work" "tests/fuzz/corpus/$name" \
        -dict="tests/fuzz/$name.dict" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$name-" \
        >"build/logs/fuzz-$name.log" 2>&1
}

# summary NAME STATUS: one line from the log's final statistics.
summary() {
    local log=build/logs/fuzz-$1.log runs rate cov
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    printf 'fuzz_%-10s %s  %s runs, %s exec/s, %s\n' "$1" "$2" "${runs:-?}" "${rate:-?}" "${cov:-?}"
}

passed=0 failed=0
declare -A pids=()
wait_one() {  # waits for the target $1, counts it and prints its line
    if wait "${pids[$1]}"; then
        passed=$((passed + 1))
        summary "$1" passed
    else
        failed=$((failed + 1))
        summary "$1" FAILED
        grep -E '^(fuzz:|==[0-9]+==ERROR|SUMMARY|  )' "build/logs/fuzz-$1.log" | head -n 20 || true
        ls build/fuzz/artifacts/"$1"-* 2>/dev/null | head -n 3 || true
    fi
    unset "pids[$1]"
}

log "fuzz: ${targets[*]}, $seconds s each, $jobs at a time"
running=()
for name in "${targets[@]}"; do
    run_target "$name" &
    pids[$name]=$!
    running+=("$name")
    if [ ${#running[@]} -ge "$jobs" ]; then
        wait_one "${running[0]}"
        running=("${running[@]:1}")
    fi
done
for name in "${running[@]}"; do
    wait_one "$name"
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
