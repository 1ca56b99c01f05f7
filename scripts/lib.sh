# Shared by scripts/run.sh and scripts/test.sh.  Source it; it defines
# functions only.  Everything a fresh Debian 12 machine lacks is installed
# here, idempotently, so a clean clone needs nothing done by hand.

# Packages to build the daemon and its tests (graphviz: the test that
# renders `iommuctl dump --dot`; python3 and jq: the trace test runs
# scripts/trace-normalize.sh with each, and fails without them).
BUILD_PACKAGES=(build-essential cmake pkg-config libfuse3-dev fuse3 libboost-dev
                nlohmann-json3-dev doctest-dev graphviz python3 jq)

log() { printf '==> %s\n' "$*"; }

# ensure_packages PKG...: installs whichever of PKG are missing.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: need root to install ${missing[*]}" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build_tree DIR CMAKE_ARGS... [-- TARGET...]: configures (once) and builds
# a tree: everything, or only TARGETs (and what they need).
build_tree() {
    local dir=$1; shift
    local args=() targets=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
    [ $# -gt 0 ] && shift && targets=(--target "$@")
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        cmake -S . -B "$dir" "${args[@]}" >/dev/null
    fi
    cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
}

# The tree the daemon is run and VM-tested from: optimised, no sanitizers.
build_release() {
    log "building release tree (build/release)"
    build_tree build/release -DCMAKE_BUILD_TYPE=Release -DCUSE_IOMMU_TESTS=OFF
}

# The tree the unit and protocol tiers run from: ASan + UBSan.
build_sanitized() {
    log "building ASan+UBSan tree (build/asan)"
    build_tree build/asan -DCMAKE_BUILD_TYPE=Debug -DCUSE_IOMMU_SANITIZE=ON \
        -DCUSE_IOMMU_VM_CLIENTS=OFF
}

# The tree the ThreadSanitizer tier runs from: GCC (see CUSE_IOMMU_TSAN in
# CMakeLists.txt), -O2 -g (TSan's own advice is -O1 or more, and the stress
# driver needs the speed; the code has no assert() for NDEBUG to drop).
# Only what the tier runs: the tests, the stress driver, and the daemon and
# iommuctl they start.
build_tsan() {
    log "building ThreadSanitizer tree (build/tsan)"
    build_tree build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUSE_IOMMU_TSAN=ON \
        -DCUSE_IOMMU_VM_CLIENTS=OFF -- unit_tests iommuctl_tests protocol_tests stress
}

# The tree the fuzz tier runs from: clang (libFuzzer), ASan+UBSan, -O2 -g.
# Only the fuzz targets (tests/fuzz).
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)
build_fuzz() {
    log "building the fuzz targets (build/fuzz, clang)"
    build_tree build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUSE_IOMMU_FUZZ=ON \
        -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
        -DCUSE_IOMMU_TESTS=OFF -DCUSE_IOMMU_VM_CLIENTS=OFF -- fuzz_dispatcher fuzz_control fuzz_topology
}

# --- counting a tier's results into $passed / $failed (and $status) ---

# count_doctest LOG: adds doctest's "test cases: N | P passed | F failed" line.
count_doctest() {
    local line
    line=$(grep -E '^\[doctest\] test cases:' "$1" | tail -n 1 || true)
    if [ -z "$line" ]; then  # the runner died before its summary
        failed=$((failed + 1))
        return
    fi
    passed=$((passed + $(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')))
    failed=$((failed + $(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')))
}

# count_summary LOG [PREFIX]: adds the last "N passed, M failed" line (with
# PREFIX, an ERE: only a line that starts with it); a log without one counts
# as one failure.
count_summary() {
    local line pattern='([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed'
    [ $# -ge 2 ] && pattern="^$2[0-9]+ passed, [0-9]+ failed"
    line=$(grep -E "$pattern" "$1" | tail -n 1 || true)
    if [ -z "$line" ]; then
        echo "$1 has no summary line" >&2
        status=1 failed=$((failed + 1))
        return
    fi
    passed=$((passed + $(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')))
    failed=$((failed + $(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')))
}
