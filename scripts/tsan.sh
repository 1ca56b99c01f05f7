#!/usr/bin/env bash
# The ThreadSanitizer tier (scripts/test.sh runs it; it also runs alone):
# builds build/tsan (CUSE_IOMMU_TSAN) and runs, under TSan, the unit and
# iommuctl tests, the protocol tests, the stress driver (tests/stress:
# many threads over the dispatcher and the control protocol) and the daemon
# itself natively through a FUSE-mounted file under the end-to-end clients
# and the load (scripts/fuse-tier.sh load).  Logs go to
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
# The daemon itself under TSan, natively: the end-to-end clients and the
# full load through a FUSE-mounted file (scripts/fuse-tier.sh), with the
# release tree's clients.
log "tsan: the daemon natively, a FUSE-mounted file, under the end-to-end clients and the load"
if [ -x build/release/tests/vm/vm_load ]; then
    scripts/fuse-tier.sh build/release load build/tsan/cuse/cuse-iommu 2>&1 \
        | tee build/logs/tsan-fuse.log || status=1
    grep -q '^fuse: SKIPPED' build/logs/tsan-fuse.log || count_summary build/logs/tsan-fuse.log 'fuse: '
else
    echo "tsan: SKIPPED the daemon through a FUSE mount: no release clients (scripts/test.sh builds build/release first)"
fi
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
