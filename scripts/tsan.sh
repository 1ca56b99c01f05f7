#!/usr/bin/env bash
# The ThreadSanitizer tier (scripts/test.sh runs it; it also runs alone):
# builds build/tsan (CUSE_IOMMU_TSAN) and runs, under TSan, the unit and
# iommuctl tests, the protocol tests and the stress driver (tests/stress:
# many threads over the dispatcher and the control protocol).  Logs go to
# build/logs/tsan-*.log.  Any ThreadSanitizer report fails the tier.
# Prints the tier's build and run times, then "tsan: N passed, M failed".
#   CUSE_IOMMU_STRESS_SECONDS   how long the stress driver runs (default 45)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_packages "${BUILD_PACKAGES[@]}"
build_start=$SECONDS
build_tsan
build_seconds=$((SECONDS - build_start))

# halt_on_error: the first report ends the process (a doctest runner then
# has no summary line and counts as failed), so a race fails the tier.
# history_size: longer per-thread histories, so both stacks of a report are
# shown.  No suppressions: a report is a bug, fixed where it is.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4"

passed=0 failed=0 status=0
mkdir -p build/logs
rm -f build/logs/tsan-*.log
run_start=$SECONDS
log "tsan: unit tests"
build/tsan/tests/unit_tests 2>&1 | tee build/logs/tsan-unit.log || status=1
count_doctest build/logs/tsan-unit.log
log "tsan: iommuctl tests"
build/tsan/tests/iommuctl_tests 2>&1 | tee build/logs/tsan-iommuctl.log || status=1
count_doctest build/logs/tsan-iommuctl.log
log "tsan: protocol tests"
build/tsan/tests/protocol/protocol_tests 2>&1 | tee build/logs/tsan-protocol.log || status=1
count_doctest build/logs/tsan-protocol.log
log "tsan: stress driver"
build/tsan/tests/stress/stress --seconds "${CUSE_IOMMU_STRESS_SECONDS:-45}" 2>&1 \
    | tee build/logs/tsan-stress.log || status=1
count_summary build/logs/tsan-stress.log 'stress: '
run_seconds=$((SECONDS - run_start))

# A report in a process that did not fail its runner (a daemon or iommuctl
# the tests started) still fails the tier.
if grep -l 'WARNING: ThreadSanitizer' build/logs/tsan-*.log; then
    echo "tsan: ThreadSanitizer reported in the logs above" >&2
    status=1 failed=$((failed + 1))
fi

log "tsan: built in ${build_seconds}s, ran in ${run_seconds}s"
echo "tsan: $passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
