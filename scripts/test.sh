#!/usr/bin/env bash
# Builds everything and runs every test tier:
#   1. unit      doctest tests of the model, the dispatcher, the control
#                plane and iommuctl (ASan+UBSan)
#   2. protocol  the real libfuse CUSE session driven by a fake kernel (ASan+UBSan)
#   fuse         the RFC end-to-end clients, the load and the hostile ones,
#                natively on this machine's own kernel: the ASan+UBSan daemon
#                serves the device as a FUSE-mounted file (the kernel's same
#                ioctl path; a SKIPPED line where no FUSE mount can be made;
#                scripts/fuse-tier.sh)
#   sweep        the allocation-failure sweep: a fixed session of every command
#                run once per allocation, that allocation failing; each run must
#                answer ENOMEM, change nothing and leak nothing (ASan+UBSan,
#                about 7 minutes of one core, run beside the fuzz tier;
#                tests/sweep/alloc_sweep.cpp)
#   tsan         tiers 1 and 2 again under ThreadSanitizer, the stress driver
#                (many threads over the dispatcher and the control protocol),
#                and the TSan daemon natively through a FUSE-mounted file under
#                the end-to-end clients and the load; any race report fails it
#                (scripts/tsan.sh)
#   fuzz         the libFuzzer targets (dispatcher, control requests,
#                topology), 60 s each from the committed corpus (scripts/fuzz.sh)
#   3. vm        a real kernel with cuse.ko under QEMU; C clients call /dev/iommu
#   run          scripts/run.sh -- PROGRAM: a C file written and built at test
#                time runs against /dev/iommu in the VM (6.1 and 6.12 kernels)
#   selftests    the kernel's own iommufd selftest (tools/testing/selftests/
#                iommu/iommufd.c from Debian's linux-source-6.12, cached under
#                ~/.cache), built unmodified and run in the VM against
#                `cuse-iommu --abi iommufd`; the cases in tests/iommufd-selftests/
#                expected-pass.txt must pass, and the project's iommufd header
#                must match the kernel's layout (tests/iommufd-selftests/run-suite.sh)
#   iommufd      the iommufd profile end to end with hostile memory: a client
#                stuck on userfaultfd memory stalls only itself, an attach over
#                it fails (tests/vm/vm_iommufd_tests.c, in the VM); the fd
#                objects for a dynamic program under the fd helper and a static
#                one under the launcher; examples/iommufd_topology.c
#   deb          the .deb: built by CPack, installed with apt-get, man pages,
#                pkg-config and CMake clients, the unit, the installed daemon
#                serving a client in the VM, purged (scripts/test-deb.sh)
# then the benchmarks (round trips in the VM and natively, in-process model).  Exits non-zero if any tier fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_packages "${BUILD_PACKAGES[@]}"
build_sanitized
build_release

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

passed=0 failed=0  # count_doctest and count_summary (scripts/lib.sh) add to these
mkdir -p build/logs
status=0
log "tier 1: unit tests"
build/asan/tests/unit_tests 2>&1 | tee build/logs/unit.log || status=1
count_doctest build/logs/unit.log
build/asan/tests/iommuctl_tests 2>&1 | tee build/logs/iommuctl.log || status=1
count_doctest build/logs/iommuctl.log

log "tier 2: protocol tests (libfuse CUSE session, fake kernel)"
build/asan/tests/protocol/protocol_tests 2>&1 | tee build/logs/protocol.log || status=1
count_doctest build/logs/protocol.log

log "tier fuse: the RFC end-to-end clients natively, through a FUSE-mounted file served by the ASan+UBSan daemon"
scripts/fuse-tier.sh build/release tests build/asan/cuse/cuse-iommu 2>&1 | tee build/logs/fuse.log || status=1
grep -q '^fuse: SKIPPED' build/logs/fuse.log || count_summary build/logs/fuse.log 'fuse: '

log "tier tsan: unit, iommuctl, protocol tests, the stress driver and the daemon under ThreadSanitizer"
scripts/tsan.sh 2>&1 | tee build/logs/tsan.log || status=1
count_summary build/logs/tsan.log 'tsan: '

