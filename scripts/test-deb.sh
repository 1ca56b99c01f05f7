#!/bin/bash
# test-deb.sh: builds the .deb (build/deb: Release, prefix /usr, only the
# daemon and iommuctl), installs it on THIS machine with apt-get, checks what
# it installed (docs/install.md), then purges it.  Meant for throwaway CI
# machines; run as root.  It does not start the daemon (that needs
# /dev/cuse).  Ends with "deb: N passed, M failed"; exits 1 if M > 0.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# dpkg-dev and file: CPack's dpkg-shlibdeps step; man-db: man -w.
DEB_PACKAGES=(dpkg-dev file man-db)
ensure_packages "${BUILD_PACKAGES[@]}" "${DEB_PACKAGES[@]}"

dir=build/deb
logs=$dir/logs
passed=0 failed=0

# check NAME COMMAND...: runs COMMAND, its output to $logs/NAME.log; one
# pass or fail.
check() {
    local name=$1; shift
    if "$@" >"$logs/$name.log" 2>&1; then
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        echo "FAIL: $name (see $logs/$name.log)"
        failed=$((failed + 1))
    fi
}

log "building $dir and its .deb"
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack installs what was built instead
# of building everything (benchmarks) first.
build_tree "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DCUSE_IOMMU_TESTS=OFF -DCUSE_IOMMU_VM_CLIENTS=OFF -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
    -- cuse-iommu iommuctl
mkdir -p "$logs"
rm -f "$dir"/cuse-iommu_*.deb
(cd "$dir" && cpack -G DEB) >"$logs/cpack.log" 2>&1 || true
debs=("$PWD/$dir"/cuse-iommu_*.deb)  # the pattern itself when there is none
deb=${debs[0]}
check deb-built test -f "$deb"

check deb-depends-on-libfuse3 bash -c "dpkg-deb -f '$deb' Depends | grep -w libfuse3-3"
check deb-conffiles bash -c \
    "dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./conffiles | grep -qx /etc/default/cuse-iommu"

log "installing $deb"
# A leftover install of the same version would make apt-get skip this one.
if dpkg-query -W cuse-iommu >/dev/null 2>&1; then
    apt-get purge -y -qq cuse-iommu >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
check apt-install apt-get install -y "$deb"

check man-cuse-iommu man -w cuse-iommu
check man-iommuctl man -w iommuctl
check man-pages-match-help tests/man/check-man-pages.sh /usr/sbin/cuse-iommu /usr/bin/iommuctl /usr/share/man/man8
check daemon-help /usr/sbin/cuse-iommu --help
check iommuctl-help iommuctl --help
check pkg-config-cflags pkg-config --cflags cuse-iommu

# A client of the installed header, by pkg-config and by CMake.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/client.c" <<'EOF'
#include <stdio.h>
#include <cuse-iommu.h>

int main(void)
{
	struct iommu_ioasid_alloc alloc = { .argsz = sizeof(alloc) };
	printf("IOMMU_GET_API_VERSION 0x%lx, struct iommu_ioasid_alloc %zu bytes\n",
	       (unsigned long)IOMMU_GET_API_VERSION, sizeof(alloc));
	return alloc.argsz == sizeof(alloc) ? 0 : 1;
}
EOF
check pkg-config-client bash -c \
    "cc -std=c99 -Wall -Werror \$(pkg-config --cflags cuse-iommu) -o '$tmp/client' '$tmp/client.c' && '$tmp/client'"
cat >"$tmp/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(cuse_iommu_client C)
find_package(cuse-iommu 0.1 REQUIRED)
add_executable(client client.c)
target_link_libraries(client PRIVATE cuse-iommu::uapi)
EOF
check cmake-client bash -c \
    "cmake -S '$tmp' -B '$tmp/build' && cmake --build '$tmp/build' && '$tmp/build/client'"

unit=/lib/systemd/system/cuse-iommu.service
check unit-installed test -f "$unit"
check default-file-installed test -f /etc/default/cuse-iommu
if command -v systemd-analyze >/dev/null; then
    check unit-verify systemd-analyze verify "$unit"
else
    echo "skip: unit-verify (no systemd-analyze)"
fi

log "removing cuse-iommu"
check apt-purge bash -c \
    "apt-get purge -y cuse-iommu && ! test -e /usr/sbin/cuse-iommu && ! test -e /etc/default/cuse-iommu"

echo "deb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
