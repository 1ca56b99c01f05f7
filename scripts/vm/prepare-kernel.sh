#!/usr/bin/env bash
# prepare-kernel.sh - fetch a Debian 12 kernel that has CUSE as a module.
#
# The host kernels we develop and run CI on are built without CUSE, so the
# end-to-end tier boots Debian's own kernel under QEMU.  The package is only
# downloaded and unpacked into a cache (never installed); a second run does no
# network access at all.
#
# Prints three shell assignments, ready for eval:
#   VMLINUZ=/path/vmlinuz-6.1.0-NN-amd64
#   FUSE_KO=/path/fuse.ko
#   CUSE_KO=/path/cuse.ko
# Usage: eval "$(scripts/vm/prepare-kernel.sh)"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cache=$(vm_cache_dir)
mkdir -p "$cache"

# The image package linux-image-amd64 currently points to, e.g. linux-image-6.1.0-56-amd64.
current_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

# Print the assignments for an unpacked package directory; fail if incomplete.
emit() {
	local root=$1 vmlinuz fuse cuse
	vmlinuz=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	fuse=$(ls "$root"/lib/modules/*/kernel/fs/fuse/fuse.ko 2>/dev/null | head -n 1)
	cuse=$(ls "$root"/lib/modules/*/kernel/fs/fuse/cuse.ko 2>/dev/null | head -n 1)
	[ -n "$vmlinuz" ] && [ -n "$fuse" ] && [ -n "$cuse" ] || return 1
	printf 'VMLINUZ=%q\nFUSE_KO=%q\nCUSE_KO=%q\n' "$vmlinuz" "$fuse" "$cuse"
}

pkg=$(current_pkg || true)
if [ -z "$pkg" ]; then
	# No package lists yet (fresh machine or container): refresh them once.
	# If that fails too (offline), fall back to whatever is already cached.
	if [ "$(id -u)" -eq 0 ] && apt-get update >&2; then
		pkg=$(current_pkg || true)
	fi
fi
if [ -z "$pkg" ]; then
	for d in "$cache"/linux-image-*/; do
		[ -d "$d" ] && emit "${d%/}" && exit 0
	done
	vm_die "cannot resolve linux-image-amd64 (apt-cache depends) and nothing is cached in $cache"
fi

dir="$cache/$pkg"
# A complete unpack is marked by .done, so an interrupted run is redone, not trusted.
if [ -f "$dir/.done" ] && emit "$dir"; then
	exit 0
fi

vm_log "downloading $pkg into $cache"
rm -rf "$dir" "$cache"/download
mkdir -p "$cache"/download
# apt-get download writes into the current directory.  As root it warns that the
# download is unsandboxed (the _apt user cannot write here); that is harmless.
(cd "$cache"/download && apt-get download "$pkg" >&2) ||
	{ [ "$(id -u)" -eq 0 ] && apt-get update >&2 && (cd "$cache"/download && apt-get download "$pkg" >&2); } ||
	vm_die "apt-get download $pkg failed"
deb=$(ls "$cache"/download/"$pkg"_*.deb | head -n 1)
# The package unpacks to ~400 MB; keep only the kernel image and fs/fuse (~9 MB).
dpkg-deb -x "$deb" "$cache"/download/root
mkdir -p "$dir"
(cd "$cache"/download/root && cp -a --parents boot/vmlinuz-* lib/modules/*/kernel/fs/fuse "$dir"/)
rm -rf "$cache"/download
emit "$dir" || vm_die "$pkg has no vmlinuz or fuse.ko/cuse.ko (expected fs/fuse modules)"
touch "$dir/.done"
