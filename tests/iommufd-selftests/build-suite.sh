#!/usr/bin/env bash
# build-suite.sh OUT_DIR
# Builds the kernel's iommufd selftest (tools/testing/selftests/iommu/
# iommufd.c) unmodified, from Debian's linux-source-6.12, into
# OUT_DIR/iommufd.  Also writes OUT_DIR/include (the uapi headers, __user
# stripped as `make headers_install` does) for the layout check.
#
# The source package (~154 MB) is fetched with apt once and kept under
# ~/.cache/cuse-iommu/linux-source; only the files the suite needs are
# extracted from it.  The product itself never needs any of this.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-suite.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

cache=${CUSE_IOMMU_CACHE:-$HOME/.cache/cuse-iommu}/linux-source
version=6.12
tree=$cache/linux-source-$version
members=(
	"linux-source-$version/tools/testing/selftests/iommu"
	"linux-source-$version/tools/testing/selftests/kselftest_harness.h"
	"linux-source-$version/tools/testing/selftests/kselftest.h"
	"linux-source-$version/include/uapi/linux/iommufd.h"
	"linux-source-$version/include/uapi/linux/vfio.h"
	"linux-source-$version/drivers/iommu/iommufd"
)
say() { printf 'selftests: %s\n' "$*" >&2; }
source "$here/../../scripts/lib.sh"
ensure_packages gcc xz-utils python3 >&2

fetch_source() {
	mkdir -p "$cache"
	local deb
	deb=$(ls "$cache"/linux-source-${version}_*.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		say "downloading Debian's linux-source-$version (once; cached in $cache)"
		# apt-get download needs the package lists; update them once if absent.
		apt-cache show "linux-source-$version" >/dev/null 2>&1 || apt-get update -qq
		(cd "$cache" && apt-get download "linux-source-$version" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
			{ say "apt-get download linux-source-$version failed"; exit 1; }
		deb=$(ls "$cache"/linux-source-${version}_*.deb | tail -n 1)
	fi
	say "extracting the selftest and the uapi headers from $(basename "$deb")"
	rm -rf "$tree.tmp" && mkdir -p "$tree.tmp"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/linux-source-$version.tar.xz" |
		tar -xJ -C "$tree.tmp" "${members[@]}"
	rm -rf "$tree" && mv "$tree.tmp/linux-source-$version" "$tree" && rm -rf "$tree.tmp"
	basename "$deb" >"$tree/.from"
}

[ -f "$tree/.from" ] || fetch_source

# The uapi headers as userspace sees them: without the kernel's __user.
mkdir -p "$out/include/linux"
for h in iommufd.h vfio.h; do
	sed -e 's/\b__user\b//g' "$tree/include/uapi/linux/$h" >"$out/include/linux/$h"
done

src=$tree/tools/testing/selftests/iommu/iommufd.c
if [ "$out/iommufd" -nt "$src" ] && [ "$out/iommufd" -nt "$here/shim.h" ]; then
	exit 0
fi
say "building iommufd.c ($(wc -l <"$src") lines) unmodified"
gcc -O2 -Wall -Wno-unused-function -D_GNU_SOURCE -isystem "$out/include" \
	-include "$here/shim.h" -o "$out/iommufd" "$src"
