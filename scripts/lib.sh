# Shared by scripts/run.sh and scripts/test.sh.  Source it; it defines
# functions only.  Everything a fresh Debian 12 machine lacks is installed
# here, idempotently, so a clean clone needs nothing done by hand.

# Packages to build the daemon and its tests (graphviz: the test that
# renders `iommuctl dump --dot`).
BUILD_PACKAGES=(build-essential cmake pkg-config libfuse3-dev fuse3 libboost-dev
                nlohmann-json3-dev doctest-dev graphviz)

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

# build_tree DIR CMAKE_ARGS...: configures (once) and builds a tree.
build_tree() {
    local dir=$1; shift
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        cmake -S . -B "$dir" "$@" >/dev/null
    fi
    cmake --build "$dir" -j "$(nproc)"
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
