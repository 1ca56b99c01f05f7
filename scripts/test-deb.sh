#!/bin/bash
# test-deb.sh [BUILD_DIR]: builds the .deb (default build/deb: Release,
# prefix /usr, only the daemon and iommuctl; a given BUILD_DIR, e.g.
# scripts/test.sh's build/release, is reconfigured to prefix /usr and its
# programs packaged as built), installs it on THIS machine with apt-get,
# checks what it installed (docs/install.md), starts the installed daemon in
# the QEMU VM and runs a client built with the installed header against it,
# then purges it.  Meant for throwaway CI machines; run as root.  Ends with
# "deb: N passed, M failed"; exits 1 if M > 0.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# dpkg-dev and file: CPack's dpkg-shlibdeps step; man-db: man -w.
DEB_PACKAGES=(dpkg-dev file man-db)
ensure_packages "${BUILD_PACKAGES[@]}" "${DEB_PACKAGES[@]}"

dir=${1:-build/deb}
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
if [ $# -ge 1 ]; then
    # An existing tree: only the install prefix changes (the .pc file, the
    # unit); nothing is compiled again.
    cmake -S . -B "$dir" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
    cmake --build "$dir" --target cuse-iommu iommuctl
else
    build_tree "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
        -DCUSE_IOMMU_TESTS=OFF -DCUSE_IOMMU_VM_CLIENTS=OFF -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
        -- cuse-iommu iommuctl
fi
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
# The iommufd profile's fd helper (docs/iommufd.md, "File descriptors"),
# where the dynamic linker finds it, exporting its ioctl().
check fd-helper-installed bash -c "nm -D --defined-only \$(dpkg -L cuse-iommu | grep '/libcuse-iommu-fd\.so\$') | grep -qw ioctl"
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
cat >"$tmp/vm-client.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <cuse-iommu.h>

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	int version = fd < 0 ? -1 : ioctl(fd, IOMMU_GET_API_VERSION);

	printf("api %d %s\n", version, version == IOMMU_API_VERSION ? "ok" : "wrong");
	return version == IOMMU_API_VERSION ? 0 : 1;
}
EOF
check vm-client-builds bash -c \
    "cc -std=c99 -Wall -Werror \$(pkg-config --cflags cuse-iommu) -o '$tmp/vm-client' '$tmp/vm-client.c'"
check cmake-client bash -c \
    "cmake -S '$tmp' -B '$tmp/build' && cmake --build '$tmp/build' && '$tmp/build/client'"

# The installed daemon, started: this machine has no /dev/cuse, so in the VM
# (scripts/vm/run-program.sh packs it instead of the build's), serving a
# client built from the installed header.  From the client's directory: the
# VM's /tmp is its own, the working directory is shared.
check installed-daemon-serves-client bash -c \
    "cd '$tmp' && CUSE_IOMMU_VM_DAEMON=/usr/sbin/cuse-iommu '$PWD/scripts/vm/run-program.sh' '$PWD/$dir' -- ./vm-client | grep -qx 'api 0 ok'"

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