# The sweep is one thread and takes minutes; the fuzzers run for a fixed
# time: the two share the machine's cores (its result does not depend on
# timing), and its log is shown when it ends.
log "tier sweep: allocation-failure sweep (every allocation of a fixed session fails in turn), beside the fuzz tier"
build/asan/tests/alloc_sweep >build/logs/sweep.log 2>&1 &
sweep_pid=$!

log "tier fuzz: the fuzz targets, a minute each (docs/fuzzing.md)"
scripts/fuzz.sh 60 2>&1 | tee build/logs/fuzz.log || status=1
count_summary build/logs/fuzz.log 'fuzz: '

log "tier sweep: waiting for it"
wait "$sweep_pid" || status=1
cat build/logs/sweep.log
count_summary build/logs/sweep.log 'sweep: '

log "tier 3: end-to-end tests in a QEMU VM with a real kernel and cuse.ko"
scripts/vm/tier3.sh build/release 2>&1 | tee build/logs/vm.log || status=1
count_summary build/logs/vm.log

log "tier run: scripts/run.sh -- PROGRAM with a program the build does not know (tests/vm/run_program_test.sh)"
tests/vm/run_program_test.sh 2>&1 | tee build/logs/run.log || status=1
count_summary build/logs/run.log 'run: '

log "tier selftests: the kernel's iommufd selftest against cuse-iommu --abi iommufd (VM)"
tests/iommufd-selftests/run-suite.sh build/release 2>&1 | tee build/logs/selftests.log || status=1
count_summary build/logs/selftests.log 'selftests: '

log "tier iommufd: the iommufd profile with hostile memory (tests/vm/vm_iommufd_tests, VM)"
scripts/vm/run-program.sh build/release --abi iommufd --timeout 600 -- build/release/tests/vm/vm_iommufd_tests \
    2>&1 | tee build/logs/iommufd.log || status=1
count_summary build/logs/iommufd.log
log "tier iommufd: fd objects for unmodified programs: a dynamic one under the fd helper, a static one under"
log "  the launcher (tests/vm/vm_fd_objects_tests), and examples/iommufd_topology.c (accel0's DMA and page"
log "  fault through a VT-d nested page table; vmdev0 as an emulated device), in one VM boot"
helper="$PWD/build/release/fd-helper/libcuse-iommu-fd.so"
launch="$PWD/build/release/fd-helper/cuse-iommu-fd-launch"
vm_tests="$PWD/build/release/tests/vm"
scripts/vm/run-program.sh build/release --abi iommufd --timeout 600 -- /bin/sh -c \
    "rc=0; LD_PRELOAD='$helper' '$vm_tests/vm_fd_objects_tests' || rc=1; '$launch' '$vm_tests/vm_fd_objects_tests_static' 'static fd objects' || rc=1; LD_PRELOAD='$helper' build/release/examples/example_iommufd_topology || rc=1; exit \$rc" \
    2>&1 | tee build/logs/fd-objects.log || status=1
count_summary build/logs/fd-objects.log 'fd objects: '
count_summary build/logs/fd-objects.log 'static fd objects: '
count_summary build/logs/fd-objects.log 'iommufd example: '

log "tier deb: the .deb built, installed here, its daemon started in the VM, purged (scripts/test-deb.sh)"
scripts/test-deb.sh build/release 2>&1 | tee build/logs/deb.log || status=1
count_summary build/logs/deb.log 'deb: '

log "benchmark: ioctl round trips through CUSE (VM)"
scripts/vm/bench.sh build/release 2>&1 | tee build/logs/bench.log || status=1

log "benchmark: ioctl round trips through a FUSE-mounted file (natively)"
scripts/fuse-tier.sh build/release bench 2>&1 | tee build/logs/fuse-bench.log || status=1

log "benchmark: the model in-process (1K vs 1M mappings; faults; load from 1..64 threads)"
build/release/bench/model_bench 2>&1 | tee build/logs/model-bench.log || status=1
build/release/bench/fault_bench 2>&1 | tee -a build/logs/model-bench.log || status=1
build/release/bench/load_bench 2>&1 | tee -a build/logs/model-bench.log || status=1

echo
echo "all tiers: $passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
